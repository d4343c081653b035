package authoring

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"

	"github.com/crmsync/crmsync/engine/pipeline"
	"github.com/crmsync/crmsync/engine/runner"
	"github.com/crmsync/crmsync/engine/sink/memory"
	"github.com/crmsync/crmsync/engine/source"
	"github.com/crmsync/crmsync/engine/transform"
	"github.com/crmsync/crmsync/engine/value"
)

// Options control Read.
type Options struct {
	// Limit stops the read once this many records were mapped, at the
	// latest at the end of the page that reached it (0: no limit).
	// Records past it are not mapped.
	Limit int
	// Pages stops the read after this many pages (0: no limit).
	Pages int
	// More, when set, is asked after each page; false stops the read.
	More func() bool
	// Wrap wraps the HTTP transport of a source that can be probed (see
	// source.Prober): to record or replay.
	Wrap func(http.RoundTripper) http.RoundTripper
	// Attempts replaces the source's retry attempts when above 0.
	Attempts int
	// Unlimited drops the source's rate limits (replays).
	Unlimited bool
	// Logger gets the source's log lines (retries, rate limits); nil discards them.
	Logger         *slog.Logger
	Version        string
	SkipValidation bool
	// Dest is the in-memory destination to sync into, with the state
	// (checkpoints, rows) earlier syncs left there; nil: a new one, so
	// the read is a first sync.
	Dest *memory.DB
}

// Result is what a read mapped. Nothing of it was written anywhere.
type Result struct {
	Pipeline, Entity string
	Columns          []Column
	// Children are the entity's child tables (children:), in order;
	// each Record's Children follow it.
	Children []ChildTable
	Records  []Record
	Pages    int
	// Total is the record count the source gave with the first page, -1 unknown.
	Total int
	// Stopped: the read stopped at a limit before the source's end.
	Stopped bool
	// Dest is the in-memory destination the read was synced into.
	Dest *memory.DB
}

// ChildTable is one child table of an entity.
type ChildTable struct {
	Name    string
	Columns []Column // the child's own fields (the parent key and index left out)
}

// Count returns how many records have each outcome.
func (r *Result) Count(o Outcome) int {
	n := 0
	for i := range r.Records {
		if r.Records[i].Outcome == o {
			n++
		}
	}
	return n
}

// Lines are the records as expected-output lines.
func (r *Result) Lines() []string {
	out := make([]string, len(r.Records))
	for i := range r.Records {
		out[i] = r.Records[i].line(r.Columns, r.Children)
	}
	return out
}

// Read reads an entity from its first page on exactly as a first sync
// does — it runs the runner itself (runner.Sync, with hooks) into an
// in-memory destination — and returns every record as the record path
// left it. Nothing is written anywhere. On error the result holds what
// was mapped before it, and the error keeps its chain.
func Read(ctx context.Context, plan *pipeline.Plan, e *pipeline.Entity, o Options) (*Result, error) {
	res := &Result{Pipeline: plan.Name, Entity: e.Name, Total: -1, Dest: o.Dest}
	if res.Dest == nil {
		res.Dest = memory.New()
	}
	if e.Program == nil || e.Source == nil {
		return res, fmt.Errorf("entity %q did not compile", e.Name)
	}
	fields := e.Program.Fields()
	for _, f := range fields {
		res.Columns = append(res.Columns, Column{Name: f.Name, Type: f.Type})
	}
	for _, ch := range e.Children {
		ct := ChildTable{Name: ch.Name}
		for _, f := range ch.Transform.Program.Fields() {
			ct.Columns = append(ct.Columns, Column{Name: f.Name, Type: f.Type})
		}
		res.Children = append(res.Children, ct)
	}
	var pk []int
	for _, name := range e.Config.PrimaryKey {
		if i := slices.IndexFunc(fields, func(f *transform.Field) bool { return f.Name == name }); i >= 0 {
			pk = append(pk, i)
		}
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var syncErr error
	counted := 0 // records on the pages counted so far
	hooks := &runner.Hooks{
		Probe:        &source.Probe{Wrap: o.Wrap, Attempts: o.Attempts, Unlimited: o.Unlimited},
		SourceLogger: log,
		MaxRecords:   o.Limit,
		Page: func(p runner.PageInfo) bool {
			res.Pages++
			counted = len(res.Records)
			if res.Pages == 1 {
				res.Total = p.Total
			}
			if (o.Limit > 0 && len(res.Records) >= o.Limit) || (o.Pages > 0 && res.Pages >= o.Pages) || (o.More != nil && !o.More()) {
				res.Stopped = true
				return false
			}
			return true
		},
		Record: func(ev runner.RecordEvent) { res.Records = append(res.Records, mapped(ev, e, pk)) },
		Error:  func(err error) { syncErr = err },
	}
	r := runner.Sync(ctx, plan, e, runner.Options{Dest: res.Dest, Logger: slog.New(slog.DiscardHandler),
		SkipValidation: o.SkipValidation, Version: o.Version, Hooks: hooks})
	if r.Err != nil && syncErr == nil {
		syncErr = r.Err
	}
	if len(res.Records) > counted {
		res.Pages++ // the page a failed record stopped was read too
	}
	return res, syncErr
}

// mapped turns what the runner made of a record into a Record.
func mapped(ev runner.RecordEvent, e *pipeline.Entity, pk []int) Record {
	if rj := ev.Unreadable; rj != nil {
		reason := rj.Reason
		if rj.File != "" && !strings.HasPrefix(reason, rj.File) {
			reason = fmt.Sprintf("%s:%d: %s", rj.File, rj.Row, reason)
		}
		return Record{Outcome: Unreadable, ID: fmt.Sprintf("%s:%d", rj.File, rj.Row), Reasons: []string{reason}, Raw: rj.Raw}
	}
	r := Record{Values: ev.Values, Raw: ev.Raw, Reasons: ev.Reasons}
	var ids []string
	for _, i := range pk {
		if v := ev.Values[i]; v != nil {
			ids = append(ids, FormatValue(v, value.String))
		}
	}
	r.ID = strings.Join(ids, ",")
	switch ev.Outcome {
	case transform.Keep:
		r.Outcome = OK
		if len(r.Reasons) > 0 {
			r.Outcome = Warned
		}
	case transform.Filtered:
		r.Outcome = Filtered
		r.Reasons = append(r.Reasons, fmt.Sprintf("filter %q is false", e.Config.Filter))
	case transform.Rejected:
		r.Outcome = Rejected
	case transform.Failed:
		r.Outcome = Failed
	}
	if len(e.Children) > 0 && ev.Children != nil {
		r.Children = make([][][]any, len(e.Children))
		for i, ch := range e.Children {
			skip := len(ch.ParentIdx) // the parent key, then the index, lead each child row
			if ch.Index {
				skip++
			}
			for _, row := range ev.Children[i] {
				if skip <= len(row.Values) {
					r.Children[i] = append(r.Children[i], row.Values[skip:])
				}
			}
		}
		for _, rj := range ev.ChildRejects {
			for _, reason := range rj.Reasons {
				r.Reasons = append(r.Reasons, fmt.Sprintf("child %s: %s", rj.RecordID, reason))
			}
		}
	}
	return r
}
