package transform

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/crmsync/crmsync/engine/source"
	"github.com/crmsync/crmsync/engine/value"
	"github.com/expr-lang/expr/vm"
	"github.com/shopspring/decimal"
	"github.com/tidwall/gjson"
)

// Outcome is what became of a record.
type Outcome uint8

const (
	Keep     Outcome = iota // write it
	Filtered                // the filter dropped it
	Rejected                // a reject policy sent it to the rejects store
	Failed                  // a fail policy stops the sync
)

// Output is the result of processing one record. Values must have room
// for every field; the caller owns it (the runner hands out slices of one
// slab per batch).
type Output struct {
	Values           []any
	Outcome          Outcome
	Reasons          []string
	Err              error
	ID               string
	ValidationErrors int
	ProcessingErrors int

	// lines are the record's per-record log lines, kept here instead of
	// printed when the processor defers them (Context.DeferLines).
	lines []pendingLine
}

// pendingLine is a per-record log line not yet counted or printed.
type pendingLine struct {
	field        string // "" for a line that is printed uncounted
	level        slog.Level
	line, detail string
}

// Context is what a processor knows about the sync it runs in.
type Context struct {
	SyncStarted time.Time
	Logger      *slog.Logger
	// SkipValidation runs no validator chain (--skip-validation);
	// conversions still apply.
	SkipValidation bool
	// Redact removes the pipeline's secrets from log lines: a record may
	// hold one (an API that echoes a token into a field).
	Redact func(string) string
	// Lookups are the records of the source's lookups, by name: what
	// expressions read as lookup.<name>.
	Lookups map[string]any
	// LineLimit is how many per-record lines (validation warnings,
	// failed conversions …) are printed per field and sync; the rest are
	// counted (LineCounts) and summed up by the runner. 0 means
	// DefaultLineLimit, a negative number no limit.
	LineLimit int
	// DeferLines keeps each record's log lines in its Output instead of
	// counting and printing them: a processor running on a worker sets
	// it, and the processor that owns the sync's line counts prints them
	// with Replay, in record order, so that which lines are printed and
	// how many are counted does not depend on the number of workers.
	DeferLines bool
}

// DefaultLineLimit is Context.LineLimit's default.
const DefaultLineLimit = 10

// Processor runs a Program over records, one at a time. It reuses its
// buffers and expr VM, so it is not safe for concurrent use: make one per
// goroutine.
type Processor struct {
	p      *Program
	log    *slog.Logger
	vm     vm.VM
	env    map[string]any
	ctxMap map[string]any
	events []event
	parent string // the parent record of a substream, for _parent. paths
	skip   bool
	defers bool    // Context.DeferLines
	cur    *Output // the Output Process fills (when defers)
	redact func(string) string

	limit int              // per-record lines printed per field; <0: all
	lines map[string]int64 // per-record lines by field, printed or not
	extra map[string]int64 // of those, the ones not printed

	results, parentResults []gjson.Result
	found, parentFound     []bool
	order, parentOrder     keyOrder
	cells                  cellPlan // the last record's Keys, read (cells.go)

	boxes value.Boxes // text fields' values, boxed without an allocation each
}

type eventKind uint8

const (
	conversionFailed eventKind = iota
	exprFailed
	validationFailed
)

type event struct {
	kind  eventKind
	field *Field
	value string
	msg   string
}

// NewProcessor prepares a processor for one sync.
func (p *Program) NewProcessor(c Context) *Processor {
	pr := &Processor{p: p, log: c.Logger, skip: c.SkipValidation, redact: c.Redact, defers: c.DeferLines, env: make(map[string]any, len(p.envSample)),
		limit: c.LineLimit, lines: map[string]int64{}, extra: map[string]int64{}}
	if pr.limit == 0 {
		pr.limit = DefaultLineLimit
	}
	if pr.log == nil {
		pr.log = slog.Default()
	}
	for k, v := range p.envSample {
		pr.env[k] = v
	}
	for _, f := range p.fields {
		if f.inEnv {
			pr.env[f.Name] = nil
		}
	}
	pr.results, pr.found = make([]gjson.Result, p.extract.n), make([]bool, p.extract.n)
	pr.parentResults, pr.parentFound = make([]gjson.Result, p.parentExtract.n), make([]bool, p.parentExtract.n)
	pr.ctxMap = map[string]any{"pipeline": p.pipeline, "entity": p.entity, "sync_started_at": c.SyncStarted, "file": "", "row": 0}
	pr.env["ctx"] = pr.ctxMap
	if _, ok := p.envSample["lookup"]; ok {
		l := make(map[string]any, len(c.Lookups))
		for k, v := range c.Lookups {
			l[k] = v
		}
		pr.env["lookup"] = l
	}
	return pr
}

// SetParent sets the parent record that "_parent.<path>" fields read.
func (pr *Processor) SetParent(json string) { pr.parent = json }

// SetVar sets an extra expression variable (a child's parent).
func (pr *Processor) SetVar(name string, v any) { pr.env[name] = v }

// Process maps one source record into out.
func (pr *Processor) Process(rec source.Record, out *Output) {
	p := pr.p
	out.Outcome, out.Err, out.ID = Keep, nil, ""
	out.Reasons = out.Reasons[:0]
	out.ValidationErrors, out.ProcessingErrors = 0, 0
	out.lines = out.lines[:0]
	if pr.defers {
		pr.cur = out
	}
	pr.events = pr.events[:0]
	vals := out.Values
	if p.usesRaw {
		// Only the paths the expressions read (or the whole record where
		// one needs all of raw). A number out of float64's range makes
		// raw nil only where an expression reads it; the whole decode
		// made raw nil for one anywhere in the record.
		raw, err := p.raw.Value(rec.JSON)
		if err != nil {
			raw = nil
		}
		pr.env["raw"] = raw
	}
	if p.usesCtx {
		pr.ctxMap["file"] = rec.File
		pr.ctxMap["row"] = rec.Row
	}
	p.extract.extractRecord(rec, pr.results, pr.found, &pr.order, &pr.cells)
	if p.parentExtract.n > 0 {
		p.parentExtract.extract(pr.parent, pr.parentResults, pr.parentFound, &pr.parentOrder)
	}
	for _, f := range p.order {
		var v any
		var err error
		if f.prog == nil {
			r := pr.results[f.slot]
			if f.fromParent {
				r = pr.parentResults[f.slot]
			}
			for i := 0; i < len(f.alts) && (!r.Exists() || r.Type == gjson.Null); i++ {
				if a := &f.alts[i]; a.fromParent {
					r = pr.parentResults[a.slot]
				} else {
					r = pr.results[a.slot]
				}
			}
			if f.region != nil {
				reg := pr.results[f.region.slot]
				if f.region.fromParent {
					reg = pr.parentResults[f.region.slot]
				}
				v, err = f.conv.PhoneIn(r, reg.Str)
			} else if r.Type == gjson.String && f.conv.Type() == value.String {
				v = pr.boxes.String(r.Str) // what FromJSON returns, boxed from a slab
			} else {
				v, err = f.conv.FromJSON(r)
			}
			if err != nil {
				pr.events = append(pr.events, event{kind: conversionFailed, field: f, value: rawText(r), msg: err.Error()})
				v = nil
			}
		} else if f.conv == nil {
			v = nil // the expression did not compile; lint reported it
		} else {
			res, rerr := pr.vm.Run(f.prog, pr.env)
			if rerr != nil {
				pr.events = append(pr.events, event{kind: exprFailed, field: f, msg: firstLine(rerr.Error())})
			} else if v, err = f.conv.FromValue(res); err != nil {
				pr.events = append(pr.events, event{kind: conversionFailed, field: f, value: display(res), msg: err.Error()})
				v = nil
			}
		}
		if v == nil && f.def != nil {
			v = f.def
		}
		if f.strip {
			v = stripValue(v)
		}
		v = pr.validate(f, v)
		vals[f.Index] = v
		if f.inEnv {
			pr.env[f.Name] = envValue(f.Type, v)
		}
	}
	if p.filter != nil {
		keep, err := pr.vm.Run(p.filter, pr.env)
		if err != nil {
			out.ID = pr.recordID(vals)
			out.Outcome = Rejected
			out.ProcessingErrors++
			out.Reasons = append(out.Reasons, "filter: "+firstLine(err.Error()))
			pr.recordLine("filter", slog.LevelWarn, fmt.Sprintf("Failed to evaluate filter for %s %s: %s", p.pipeline, idOrUnknown(out.ID), firstLine(err.Error())), "")
			return
		}
		if b, _ := keep.(bool); !b {
			out.Outcome = Filtered
			return
		}
	}
	if len(pr.events) > 0 {
		out.ID = pr.recordID(vals)
		pr.report(vals, out)
	}
	if pr.unstorable(vals, out) {
		out.ID = pr.recordID(vals)
		if out.Outcome < Rejected {
			out.Outcome = Rejected
		}
	}
}

// unstorable adds a reason for every value no destination can store as
// given (see poison.go) and for a blank primary key, and reports whether
// it found any. A record with a blank key would be merged with every
// other blank-key record, or fail its batch: it is rejected instead.
func (pr *Processor) unstorable(vals []any, out *Output) bool {
	bad := false
	n0 := len(out.Reasons)
	for _, f := range pr.p.fields {
		if msg := poisonIn(vals[f.Index]); msg != "" {
			out.Reasons = append(out.Reasons, PoisonReason(f.Name, msg))
			out.ProcessingErrors++
			bad = true
		}
	}
	for n, i := range pr.p.idIdx {
		if !pr.p.blankKeyOK && blank(vals[i]) {
			out.Reasons = append(out.Reasons, fmt.Sprintf("primary key %s is blank", pr.p.keyNames[n]))
			bad = true
		}
	}
	if bad {
		pr.logLine(slog.LevelError, fmt.Sprintf("Rejected %s %s record %s: %s", pr.p.pipeline, pr.p.entity, idOrUnknown(pr.recordID(vals)), strings.Join(out.Reasons[n0:], "; ")), "")
	}
	return bad
}

// blank: a key value that is missing, null or only white space.
func blank(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(x) == ""
	}
	return false
}

// validate runs a field's chain; the first failing link ends it.
func (pr *Processor) validate(f *Field, v any) any {
	if pr.skip {
		return v
	}
	for i := range f.steps {
		s := &f.steps[i]
		if v == nil && !s.nilOK {
			continue
		}
		var err error
		if s.prog != nil {
			pr.env["value"] = envValue(f.Type, v)
			ok, rerr := pr.vm.Run(s.prog, pr.env)
			if rerr != nil {
				err = fmt.Errorf("%s", firstLine(rerr.Error()))
			} else if b, _ := ok.(bool); !b {
				err = fmt.Errorf("%s", s.message)
			}
		} else {
			var nv any
			if nv, err = s.v.Validate(v); err == nil {
				v = nv
				continue
			}
			if s.message != "" {
				err = fmt.Errorf("%s", s.message)
			}
		}
		if err != nil {
			pr.events = append(pr.events, event{kind: validationFailed, field: f, value: display(v), msg: err.Error()})
			if f.policy == Null {
				return nil
			}
			return v
		}
	}
	return v
}

// report logs every event in the blueprint's words and applies the
// strongest policy among the failing fields.
func (pr *Processor) report(vals []any, out *Output) {
	p := pr.p
	id := idOrUnknown(out.ID)
	for _, e := range pr.events {
		var line, detail string
		switch e.kind {
		case conversionFailed:
			out.ProcessingErrors++
			detail = e.msg
			line = fmt.Sprintf("Failed to parse %s value: '%s' in field '%s' for %s %s", e.field.Type, e.value, e.field.Name, p.pipeline, id)
			out.Reasons = append(out.Reasons, fmt.Sprintf("field %s: cannot parse %s value '%s': %s", e.field.Name, e.field.Type, e.value, e.msg))
		case exprFailed:
			out.ProcessingErrors++
			detail = ""
			line = fmt.Sprintf("Failed to evaluate expression in field '%s' for %s %s: %s", e.field.Name, p.pipeline, id, e.msg)
			out.Reasons = append(out.Reasons, fmt.Sprintf("field %s: expression failed: %s", e.field.Name, e.msg))
		case validationFailed:
			out.ValidationErrors++
			if e.field.policy == Reject || e.field.policy == Fail {
				line = fmt.Sprintf("Strict validation failed for field '%s' with value '%s'%s: %s", e.field.Name, e.value, pr.contextInfo(out.ID), e.msg)
			} else {
				line = fmt.Sprintf("Validation warning for field '%s' with value '%s'%s: %s", e.field.Name, e.value, pr.contextInfo(out.ID), e.msg)
			}
			out.Reasons = append(out.Reasons, fmt.Sprintf("field %s: value '%s': %s", e.field.Name, e.value, e.msg))
		}
		switch e.field.policy {
		case Reject:
			if out.Outcome < Rejected {
				out.Outcome = Rejected
			}
			pr.recordLine(e.field.Name, slog.LevelError, line, detail)
		case Fail:
			out.Outcome = Failed
			if out.Err == nil {
				out.Err = fmt.Errorf("record %s: %s", id, out.Reasons[len(out.Reasons)-1])
			}
			pr.logLine(slog.LevelError, line, detail)
		default:
			pr.recordLine(e.field.Name, slog.LevelWarn, line, detail)
		}
	}
}

// recordLine logs a per-record line unless the field already printed
// its share for this sync: then the line is only counted. The line that
// reaches the limit says so.
func (pr *Processor) recordLine(field string, level slog.Level, line, detail string) {
	if pr.defers {
		pr.cur.lines = append(pr.cur.lines, pendingLine{field: field, level: level, line: line, detail: detail})
		return
	}
	pr.countLine(field, level, line, detail)
}

// Replay counts and prints the lines a deferring processor kept in out
// (see Context.DeferLines), as Process would have. Call it on the
// processor whose LineCounts the sync reports, once per record, in
// record order.
func (pr *Processor) Replay(out *Output) {
	for _, l := range out.lines {
		if l.field == "" {
			pr.printLine(l.level, l.line, l.detail)
		} else {
			pr.countLine(l.field, l.level, l.line, l.detail)
		}
	}
}

// countLine counts a per-record line and prints it within the limit.
func (pr *Processor) countLine(field string, level slog.Level, line, detail string) {
	pr.lines[field]++
	n := pr.lines[field]
	if pr.limit >= 0 && n > int64(pr.limit) {
		pr.extra[field]++
		return
	}
	pr.printLine(level, line, detail)
	if pr.limit >= 0 && n == int64(pr.limit) {
		pr.log.Log(context.Background(), level, fmt.Sprintf("%d lines for field '%s' of %s %s: further ones in this sync are counted, not printed (the sync summary gives the count)", n, field, pr.p.pipeline, pr.p.entity), "field", field)
	}
}

// LineCounts are the per-record lines of this processor by field:
// all of them, and those not printed.
func (pr *Processor) LineCounts() (all, notPrinted map[string]int64) { return pr.lines, pr.extra }

// logLine logs a blueprint line; a conversion's reason rides along as an
// attribute so the message itself stays word for word.
func (pr *Processor) logLine(level slog.Level, line, detail string) {
	if pr.defers {
		pr.cur.lines = append(pr.cur.lines, pendingLine{level: level, line: line, detail: detail})
		return
	}
	pr.printLine(level, line, detail)
}

// printLine prints a blueprint line now.
func (pr *Processor) printLine(level slog.Level, line, detail string) {
	if pr.redact != nil {
		line, detail = pr.redact(line), pr.redact(detail)
	}
	if detail != "" {
		pr.log.Log(context.Background(), level, line, "error", detail)
		return
	}
	pr.log.Log(context.Background(), level, line)
}

// contextInfo is the blueprint's build_context_info.
func (pr *Processor) contextInfo(id string) string {
	if id != "" {
		return " (Record: id=" + id + ")"
	}
	var b strings.Builder
	b.WriteString(" (Record: no ID found in context keys: [")
	for i, n := range pr.p.fieldNames {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("'" + n + "'")
	}
	b.WriteString("])")
	return b.String()
}

func (pr *Processor) recordID(vals []any) string {
	var parts []string
	for _, i := range pr.p.idIdx {
		if vals[i] == nil {
			continue
		}
		parts = append(parts, display(vals[i]))
	}
	return strings.Join(parts, ",")
}

func idOrUnknown(id string) string {
	if id == "" {
		return "UNKNOWN"
	}
	return id
}

// envValue is a value as expressions see it: JSON decoded into maps and
// lists. Decimals stay exact (exprfn overloads their operators).
func envValue(t value.Type, v any) any {
	switch x := v.(type) {
	case json.RawMessage:
		var out any
		if err := json.Unmarshal(x, &out); err != nil {
			return nil
		}
		return out
	}
	return v
}

// rawText is a source value as the log line shows it.
func rawText(r gjson.Result) string {
	if r.Type == gjson.String {
		return r.Str
	}
	return r.Raw
}

// display formats a converted value for messages.
func display(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		if x {
			return "True"
		}
		return "False"
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case decimal.Decimal:
		if x.Exponent() < 0 {
			return x.StringFixed(-x.Exponent()) // keep the scale: -50.00, not -50
		}
		return x.String()
	case json.RawMessage:
		return string(x)
	case []string:
		return "[" + strings.Join(x, ", ") + "]"
	}
	return fmt.Sprint(v)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// RecordID names a record by its primary key values ("" when blank).
func (pr *Processor) RecordID(vals []any) string { return pr.recordID(vals) }
