package authoring

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/crmsync/crmsync/engine/pipeline"
	"github.com/crmsync/crmsync/engine/source"
	"github.com/crmsync/crmsync/engine/source/httpsrc"
	"github.com/crmsync/crmsync/engine/transform"
	"github.com/crmsync/crmsync/engine/value"
)

// Options control Read.
type Options struct {
	// Limit stops the read at the end of the page on which this many
	// records were mapped (0: no limit). Records past it are not mapped.
	Limit int
	// Pages stops the read after this many pages (0: no limit).
	Pages int
	// More, when set, is asked after each page; false stops the read.
	More func() bool
	// Wrap wraps the HTTP transport of an http source: to record or replay.
	Wrap func(http.RoundTripper) http.RoundTripper
	// Attempts replaces an http source's retry.attempts when above 0.
	Attempts int
	// Unlimited drops an http source's rate limits (replays).
	Unlimited bool
	// Logger gets the source's log lines (retries, rate limits); nil discards them.
	Logger         *slog.Logger
	Version        string
	SkipValidation bool
}

// Result is what a read mapped. Nothing of it was written anywhere.
type Result struct {
	Pipeline, Entity string
	Columns          []Column
	Records          []Record
	Pages            int
	// Total is the record count the source gave with the first page, -1 unknown.
	Total int
	// Stopped: the read stopped at a limit before the source's end.
	Stopped bool
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
		out[i] = r.Records[i].Line(r.Columns)
	}
	return out
}

// errStop ends a read early; it never leaves Read.
var errStop = errors.New("authoring: enough read")

// Read reads an entity from its first page on, as a first sync would
// (no checkpoint: incremental.start is the watermark), and maps every
// record through the entity's record path. It opens no destination and
// writes nothing. On error the result holds what was mapped before it.
func Read(ctx context.Context, plan *pipeline.Plan, e *pipeline.Entity, o Options) (*Result, error) {
	res := &Result{Pipeline: plan.Name, Entity: e.Name, Total: -1}
	if e.Program == nil || e.Source == nil {
		return res, fmt.Errorf("entity %q did not compile", e.Name)
	}
	fields := e.Program.Fields()
	for _, f := range fields {
		res.Columns = append(res.Columns, Column{Name: f.Name, Type: f.Type})
	}
	var pk []int
	for _, name := range e.Config.PrimaryKey {
		if i := slices.IndexFunc(fields, func(f *transform.Field) bool { return f.Name == name }); i >= 0 {
			pk = append(pk, i)
		}
	}
	st, err := FirstRunState(e)
	if err != nil {
		return res, err
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	proc := e.Program.NewProcessor(transform.Context{SyncStarted: time.Now().UTC(),
		Logger: slog.New(slog.DiscardHandler), SkipValidation: o.SkipValidation})
	var out transform.Output
	emit := func(p source.Page) error {
		res.Pages++
		if res.Pages == 1 {
			res.Total = p.Total
		}
		proc.SetParent(p.Parent)
		for _, rj := range p.Rejects {
			reason := rj.Reason
			if rj.File != "" && !strings.HasPrefix(reason, rj.File) {
				reason = fmt.Sprintf("%s:%d: %s", rj.File, rj.Row, reason)
			}
			res.Records = append(res.Records, Record{Outcome: Unreadable, ID: fmt.Sprintf("%s:%d", rj.File, rj.Row), Reasons: []string{reason}, Raw: rj.Raw})
		}
		for _, rec := range p.Records {
			if o.Limit > 0 && len(res.Records) >= o.Limit {
				res.Stopped = true
				return errStop
			}
			out.Values = make([]any, len(fields))
			proc.Process(rec, &out)
			res.Records = append(res.Records, mapped(&out, rec, e, pk))
		}
		if (o.Limit > 0 && len(res.Records) >= o.Limit) || (o.Pages > 0 && res.Pages >= o.Pages) || (o.More != nil && !o.More()) {
			res.Stopped = true
			return errStop
		}
		return nil
	}
	env := &source.Env{Logger: log.With("pipeline", plan.Name, "entity", e.Name), Redact: plan.Redact, Version: o.Version}
	err = readEntity(ctx, plan, e, st, env, o, emit)
	if errors.Is(err, errStop) {
		err = nil
	}
	return res, err
}

// mapped turns a processor output into a Record.
func mapped(out *transform.Output, rec source.Record, e *pipeline.Entity, pk []int) Record {
	r := Record{Values: out.Values, Raw: rec.JSON, Reasons: append([]string(nil), out.Reasons...)}
	var ids []string
	for _, i := range pk {
		if v := out.Values[i]; v != nil {
			ids = append(ids, FormatValue(v, value.String))
		}
	}
	r.ID = strings.Join(ids, ",")
	switch out.Outcome {
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
	return r
}

// FirstRunState is the read state of a first sync: no checkpoint, the
// watermark is incremental.start (moved back by its lookback).
func FirstRunState(e *pipeline.Entity) (source.ReadState, error) {
	var st source.ReadState
	inc := e.Incremental
	if inc == nil || inc.Start == "" {
		return st, nil
	}
	switch inc.Type {
	case value.Date, value.Datetime:
		t, err := pipeline.ParseWatermarkTime(inc.Start)
		if err != nil {
			return st, fmt.Errorf("entity %q: incremental.start %q is not a time: %w", e.Name, inc.Start, err)
		}
		t = t.Add(-inc.Lookback)
		st.WatermarkTime = t
		if st.Watermark, err = source.FormatTime(t, inc.Format); err != nil {
			return st, err
		}
	default:
		st.Watermark = inc.Start
	}
	return st, nil
}

// open opens an entity's reader; an http source gets the probe options.
func open(ctx context.Context, e *pipeline.Entity, env *source.Env, o Options) (source.Reader, func(), error) {
	rd, err := httpsrc.OpenProbe(ctx, e.Source, env, httpsrc.Probe{Wrap: o.Wrap, Attempts: o.Attempts, Unlimited: o.Unlimited})
	if errors.Is(err, httpsrc.ErrNotHTTP) {
		rd, err = e.Source.Open(ctx, env)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("opening the source: %w", err)
	}
	closer := func() {}
	if c, ok := rd.(interface{ Close() error }); ok {
		closer = func() { c.Close() }
	}
	return rd, closer, nil
}

// readEntity reads an entity, or — with a parent — the entity once per
// record of its parent's pages, as the runner does.
func readEntity(ctx context.Context, plan *pipeline.Plan, e *pipeline.Entity, st source.ReadState, env *source.Env, o Options, emit func(source.Page) error) error {
	rd, done, err := open(ctx, e, env, o)
	if err != nil {
		return err
	}
	defer done()
	if e.Parent == "" {
		return rd.Read(ctx, st, emit)
	}
	parent := plan.Entity(e.Parent)
	if parent == nil || parent.Source == nil {
		return fmt.Errorf("parent entity %q is not available", e.Parent)
	}
	prd, pdone, err := open(ctx, parent, env, o)
	if err != nil {
		return fmt.Errorf("opening the parent entity %q: %w", e.Parent, err)
	}
	defer pdone()
	number := 0
	return prd.Read(ctx, source.ReadState{}, func(pp source.Page) error {
		for _, rec := range pp.Records {
			cst := st
			cst.Parent = rec.JSON
			err := rd.Read(ctx, cst, func(p source.Page) error {
				number++
				p.Number, p.Resume, p.Parent = number, "", rec.JSON
				return emit(p)
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
}
