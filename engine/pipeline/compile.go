package pipeline

import (
	"fmt"
	"path/filepath"
	"strconv"
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

// compiler holds what every step of one file's compile shares.
type compiler struct {
	d     *config.Document
	p     *config.Pipeline
	bad   []string // paths with schema errors
	o     Options
	plan  *Plan
	srcOK bool           // the source compiles (known type, no schema error)
	defTZ *time.Location // defaults.timezone

	names       map[string]bool   // entity names
	lookupNames []string          // source.lookups
	tables      map[string]string // table name → who writes it
	nc          *nameCheck
}

// compile turns a decoded pipeline into a plan, reporting every problem
// on the document. Entities with schema errors (bad) are skipped. It
// goes in steps: the file's own settings, then each entity (limits,
// fields, keys, incremental, full-refresh modes, parent, table, children,
// source), then the checks across entities.
func compile(d *config.Document, p *config.Pipeline, bad []string, o Options) *Plan {
	c := &compiler{d: d, p: p, bad: bad, o: o, tables: map[string]string{}, nc: newNameCheck(d), names: map[string]bool{}}
	c.plan = &Plan{
		File: d.File, Name: p.Name, Description: p.Description, Profile: o.Profile,
		Hash: hashOf(d), Schedule: p.Schedule, Source: &p.Source,
	}
	c.plan.redactor = newRedactor(d.Secrets)
	checkLiteralSecrets(d)
	c.fileSettings()
	c.lookups()
	for _, ce := range p.Entities {
		c.names[ce.Name] = true
	}
	seen := map[string]bool{}
	for _, ce := range p.Entities {
		path := "/entities/" + config.Escape(ce.Name)
		if seen[ce.Name] || entityBroken(bad, path) {
			seen[ce.Name] = true
			continue // a duplicate (reported) or broken entity
		}
		seen[ce.Name] = true
		c.plan.Entities = append(c.plan.Entities, c.entity(ce, path))
	}
	checkParentCycles(d, c.plan)
	return c.plan
}

// report puts a compile step's problem on the document at its path.
func (c *compiler) report(pr diag.Problem) {
	// A setting that comes from ${env:…} or ${file:…} may be empty
	// while linting without secrets; env-unset already says so.
	if pr.Code == "missing-setting" && c.d.Interpolated[pr.Path] {
		return
	}
	sev := diag.Error
	if pr.Warning {
		sev = diag.Warning
	}
	at := c.d.PosOf(pr.Path)
	if pr.Offset > 0 {
		at = offsetPos(c.d, pr.Path, at, pr.Offset)
	}
	c.d.AddAt(at, sev, pr.Code, pr.Message)
}

// fileSettings checks the schedule and the source type and loads the
// time zones.
func (c *compiler) fileSettings() {
	d, p := c.d, c.p
	if p.Schedule != "" {
		if err := CheckSchedule(p.Schedule); err != nil {
			d.Addf("/schedule", diag.Error, "bad-schedule", "schedule %q: %v", p.Schedule, err)
		}
	}
	_, known := source.Lookup(p.Source.Type)
	schemaOK := !isBad(c.bad, "/source") && !isBad(c.bad, "")
	if !known && schemaOK {
		d.Addf("/source/type", diag.Error, "unknown-source", "source type %q is not built into this crmsync (built in: %s)", p.Source.Type, strings.Join(source.Types(), ", "))
	}
	c.srcOK = known && schemaOK
	c.defTZ = loadZone(d, "/defaults/timezone", p.Defaults.Timezone, time.UTC, "America/New_York")
}

// loadZone is the IANA zone name, or def when name is empty or unknown
// (reported at path).
func loadZone(d *config.Document, path, name string, def *time.Location, example string) *time.Location {
	if name == "" {
		return def
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		d.Addf(path, diag.Error, "bad-timezone", "unknown time zone %q (use an IANA name such as %s)", name, example)
		return def
	}
	return l
}

// entityCompile is one entity's compile in progress.
type entityCompile struct {
	ce     *config.Entity
	e      *Entity
	path   string
	write  sink.WriteMode
	tf     transform.Options // what its fields (and children's) compile with
	prog   *transform.Program
	fields map[string]int // field name → index
	// windows: time-window partitions whose settings hold together; the
	// source kind checks its request reads the window.
	windows bool
}

// entity compiles one entity. A schema problem elsewhere in the entity
// (its request, its pagination) leaves its fields sound: they are still
// compiled, so one lint round shows every problem; its source is not.
func (c *compiler) entity(ce *config.Entity, path string) *Entity {
	p := c.p
	ec := &entityCompile{ce: ce, path: path, fields: map[string]int{},
		e:     &Entity{Name: ce.Name, Path: path, Config: ce, FullRefresh: ce.FullRefresh},
		write: sink.WriteMode(firstNonEmpty(ce.Write, p.Defaults.Write, string(sink.Upsert)))}
	c.limits(ec)
	policy, _ := transform.ParsePolicy(firstNonEmpty(ce.OnInvalid, p.Defaults.OnInvalid))
	ec.tf = transform.Options{Pipeline: p.Name, Entity: ce.Name, Path: path, OnInvalid: policy, Lookups: c.lookupNames,
		Strict:   c.d.Overrides.StrictValidation != nil && *c.d.Overrides.StrictValidation,
		Timezone: c.defTZ, Region: firstNonEmpty(p.Defaults.DefaultRegion, "US")}
	opts := ec.tf
	opts.Fields, opts.Filter, opts.PrimaryKey, opts.BlankKeyOK = ce.Fields, ce.Filter, ce.PrimaryKey, ec.write == sink.Append
	prog, problems := transform.Compile(opts)
	for _, pr := range problems {
		c.report(pr)
	}
	ec.prog, ec.e.Program = prog, prog
	for i, f := range ce.Fields {
		ec.fields[f.Name] = i
	}
	c.keys(ec)
	c.incremental(ec)
	c.fullModes(ec)
	c.partitions(ec)
	c.parent(ec)
	c.table(ec)
	c.children(ec)
	if c.srcOK && !isBad(c.bad, path) {
		c.source(ec)
	}
	return ec.e
}

// limits: batch size, max records and reject rate, overrides first.
func (c *compiler) limits(ec *entityCompile) {
	d, p, o, ce, e := c.d, c.p, c.o, ec.ce, ec.e
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
}

// keys: every primary key is a field; append tables may have none.
func (c *compiler) keys(ec *entityCompile) {
	d, ce, path := c.d, ec.ce, ec.path
	if len(ce.PrimaryKey) == 0 && ec.write != sink.Append {
		d.AddKeyf(path, diag.Error, "primary-key", "entity %q has no primary_key: name the field(s) that identify a record, or set write: append", ce.Name)
	}
	for i, k := range ce.PrimaryKey {
		j, ok := ec.fields[k]
		if !ok {
			d.Addf(fmt.Sprintf("%s/primary_key/%d", path, i), diag.Error, "primary-key",
				"primary key %q of entity %q is not one of its fields%s", k, ce.Name, hint(k, ce.Fields))
			continue
		}
		// lint --strict: a key field should say it is required (a
		// record with a blank key is rejected at run time either way).
		if f := ce.Fields[j]; c.o.StrictLint && ec.write != sink.Append && !f.Required && !hasValidator(f, "required") {
			d.Addf(path+"/fields/"+config.Escape(k), diag.Warning, "key-not-required",
				"primary key field %q of entity %q is not required: a record with a blank %s is rejected at run time; say so with required: true", k, ce.Name, k)
		}
	}
}

// incremental: the watermark field, its format and start.
func (c *compiler) incremental(ec *entityCompile) {
	d, ce, path := c.d, ec.ce, ec.path
	inc := ce.Incremental
	if inc == nil {
		return
	}
	i, ok := ec.fields[inc.Field]
	if !ok {
		d.Addf(path+"/incremental/field", diag.Error, "incremental-field", "incremental field %q of entity %q is not one of its fields%s", inc.Field, ce.Name, hint(inc.Field, ce.Fields))
	} else if ec.prog != nil {
		t := ec.prog.Fields()[i].Type
		switch t {
		case value.Boolean, value.JSON, value.StringArray:
			d.Addf(path+"/incremental/field", diag.Error, "incremental-field", "incremental field %q is of type %s: a watermark needs a datetime, date, integer, decimal or string", inc.Field, t)
		}
		ec.e.Incremental = &Incremental{Field: inc.Field, Index: i, Type: t, Format: inc.Format, Lookback: inc.Lookback.Duration, Start: inc.Start}
	}
	if err := source.CheckFormat(inc.Format); err != nil {
		d.Addf(path+"/incremental/format", diag.Error, "invalid-value", "%v", err)
	}
	if inc.Start != "" {
		if _, err := ParseWatermarkTime(inc.Start); err != nil {
			d.Addf(path+"/incremental/start", diag.Error, "invalid-value", "incremental start %q is not a date, an RFC 3339 time or a time before now (-30d, -12h)", inc.Start)
		}
	}
	if ce.FullRefresh {
		d.AddKeyf(path+"/full_refresh", diag.Error, "conflicting-settings", "entity %q sets both incremental and full_refresh: choose one", ce.Name)
	}
}

// fullModes: delete_missing needs upserts and full reads.
func (c *compiler) fullModes(ec *entityCompile) {
	d, ce, path := c.d, ec.ce, ec.path
	if ce.DeleteMissing == "" {
		return
	}
	if ec.write != sink.Upsert {
		d.Addf(path+"/delete_missing", diag.Error, "conflicting-settings", "delete_missing works with write: upsert, not %s", ec.write)
	}
	if ce.Incremental != nil {
		d.Addf(path+"/delete_missing", diag.Error, "conflicting-settings", "delete_missing needs full syncs: an incremental sync never sees every key (remove incremental or delete_missing)")
	}
}

// partitions: a partitioned full read is built for SQL tables read by
// a single-column primary key, written by upsert.
func (c *compiler) partitions(ec *entityCompile) {
	d, ce, path := c.d, ec.ce, ec.path
	if n := c.o.Partitions; n > 0 && c.p.Source.Type == "sql" && ec.write == sink.Upsert && ce.DeleteMissing == "" && len(ce.PrimaryKey) == 1 && ce.Parent == nil {
		ec.e.Partitions, ec.e.PartitionRows = n, 0 // run --partitions N
		return
	}
	if ce.Partitions == 0 && ce.PartitionRows == 0 && ce.PartitionEvery == "" {
		return
	}
	if c.p.Source.Type == "http" {
		c.windowPartitions(ec)
		return
	}
	ec.e.Partitions, ec.e.PartitionRows = ce.Partitions, ce.PartitionRows
	at := path + "/partitions"
	if ce.Partitions == 0 {
		at = path + "/partition_rows"
	}
	switch {
	case ce.PartitionEvery != "":
		d.Addf(path+"/partition_every", diag.Error, "conflicting-settings", "entity %q: partition_every (time windows) is for http sources; a %s source is partitioned by partitions or partition_rows", ce.Name, c.p.Source.Type)
	case ce.Partitions != 0 && ce.PartitionRows != 0:
		d.Addf(at, diag.Error, "conflicting-settings", "entity %q sets both partitions and partition_rows: choose one", ce.Name)
	case ce.Partitions < 0 || ce.Partitions > 1024:
		d.Addf(at, diag.Error, "invalid-value", "partitions of entity %q must be between 1 and 1024, not %d", ce.Name, ce.Partitions)
	case ce.PartitionRows < 0 || (ce.PartitionRows > 0 && ce.PartitionRows < 1000):
		d.Addf(at, diag.Error, "invalid-value", "partition_rows of entity %q must be at least 1000, not %d", ce.Name, ce.PartitionRows)
	case c.p.Source.Type != "sql":
		d.Addf(at, diag.Error, "not-built", "entity %q: partitioned backfills are built for sql sources (by primary-key ranges) and http sources (by time windows); partitions of %s sources are not built", ce.Name, c.p.Source.Type)
	case ec.write != sink.Upsert:
		d.Addf(at, diag.Error, "conflicting-settings", "entity %q: partitions need write: upsert (a %s sync swaps or appends the whole table in one run; not built for partitions)", ce.Name, ec.write)
	case ce.DeleteMissing != "":
		d.Addf(at, diag.Error, "conflicting-settings", "entity %q: partitions cannot be combined with delete_missing (no one partition sees every key; not built)", ce.Name)
	case len(ce.PrimaryKey) != 1:
		d.Addf(at, diag.Error, "conflicting-settings", "entity %q: partitions need a primary key of one column (ranges of it), not %d", ce.Name, len(ce.PrimaryKey))
	case ce.Parent != nil:
		d.Addf(at, diag.Error, "conflicting-settings", "entity %q: a substream (parent) cannot be partitioned", ce.Name)
	}
}

// windowPartitions: an http entity's partitions are time windows from
// incremental.start to the sync's start; its full read's request (or
// its job's start request) must filter by {{ window.start }} and
// {{ window.end }}, or every window would read everything.
func (c *compiler) windowPartitions(ec *entityCompile) {
	d, ce, path := c.d, ec.ce, ec.path
	ec.e.Partitions, ec.e.Windows = ce.Partitions, true
	at := path + "/partitions"
	if ce.Partitions == 0 {
		at = path + "/partition_every"
	}
	if ce.PartitionEvery != "" {
		every, err := parseEvery(ce.PartitionEvery)
		if err != nil {
			d.Addf(path+"/partition_every", diag.Error, "invalid-value", "partition_every of entity %q: %v", ce.Name, err)
		}
		ec.e.PartitionEvery = every
	}
	switch {
	case ce.PartitionRows != 0:
		d.Addf(path+"/partition_rows", diag.Error, "conflicting-settings", "entity %q: partition_rows is for sql sources; an http entity is partitioned by time windows (partitions: N or partition_every: 7d)", ce.Name)
	case ce.Partitions != 0 && ce.PartitionEvery != "":
		d.Addf(at, diag.Error, "conflicting-settings", "entity %q sets both partitions and partition_every: choose one", ce.Name)
	case ce.Partitions < 0 || ce.Partitions > 1024:
		d.Addf(at, diag.Error, "invalid-value", "partitions of entity %q must be between 1 and 1024, not %d", ce.Name, ce.Partitions)
	case ce.Incremental == nil || ce.Incremental.Start == "":
		d.AddKeyf(path, diag.Error, "conflicting-settings", "entity %q: time-window partitions need incremental.start (the start of the first window: a time, or -30d)", ce.Name)
	case ec.write != sink.Upsert:
		d.Addf(at, diag.Error, "conflicting-settings", "entity %q: partitions need write: upsert (a %s sync swaps or appends the whole table in one run; not built for partitions)", ce.Name, ec.write)
	case ce.DeleteMissing != "":
		d.Addf(at, diag.Error, "conflicting-settings", "entity %q: partitions cannot be combined with delete_missing (no one partition sees every key; not built)", ce.Name)
	case ce.Parent != nil:
		d.Addf(at, diag.Error, "conflicting-settings", "entity %q: a substream (parent) cannot be partitioned", ce.Name)
	default:
		ec.windows = true
	}
}

// parseEvery reads a window length: a Go duration (12h) or days (7d),
// at least a minute.
func parseEvery(s string) (time.Duration, error) {
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil {
			return 0, fmt.Errorf("%q is not a length such as 7d or 12h", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("%q is not a length such as 7d or 12h", s)
		}
	}
	if d < time.Minute {
		return 0, fmt.Errorf("%q is shorter than a minute", s)
	}
	return d, nil
}

// parent: a substream's parent is another entity of the file.
func (c *compiler) parent(ec *entityCompile) {
	d, ce, path := c.d, ec.ce, ec.path
	if ce.Parent == nil {
		return
	}
	switch {
	case ce.Parent.Entity == ce.Name:
		d.Addf(path+"/parent/entity", diag.Error, "unknown-parent", "entity %q cannot be its own parent", ce.Name)
	case !c.names[ce.Parent.Entity]:
		d.Addf(path+"/parent/entity", diag.Error, "unknown-parent", "parent entity %q is not defined in this file%s", ce.Parent.Entity, hintNames(ce.Parent.Entity, c.names))
	}
	ec.e.Parent = ce.Parent.Entity
}

// table: the destination table, one writer per table, names that fit.
func (c *compiler) table(ec *entityCompile) {
	ce, path, e := ec.ce, ec.path, ec.e
	e.Table = &sink.Table{Name: firstNonEmpty(ce.Table, c.p.Name+"_"+ce.Name), PrimaryKey: ce.PrimaryKey,
		KeepRaw: ce.KeepRaw, Write: ec.write, DeleteMissing: sink.DeleteMode(ce.DeleteMissing)}
	if ec.prog != nil {
		for _, f := range ec.prog.Fields() {
			e.Table.Columns = append(e.Table.Columns, sink.Column{Name: f.Name, Type: f.Type})
		}
	}
	c.claimTable(path, e.Table.Name, ce.Name, ce.Name, "entities %q and %q both write to table %q: give one a table: name")
	c.nc.table(e.Table, path, fmt.Sprintf("entity %q", ce.Name), ce.Table != "", path+"/fields", fieldNames(ce.Fields))
}

// claimTable records who writes table, reporting a second writer with
// msg (the earlier writer, this one as shown, the table).
func (c *compiler) claimTable(path, table, who, shown, msg string) {
	if other, dup := c.tables[table]; dup {
		c.d.Addf(path, diag.Error, "duplicate-table", msg, other, shown, table)
	}
	c.tables[table] = who
}

// children: each child array's table.
func (c *compiler) children(ec *entityCompile) {
	ce, e := ec.ce, ec.e
	if ec.prog == nil {
		return
	}
	for _, cc := range ce.Children {
		cp := ec.path + "/children/" + config.Escape(cc.Name)
		opts := ec.tf
		opts.Entity, opts.Path = ce.Name+"."+cc.Name, cp
		ch := compileChild(c.d, c.report, c.p, ce, e, ec.prog, cc, opts)
		if ch == nil {
			continue
		}
		c.claimTable(cp, ch.Table.Name, ce.Name+"."+cc.Name, cc.Name, "%q and child %q both write to table %q: give one a table: name")
		c.nc.table(ch.Table, cp, fmt.Sprintf("child %q of entity %q", cc.Name, ce.Name), cc.Table != "", cp+"/fields", fieldNames(cc.Fields))
		e.Children = append(e.Children, ch)
		e.Table.Children = append(e.Table.Children, ch.Table)
	}
}

// lookups compiles the source's lookups, when its kind has them.
func (c *compiler) lookups() {
	p := c.p
	k, ok := source.KindOf(p.Source.Type)
	if !ok || k.Lookups == nil || p.Source.Settings == nil {
		return
	}
	names, lookups, problems := k.Lookups(&source.Spec{Pipeline: p.Name, Source: &p.Source, BaseDir: filepath.Dir(c.d.File), Timezone: c.defTZ},
		func(path string) bool { return !c.srcOK || isBad(c.bad, path) })
	c.lookupNames = append(c.lookupNames, names...)
	for _, pr := range problems {
		c.report(pr)
	}
	for _, lk := range lookups {
		c.plan.Lookups = append(c.plan.Lookups, &Lookup{Name: lk.Name, Key: lk.Key, Cache: lk.Cache, Source: lk.Opener,
			cacheKey: c.plan.Hash + "\x00" + p.Name + "\x00" + lk.Name})
	}
}

// source: the source kind compiles the entity's reader.
func (c *compiler) source(ec *entityCompile) {
	p, d, e := c.p, c.d, ec.e
	compileSource, _ := source.Lookup(p.Source.Type)
	opener, problems := compileSource(&source.Spec{Pipeline: p.Name, Source: &p.Source, Entity: ec.ce, Path: ec.path,
		BaseDir: filepath.Dir(d.File), BatchSize: e.BatchSize, Timezone: c.defTZ, Windows: ec.windows})
	for _, pr := range problems {
		c.report(pr)
	}
	e.Source = opener
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
		if d.IsSecretPath(p) && !d.Interpolated[p] {
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

// ParseWatermarkTime reads a watermark start: RFC 3339 or a date, or a
// time before now written as a negative duration (-720h, -30d: the last
// 30 days, from the moment of the read).
func ParseWatermarkTime(s string) (time.Time, error) {
	if ago, ok := strings.CutPrefix(s, "-"); ok && ago != "" {
		days, isDays := strings.CutSuffix(ago, "d")
		if n, err := strconv.Atoi(days); isDays && err == nil && n > 0 {
			return time.Now().UTC().Add(-time.Duration(n) * 24 * time.Hour), nil
		}
		if d, err := time.ParseDuration(ago); err == nil && d > 0 {
			return time.Now().UTC().Add(-d), nil
		}
	}
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
