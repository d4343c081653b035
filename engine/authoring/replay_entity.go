package authoring

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/crmsync/crmsync/engine/pipeline"
	"github.com/crmsync/crmsync/engine/source"
)

var (
	// ErrNoFixtures: an http entity has no recorded exchanges.
	ErrNoFixtures = errors.New("no recorded exchanges")
	// ErrNotOffline: the source type cannot be read offline (sql, github).
	ErrNotOffline = errors.New("this source type cannot be replayed offline")
)

// ReplayEntity reads one entity offline and maps its records: an http
// source that can be probed (source.Prober: http) from the exchanges
// recorded in dir/<entity>/ (served by p), a source of local files
// (source.Local) from its own files. A request that differs from its
// fixture, or a read that stops before the last fixture, is an error.
func ReplayEntity(ctx context.Context, plan *pipeline.Plan, e *pipeline.Entity, dir string, p *Replayer, o Options) (*Result, error) {
	return replayDir(ctx, plan, e, filepath.Join(dir, e.Name), p, o, false)
}

// replayDir replays the exchanges in one folder (an entity's, or one
// round's of it). whole: they are a whole sync, read to the source's end
// (see Round.Whole); else the read stops after the last one.
func replayDir(ctx context.Context, plan *pipeline.Plan, e *pipeline.Entity, dir string, p *Replayer, o Options, whole bool) (*Result, error) {
	if LocalFiles(e) {
		o.Wrap, o.Limit, o.Pages, o.More = nil, 0, 0, nil
		return Read(ctx, plan, e, o)
	}
	if !Recordable(e) {
		return nil, fmt.Errorf("source type %q: %w", plan.Source.Type, ErrNotOffline)
	}
	fx, err := LoadFixtures(dir)
	if err != nil {
		return nil, err
	}
	if len(fx) == 0 {
		return nil, ErrNoFixtures
	}
	t := p.Transport(fx, NewRedactor(plan))
	o.Wrap = t.Wrap
	o.Attempts = 1 // only successful exchanges are recorded
	o.Unlimited = true
	o.Limit, o.Pages = 0, 0
	o.More = func() bool { return t.Remaining() > 0 }
	if whole {
		o.More = nil
	}
	res, err := Read(ctx, plan, e, o)
	if m := t.Mismatch(); m != nil {
		return res, m
	}
	if err != nil {
		return res, err
	}
	if used := t.Used(); used < len(fx) {
		return res, fmt.Errorf("the read ended after %d of the %d recorded requests (did pagination change?)", used, len(fx))
	}
	return res, nil
}

// RecordFixtures writes the fixtures of one entity from the exchanges of a read
// into dir/<entity>/, then replays them to write expected.jsonl. It
// returns how many exchanges were stored and the replayed result.
//
// An entity whose fixtures hold rounds gets its round 1 (the first sync,
// which is what a preview reads) rewritten; the later rounds are kept.
func RecordFixtures(ctx context.Context, plan *pipeline.Plan, e *pipeline.Entity, dir string, xs []Exchange, o Options) (int, *Result, error) {
	rounds, err := Rounds(filepath.Join(dir, e.Name))
	if err != nil {
		return 0, nil, err
	}
	target, whole := rounds[0].Dir, rounds[0].Whole
	n, err := WriteFixtures(target, xs)
	if err != nil {
		return 0, nil, err
	}
	if n == 0 {
		return 0, nil, fmt.Errorf("entity %q: no successful exchange to record", e.Name)
	}
	p, err := StartReplayer()
	if err != nil {
		return n, nil, err
	}
	defer p.Close()
	res, err := replayDir(ctx, plan, e, target, p, o, whole)
	if err != nil {
		return n, res, fmt.Errorf("replaying what was just recorded: %w", err)
	}
	return n, res, WriteExpected(filepath.Join(target, ExpectedFile), res.Lines())
}

// Recordable reports whether an entity's exchanges can be recorded and
// replayed: its source can be probed (source.Prober).
func Recordable(e *pipeline.Entity) bool {
	_, ok := e.Source.(source.Prober)
	return ok
}

// LocalFiles reports whether an entity's source reads only local files
// (source.Local): its test reads the files themselves.
func LocalFiles(e *pipeline.Entity) bool {
	l, ok := e.Source.(source.Local)
	return ok && l.Local()
}
