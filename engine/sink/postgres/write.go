package postgres

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/crmsync/crmsync/engine/sink"
)

// Row states after the key lookup.
const (
	rowNew uint8 = iota
	rowChanged
	rowUnchanged
)

// Write commits a batch in one transaction: its rows, its child rows, its
// rejects and, when set, the new checkpoint. Rows of keyed tables are
// merged: keys not in the table are COPYed straight in, rows whose stored
// _row_hash differs are COPYed to a staging table and updated from it,
// and unchanged rows are not touched at all.
func (d *DB) Write(ctx context.Context, b *sink.Batch) (sink.Result, error) {
	if b == nil || b.Table == nil {
		return sink.Result{}, errors.New("writing: batch has no table")
	}
	where := fmt.Sprintf("writing table %q", b.Table.Name)
	p, fr, err := d.target(ctx, b.Table)
	if err != nil {
		return sink.Result{}, fmt.Errorf("%s: %w", where, err)
	}
	// Encode before the transaction: no locks are held while the client
	// works. PrepareWrite may have done it already, for this plan.
	e, err := d.encoded(p, b)
	if e != nil {
		defer putEncoded(e)
	}
	if err != nil {
		return sink.Result{}, fmt.Errorf("%s: %w", where, err)
	}
	kids := make([]childWork, 0, len(b.Children))
	defer func() {
		for _, k := range kids {
			putEncoded(k.e)
		}
	}()
	for _, c := range b.Children {
		k, err := d.prepareChild(ctx, c, b.SyncID)
		if k.e != nil {
			kids = append(kids, k)
		}
		if err != nil {
			return sink.Result{}, fmt.Errorf("%s: %w", where, err)
		}
	}

	for attempt := 1; ; attempt++ {
		res, err := d.writeOnce(ctx, b, p, fr, e, kids)
		if err == nil {
			if len(b.Rows) > 0 {
				d.wrote(b.SyncID, p.physical)
			}
			for _, k := range kids {
				d.wrote(b.SyncID, k.p.physical)
			}
			return res, nil
		}
		if errors.Is(err, errNotFresh) {
			// The table holds some of these keys after all: nothing of
			// the batch committed; write it again with the lookup.
			p.fresh.Store(false)
			attempt--
			continue
		}
		var ce *commitError
		if attempt >= writeAttempts || ctx.Err() != nil || !connLost(err) || errors.As(err, &ce) {
			return sink.Result{}, fmt.Errorf("%s: %w", where, err)
		}
		// The transaction never reached COMMIT, so nothing of it landed:
		// the same batch is sent again on a new connection.
		wait := writeBackoff << (attempt - 1)
		sink.Logger(ctx).Warn("the database connection dropped during a batch, which did not commit; writing it again",
			"table", b.Table.Name, "rows", len(b.Rows), "attempt", attempt, "wait", wait.String(), "error", err.Error())
		select {
		case <-ctx.Done():
			return sink.Result{}, fmt.Errorf("%s: %w", where, err)
		case <-time.After(wait):
		}
	}
}

// prepared is PrepareWrite's encoding of a batch for plan p.
type prepared struct {
	p   *plan
	e   *encoded
	err error
}

// PrepareWrite encodes b's rows ahead of Write (sink.Preparer), so the
// runner encodes the next batch while this one is being written.
func (d *DB) PrepareWrite(_ context.Context, b *sink.Batch) {
	if b == nil || b.Table == nil {
		return
	}
	p, _, _ := d.cached(b.Table)
	if p == nil {
		return // not prepared yet: Write prepares the table, then encodes
	}
	e := getEncoded()
	b.Prepared = &prepared{p: p, e: e, err: e.encode(p, b.Rows, b.SyncID)}
}

// encoded is b encoded for p: PrepareWrite's when it was for the same
// plan, else encoded now.
func (d *DB) encoded(p *plan, b *sink.Batch) (*encoded, error) {
	if pr, ok := b.Prepared.(*prepared); ok {
		b.Prepared = nil
		if pr.p == p {
			return pr.e, pr.err
		}
		putEncoded(pr.e)
	}
	e := getEncoded()
	return e, e.encode(p, b.Rows, b.SyncID)
}

// A batch whose connection drops before COMMIT is written again up to
// writeAttempts times, waiting writeBackoff, then twice that, and so on.
var (
	writeAttempts = 4
	writeBackoff  = 500 * time.Millisecond
)

// errNotFresh is a fresh table's COPY that met a key already stored.
var errNotFresh = errors.New("a key of the batch is already in the table")

// commitError is a failure after COMMIT was sent: the batch may have
// committed, so it is not written again (an append would double).
type commitError struct{ err error }

func (e *commitError) Error() string {
	return "committing: " + e.err.Error() + " (the batch may or may not have committed; the next run re-reads from the stored checkpoint)"
}
func (e *commitError) Unwrap() error { return e.err }

// connLost reports whether err is the loss of the connection (a server
// restart, a terminated backend, a network cut) rather than a statement
// the server refused.
func connLost(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// 08: connection exception; 57P01-03: admin shutdown, crash
		// shutdown, cannot connect now.
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) || pgconn.SafeToRetry(err) || pgconn.Timeout(err) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)
}

// writeOnce is one attempt at the batch's transaction on one connection.
func (d *DB) writeOnce(ctx context.Context, b *sink.Batch, p *plan, fr *fullRun, e *encoded, kids []childWork) (sink.Result, error) {
	conn, err := d.pool.Acquire(ctx)
	if err != nil {
		return sink.Result{}, d.connErr("acquiring a connection", err)
	}
	defer conn.Release()
	stopWatch := d.watchWaits(ctx, conn.Conn().PgConn().PID(), b.Table.Name)
	var staged []string
	res, err := d.writeTx(ctx, conn.Conn(), b, p, fr, e, kids, &staged)
	stopWatch()
	if err != nil {
		rollback(conn.Conn().PgConn())
		return sink.Result{}, lockTimeoutHint(err)
	}
	for _, s := range staged { // their CREATE is committed only now
		conn.Conn().PgConn().CustomData()[s] = true
	}
	return res, nil
}

// writeTx runs the batch's transaction in few round trips: BEGIN, the
// settings, the lock and the key lookup in one pipeline; the COPYs; the
// checkpoint and COMMIT in another.
func (d *DB) writeTx(ctx context.Context, conn *pgx.Conn, b *sink.Batch, p *plan, fr *fullRun, e *encoded, kids []childWork, staged *[]string) (sink.Result, error) {
	pc := conn.PgConn()
	var keys [][]byte
	if p.keyed && len(e.rows) > 0 {
		keys = e.keyArrays(p.keyOIDs, nil)
	}
	var fence *fenceCheck
	if b.Epoch != 0 {
		fence = &fenceCheck{f: sink.Fence{Pipeline: b.Pipeline, Entity: b.StateKey(), Epoch: b.Epoch}}
	}
	fast := p.keyed && p.fresh.Load()
	// The partitions of a backfill write disjoint key ranges of one
	// table at once: they share its write lock, which every other
	// writer of the table takes alone.
	lockFn := "pg_advisory_xact_lock"
	if b.Partition != "" && !b.Overlapping {
		lockFn = "pg_advisory_xact_lock_shared"
	}
	if err := d.begin(ctx, pc, p, fr, e, keys, fence, !fast, lockFn); err != nil {
		return sink.Result{}, err
	}
	if fence != nil {
		if err := fence.err(); err != nil {
			return sink.Result{}, err
		}
	}
	res, err := d.load(ctx, pc, p, nil, e, keys, staged)
	if err != nil {
		var pe *pgconn.PgError
		if fast && errors.As(err, &pe) && pe.Code == "23505" { // unique_violation
			return res, errNotFresh
		}
		return res, err
	}
	for _, k := range kids {
		if err := d.writeChild(ctx, pc, k, staged, lockFn); err != nil {
			return res, err
		}
	}
	if err := d.insertRejects(ctx, conn, b); err != nil {
		return res, err
	}
	var end []stmt
	if c := b.Checkpoint; c != nil {
		at := c.UpdatedAt
		if at.IsZero() {
			at = time.Now()
		}
		args := make([][]byte, 6)
		for i, s := range []string{b.Pipeline, b.StateKey(), c.Watermark, c.Resume, c.Version} {
			if err := checkText(s); err != nil {
				return res, fmt.Errorf("storing the checkpoint: %w", err)
			}
			args[i] = []byte(s)
		}
		ts, _ := encodeTimestamptz(nil, at)
		args[5] = ts[4:]
		end = append(end, stmt{sql: d.checkpointSQL(), args: args, oids: checkpointOIDs})
	}
	if g := b.Progress; g != nil && b.SyncID != 0 {
		end = append(end, d.progressStmt(b.SyncID, g, res))
	}
	end = append(end, stmt{sql: "COMMIT"})
	if err := runPipeline(ctx, pc, end); err != nil {
		return res, &commitError{err}
	}
	return res, nil
}

var checkpointOIDs = []uint32{oidText, oidText, oidText, oidText, oidText, oidTimestamptz}

// progressStmt brings a running sync's history row up to what this batch
// commits, so the row of a sync killed later still counts it.
func (d *DB) progressStmt(syncID int64, g *sink.Progress, res sink.Result) stmt {
	nums := []int64{syncID, g.Processed, g.Filtered, g.Rejected, g.Failed, int64(res.Created), int64(res.Updated), int64(res.Unchanged), g.Duplicates}
	args := make([][]byte, len(nums))
	oids := make([]uint32, len(nums))
	for i, n := range nums {
		args[i] = binary.BigEndian.AppendUint64(nil, uint64(n))
		oids[i] = oidInt8
	}
	return stmt{sql: "UPDATE " + d.ident(tableHistory) + ` SET processed = $2, filtered = $3, rejected = $4, failed = $5,
		created = created + $6, updated = updated + $7, unchanged = unchanged + $8, duplicates = $9
		WHERE id = $1 AND status = 'running'`, args: args, oids: oids}
}

func (d *DB) checkpointSQL() string {
	return "INSERT INTO " + d.ident(tableState) + ` (pipeline, entity, watermark, resume, version, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (pipeline, entity) DO UPDATE SET watermark = excluded.watermark, resume = excluded.resume, version = excluded.version, updated_at = excluded.updated_at`
}

// begin opens the transaction, takes the table's write lock (which keeps
// two writers of one table from both COPYing a key neither has seen;
// readers are never blocked), records the keys a full sync saw, and looks
// the keys up: all in one round trip.
//
// Every join in a batch transaction probes a few thousand keys into a
// table that may hold millions of rows. Until the table is large (or has
// never been analyzed) the planner prefers a hash join over a sequential
// scan of the whole table, batch after batch; nested loops over the
// primary key index are what these statements want.
func (d *DB) begin(ctx context.Context, pc *pgconn.PgConn, p *plan, fr *fullRun, e *encoded, keys [][]byte, fence *fenceCheck, lookup bool, lockFn string) error {
	stmts := []stmt{
		{sql: "BEGIN"},
		{sql: "SET LOCAL enable_hashjoin = off"},
		{sql: "SET LOCAL enable_mergejoin = off"},
	}
	if fence != nil {
		stmts = append(stmts, fence.stmt(d))
	}
	if d.commitMode != "" {
		stmts = append(stmts, stmt{sql: d.commitMode})
	}
	stmts = append(stmts, stmt{sql: fmt.Sprintf("SELECT %s(%d)", lockFn, p.lockKey)})
	if keys != nil {
		if fr != nil && fr.seenSQL != "" {
			stmts = append(stmts, stmt{sql: fr.seenSQL, args: keys, oids: p.keyOIDs})
		}
		e.resetState() // every row new, unless the lookup finds it
		if lookup {
			stmts = append(stmts, stmt{sql: p.lookupSQL, args: keys, oids: p.keyOIDs, results: 3, read: e.classifyRow})
		}
	}
	if err := runPipeline(ctx, pc, stmts); err != nil {
		return fmt.Errorf("starting the transaction: %w", err)
	}
	return nil
}
