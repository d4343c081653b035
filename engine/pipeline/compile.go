package pipeline

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/crmsync/crmsync/engine/config"
	"github.com/crmsync/crmsync/engine/diag"
	"github.com/crmsync/crmsync/engine/schedule"
	"github.com/crmsync/crmsync/engine/sink"
	"github.com/crmsync/crmsync/engine/source"
	"github.com/crmsync/crmsync/engine/transform"
	"github.com/crmsync/crmsync/engine/value"
	"go.yaml.in/yaml/v3"
)

// Built-in defaults, the blueprint's base_config.
const (
	DefaultBatchSize = 500
)

// compile turns a decoded pipeline into a plan, reporting every problem
// on the document. Entities with schema errors (bad) are skipped.
func compile(d *config.Document, p *config.Pipeline, bad []string, o Options) *Plan {
	plan := &Plan{
		File: d.File, Name: p.Name, Description: p.Description, Profile: o.Profile,
		Hash: hashOf(d), Schedule: p.Schedule, Source: &p.Source,
	}
	plan.redactor = newRedactor(d.Secrets)
	report := func(pr diag.Problem) {
		// A setting that comes from ${env:…} or ${file:…} may be empty
		// while linting without secrets; env-unset already says so.
		if pr.Code == "missing-setting" && d.Interpolated[pr.Path] {
			return
		}
		sev := diag.Error
		if pr.Warning {
			sev = diag.Warning
		}
		at := d.PosOf(pr.Path)
		if pr.Offset > 0 {
			at = offsetPos(d, pr.Path, at, pr.Offset)
		}
		d.AddAt(at, sev, pr.Code, pr.Message)
	}
	checkLiteralSecrets(d)
	if p.Schedule != "" {
		if err := CheckSchedule(p.Schedule); err != nil {
			d.Addf("/schedule", diag.Error, "bad-schedule", "schedule %q: %v", p.Schedule, err)
		}
	}
	_, srcOK := source.Lookup(p.Source.Type)
	if !srcOK && !isBad(bad, "/source") && !isBad(bad, "") {
		d.Addf("/source/type", diag.Error, "unknown-source", "source type %q is not built into this crmsync (built in: %s)", p.Source.Type, strings.Join(source.Types(), ", "))
	}
	srcOK = srcOK && !isBad(bad, "/source") && !isBad(bad, "")
	defTZ := time.UTC
	if tz := p.Defaults.Timezone; tz != "" {
		l, err := time.LoadLocation(tz)
		if err != nil {
			d.Addf("/defaults/timezone", diag.Error, "bad-timezone", "unknown time zone %q (use an IANA name such as America/New_York)", tz)
		} else {
			defTZ = l
		}
	}
	srcTZ := defTZ
	if p.Source.Timezone != "" {
		l, err := time.LoadLocation(p.Source.Timezone)
		if err != nil {
			d.Addf("/source/timezone", diag.Error, "bad-timezone", "unknown time zone %q (use an IANA name such as UTC or America/Chicago)", p.Source.Timezone)
		} else {
			srcTZ = l
		}
	}
	tables := map[string]string{}
	nc := newNameCheck(d)
	names, seen := map[string]bool{}, map[string]bool{}
	for _, ce := range p.Entities {
		names[ce.Name] = true
	}
	for _, ce := range p.Entities {
		path := "/entities/" + config.Escape(ce.Name)
		if seen[ce.Name] || entityBroken(bad, path) {
			seen[ce.Name] = true
			continue // a duplicate (reported) or broken entity
		}
		seen[ce.Name] = true
		// A schema problem elsewhere in the entity (its request, its
		// pagination) leaves its fields sound: they are still compiled,
		// so one lint round shows every problem; its source is not.
		entSrcOK := srcOK && !isBad(bad, path)
		e := &Entity{Name: ce.Name, Path: path, Config: ce, FullRefresh: ce.FullRefresh}
		e.BatchSize = firstPositive(o.BatchSize, d.Overrides.BatchSize, ce.BatchSize, p.Defaults.BatchSize, DefaultBatchSize)
		e.MaxRecords = firstPositive(ce.MaxRecords, p.Defaults.MaxRecords)
		if d.Overrides.MaxRecords != nil {
			e.MaxRecords = *d.Overrides.MaxRecords
		}
		if o.MaxRecords != nil {
			e.MaxRecords = *o.MaxRecords
		}
		e.MaxRejectRate = ce.MaxRejectRate
		if e.MaxRejectRate == 0 {
			e.MaxRejectRate = p.Defaults.MaxRejectRate
		}
		policy, _ := transform.ParsePolicy(firstNonEmpty(ce.OnInvalid, p.Defaults.OnInvalid))
		strict := d.Overrides.StrictValidation != nil && *d.Overrides.StrictValidation
		region := firstNonEmpty(p.Defaults.DefaultRegion, "US")
		write := sink.WriteMode(firstNonEmpty(ce.Write, p.Defaults.Write, string(sink.Upsert)))
		prog, problems := transform.Compile(transform.Options{
			Pipeline: p.Name, Entity: ce.Name, Path: path, Fields: ce.Fields, Filter: ce.Filter,
			PrimaryKey: ce.PrimaryKey, OnInvalid: policy, Strict: strict, Timezone: defTZ, Region: region,
			BlankKeyOK: write == sink.Append,
		})
		for _, pr := range problems {
			report(pr)
		}
		e.Program = prog
		fieldIdx := map[string]int{}
		for i, f := range ce.Fields {
			fieldIdx[f.Name] = i
		}
		if len(ce.PrimaryKey) == 0 && write != sink.Append {
			d.AddKeyf(path, diag.Error, "primary-key", "entity %q has no primary_key: name the field(s) that identify a record, or set write: append", ce.Name)
		}
		for i, k := range ce.PrimaryKey {
			j, ok := fieldIdx[k]
			if !ok {
				d.Addf(fmt.Sprintf("%s/primary_key/%d", path, i), diag.Error, "primary-key",
					"primary key %q of entity %q is not one of its fields%s", k, ce.Name, hint(k, ce.Fields))
				continue
			}
			// lint --strict: a key field should say it is required (a
			// record with a blank key is rejected at run time either way).
			if f := ce.Fields[j]; o.StrictLint && write != sink.Append && !f.Required && !hasValidator(f, "required") {
				d.Addf(path+"/fields/"+config.Escape(k), diag.Warning, "key-not-required",
					"primary key field %q of entity %q is not required: a record with a blank %s is rejected at run time; say so with required: true", k, ce.Name, k)
			}
		}
		if ce.Incremental != nil {
			inc := ce.Incremental
			i, ok := fieldIdx[inc.Field]
			if !ok {
				d.Addf(path+"/incremental/field", diag.Error, "incremental-field", "incremental field %q of entity %q is not one of its fields%s", inc.Field, ce.Name, hint(inc.Field, ce.Fields))
			} else if prog != nil {
				t := prog.Fields()[i].Type
				switch t {
				case value.Boolean, value.JSON, value.StringArray:
					d.Addf(path+"/incremental/field", diag.Error, "incremental-field", "incremental field %q is of type %s: a watermark needs a datetime, date, integer, decimal or string", inc.Field, t)
				}
				e.Incremental = &Incremental{Field: inc.Field, Index: i, Type: t, Format: inc.Format, Lookback: inc.Lookback.Duration, Start: inc.Start}
			}
			if err := source.CheckFormat(inc.Format); err != nil {
				d.Addf(path+"/incremental/format", diag.Error, "invalid-value", "%v", err)
			}
			if inc.Start != "" {
				if _, err := ParseWatermarkTime(inc.Start); err != nil {
					d.Addf(path+"/incremental/start", diag.Error, "invalid-value", "incremental start %q is not a date or RFC 3339 time", inc.Start)
				}
			}
			if ce.FullRefresh {
				d.AddKeyf(path+"/full_refresh", diag.Error, "conflicting-settings", "entity %q sets both incremental and full_refresh: choose one", ce.Name)
			}
		}
		if ce.DeleteMissing != "" {
			if write != sink.Upsert {
				d.Addf(path+"/delete_missing", diag.Error, "conflicting-settings", "delete_missing works with write: upsert, not %s", write)
			}
			if ce.Incremental != nil {
				d.Addf(path+"/delete_missing", diag.Error, "conflicting-settings", "delete_missing needs full syncs: an incremental sync never sees every key (remove incremental or delete_missing)")
			}
		}
		if ce.Parent != nil {
			switch {
			case ce.Parent.Entity == ce.Name:
				d.Addf(path+"/parent/entity", diag.Error, "unknown-parent", "entity %q cannot be its own parent", ce.Name)
			case !names[ce.Parent.Entity]:
				d.Addf(path+"/parent/entity", diag.Error, "unknown-parent", "parent entity %q is not defined in this file%s", ce.Parent.Entity, hintNames(ce.Parent.Entity, names))
			}
			e.Parent = ce.Parent.Entity
		}
		e.Table = &sink.Table{Name: firstNonEmpty(ce.Table, p.Name+"_"+ce.Name), PrimaryKey: ce.PrimaryKey,
			KeepRaw: ce.KeepRaw, Write: write, DeleteMissing: sink.DeleteMode(ce.DeleteMissing)}
		if prog != nil {
			for _, f := range prog.Fields() {
				e.Table.Columns = append(e.Table.Columns, sink.Column{Name: f.Name, Type: f.Type})
			}
		}
		if other, dup := tables[e.Table.Name]; dup {
			d.Addf(path, diag.Error, "duplicate-table", "entities %q and %q both write to table %q: give one a table: name", other, ce.Name, e.Table.Name)
		}
		tables[e.Table.Name] = ce.Name
		nc.table(e.Table, path, fmt.Sprintf("entity %q", ce.Name), ce.Table != "", path+"/fields", fieldNames(ce.Fields))
		if prog != nil {
			for _, cc := range ce.Children {
				if ch := compileChild(d, report, p, ce, e, prog, cc, transform.Options{Pipeline: p.Name, Entity: ce.Name + "." + cc.Name,
					Path: path + "/children/" + config.Escape(cc.Name), OnInvalid: policy, Strict: strict, Timezone: defTZ, Region: region}); ch != nil {
					if other, dup := tables[ch.Table.Name]; dup {
						d.Addf(path+"/children/"+config.Escape(cc.Name), diag.Error, "duplicate-table", "%q and child %q both write to table %q: give one a table: name", other, cc.Name, ch.Table.Name)
					}
					tables[ch.Table.Name] = ce.Name + "." + cc.Name
					cp := path + "/children/" + config.Escape(cc.Name)
					nc.table(ch.Table, cp, fmt.Sprintf("child %q of entity %q", cc.Name, ce.Name), cc.Table != "", cp+"/fields", fieldNames(cc.Fields))
					e.Children = append(e.Children, ch)
					e.Table.Children = append(e.Table.Children, ch.Table)
				}
			}
		}
		plan.Entities = append(plan.Entities, e)
		if !entSrcOK {
			continue
		}
		compileSource, _ := source.Lookup(p.Source.Type)
		opener, sp := compileSource(&source.Spec{Pipeline: p.Name, Source: &p.Source, Entity: ce, Path: path,
			BaseDir: filepath.Dir(d.File), BatchSize: e.BatchSize, Timezone: srcTZ})
		for _, pr := range sp {
			report(pr)
		}
		e.Source = opener
	}
	checkParentCycles(d, plan)
	return plan
}

func checkParentCycles(d *config.Document, plan *Plan) {
	for _, e := range plan.Entities {
		seen := map[string]bool{e.Name: true}
		for cur := e; cur != nil && cur.Parent != ""; {
			if seen[cur.Parent] {
				d.Addf(e.Path+"/parent/entity", diag.Error, "unknown-parent", "entity %q: parents form a cycle through %q", e.Name, cur.Parent)
				break
			}
			seen[cur.Parent] = true
			cur = plan.Entity(cur.Parent)
		}
	}
}

// checkLiteralSecrets warns about secrets written into the file itself.
func checkLiteralSecrets(d *config.Document) {
	for _, p := range d.Paths() {
		if config.IsSecretPath(p) && !d.Interpolated[p] {
			d.Addf(p, diag.Warning, "literal-secret", "a secret is written into the file: use ${env:NAME} or ${file:PATH} so it stays out of version control")
		}
	}
}

// entityBroken: the entity itself, its fields, children, keys or filter
// have schema problems, so compiling it would only add noise.
func entityBroken(bad []string, path string) bool {
	for _, b := range bad {
		if b == path {
			return true
		}
	}
	for _, part := range []string{"/fields", "/children", "/primary_key", "/incremental", "/filter"} {
		if isBad(bad, path+part) {
			return true
		}
	}
	return false
}

func isBad(bad []string, path string) bool {
	for _, b := range bad {
		if b == path || strings.HasPrefix(b, path+"/") {
			return true
		}
	}
	return false
}

func fieldNames(fs config.Fields) map[string]bool {
	m := make(map[string]bool, len(fs))
	for _, f := range fs {
		m[f.Name] = true
	}
	return m
}

func hint(name string, fields config.Fields) string {
	var names []string
	for _, f := range fields {
		names = append(names, f.Name)
	}
	if s := diag.Suggest(name, names); s != "" {
		return fmt.Sprintf("; did you mean %q?", s)
	}
	return " (fields: " + strings.Join(names, ", ") + ")"
}

func hintNames(name string, set map[string]bool) string {
	var names []string
	for n := range set {
		names = append(names, n)
	}
	if s := diag.Suggest(name, names); s != "" {
		return fmt.Sprintf("; did you mean %q?", s)
	}
	return ""
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func firstPositive(n ...int) int {
	for _, v := range n {
		if v > 0 {
			return v
		}
	}
	return 0
}

// offsetPos moves a position to a character inside a single-line scalar.
func offsetPos(d *config.Document, path string, at config.Pos, offset int) config.Pos {
	n := d.Node(path)
	if n == nil || n.Kind != yaml.ScalarNode || strings.Contains(n.Value, "\n") {
		return at
	}
	col := at.Column + offset - 1
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		col++
	}
	return config.Pos{Line: at.Line, Column: col}
}

// ParseWatermarkTime reads a watermark start: RFC 3339 or a date.
func ParseWatermarkTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("not a date or RFC 3339 time: %q", s)
}

// CheckSchedule reports whether a schedule can be parsed.
func CheckSchedule(s string) error {
	_, err := schedule.Parse(s)
	return err
}

// compileChild compiles one child table of an entity.
func compileChild(d *config.Document, report func(diag.Problem), p *config.Pipeline, ce *config.Entity, e *Entity,
	prog *transform.Program, cc *config.Child, o transform.Options) *Child {
	o.PrimaryKey = append(append([]string(nil), ce.PrimaryKey...), cc.PrimaryKey...)
	tc, problems := prog.CompileChild(o, cc)
	for _, pr := range problems {
		report(pr)
	}
	if tc == nil {
		return nil
	}
	ch := &Child{Name: cc.Name, Transform: tc, Index: len(cc.PrimaryKey) == 0}
	t := &sink.Table{Name: firstNonEmpty(cc.Table, p.Name+"_"+ce.Name+"_"+cc.Name), Write: sink.Upsert, ParentKey: ce.PrimaryKey}
	childFields := map[string]bool{}
	for _, f := range tc.Program.Fields() {
		childFields[f.Name] = true
	}
	for _, k := range ce.PrimaryKey {
		for _, f := range prog.Fields() {
			if f.Name == k {
				ch.ParentIdx = append(ch.ParentIdx, f.Index)
				t.Columns = append(t.Columns, sink.Column{Name: f.Name, Type: f.Type})
			}
		}
		if childFields[k] {
			d.Addf(o.Path+"/fields/"+config.Escape(k), diag.Error, "conflicting-settings",
				"child %q: field %q has the name of the parent's key column, which every child row already holds", cc.Name, k)
		}
	}
	if len(ch.ParentIdx) != len(ce.PrimaryKey) || len(ce.PrimaryKey) == 0 {
		d.Addf(o.Path, diag.Error, "primary-key", "child %q needs its entity's primary_key to tie its rows to their parent", cc.Name)
		return nil
	}
	t.PrimaryKey = append(t.PrimaryKey, ce.PrimaryKey...)
	if ch.Index {
		t.Columns = append(t.Columns, sink.Column{Name: "_index", Type: value.Integer})
		t.PrimaryKey = append(t.PrimaryKey, "_index")
	}
	for _, f := range tc.Program.Fields() {
		t.Columns = append(t.Columns, sink.Column{Name: f.Name, Type: f.Type})
	}
	for i, k := range cc.PrimaryKey {
		if !childFields[k] {
			d.Addf(fmt.Sprintf("%s/primary_key/%d", o.Path, i), diag.Error, "primary-key", "primary key %q of child %q is not one of its fields%s", k, cc.Name, hint(k, cc.Fields))
		}
		t.PrimaryKey = append(t.PrimaryKey, k)
	}
	ch.Table = t
	return ch
}

// hasValidator reports whether a field's chain names validator name.
func hasValidator(f *config.Field, name string) bool {
	for _, v := range f.Validate {
		if v.Name == name {
			return true
		}
	}
	return false
}
