package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/crmsync/crmsync/engine/sink"
)

// lockKey is the advisory lock of one entity in this schema: two
// destinations in different schemas sync independently.
func (d *DB) lockKey(pipeline, entity string) int64 {
	return hash64("crmsync entity", d.schema, pipeline, entity)
}

// lockPing is how often the session holding a claim is checked.
const lockPing = 2 * time.Second

// Lock takes the entity's session advisory lock on a connection of its
// own, held until unlock. When another session holds it, Lock returns
// sink.ErrLocked at once. A killed process's session ends, and its lock
// with it.
func (d *DB) Lock(ctx context.Context, pipeline, entity string) (func(), error) {
	c, err := d.LockWatched(ctx, pipeline, entity, nil)
	if err != nil {
		return nil, err
	}
	return c.Unlock, nil
}

// LockWatched is Lock, and keeps the lock's session alive and watched:
// the session is exempt from idle_session_timeout and pinged every
// lockPing; when the session is gone (terminated, cut by a pooler or a
// NAT) the lock is gone with it, and lost is called once so the sync can
// stop. Check asks the session at once.
func (d *DB) LockWatched(ctx context.Context, pipeline, entity string, lost func(error)) (sink.Claim, error) {
	return d.lockWatched(ctx, pipeline, entity, "", lost)
}

// lockWatched claims the entity, or with partition set one partition of
// it: the partition's own lock and the entity's lock shared.
func (d *DB) lockWatched(ctx context.Context, pipeline, entity, partition string, lost func(error)) (sink.Claim, error) {
	key, shared := d.lockKey(pipeline, entity), int64(0)
	name := entity
	if partition != "" {
		name = sink.PartitionKey(entity, partition)
		key, shared = d.lockKey(pipeline, name), key
	}
	cfg := d.connCfg.Copy()
	// A lock session is idle by design: no idle timeout may end it.
	cfg.RuntimeParams["idle_session_timeout"] = "0"
	cfg.RuntimeParams["idle_in_transaction_session_timeout"] = "0"
	cfg.RuntimeParams["application_name"] = "crmsync lock " + pipeline + "/" + name
	// TCP keepalives every 15 s keep NATs and load balancers from
	// dropping the quiet connection (the pings are 2 s apart, but a
	// keepalive also reaches a middlebox that only counts TCP traffic).
	cfg.DialFunc = (&net.Dialer{Timeout: cfg.ConnectTimeout, KeepAlive: 15 * time.Second}).DialContext
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, d.connErr(fmt.Sprintf("locking entity %q", entity), err)
	}
	var got bool
	if shared != 0 {
		// Partitions share the entity; an ordinary sync holds it alone.
		if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock_shared($1)", shared).Scan(&got); err != nil {
			conn.Close(context.Background())
			return nil, fmt.Errorf("locking entity %q of pipeline %q for partition %s: %w", entity, pipeline, partition, err)
		}
		if !got {
			conn.Close(context.Background())
			return nil, fmt.Errorf("entity %q of pipeline %q (an ordinary sync of it is running; partition %s waits): %w", entity, pipeline, partition, sink.ErrLocked)
		}
	}
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", key).Scan(&got); err != nil {
		conn.Close(context.Background())
		return nil, fmt.Errorf("locking entity %q of pipeline %q: %w", name, pipeline, err)
	}
	if !got {
		conn.Close(context.Background())
		return nil, fmt.Errorf("entity %q of pipeline %q: %w", name, pipeline, sink.ErrLocked)
	}
	epoch, err := d.bumpEpoch(ctx, conn, pipeline, name)
	if err != nil {
		conn.Close(context.Background())
		return nil, err
	}
	d.mu.Lock()
	d.locks[key]++
	d.mu.Unlock()
	c := &claim{d: d, key: key, shared: shared, epoch: epoch, conn: conn, lost: lost, pipeline: pipeline, entity: name,
		stop: make(chan struct{}), watched: make(chan struct{})}
	go c.watch()
	return c, nil
}

// claim is a held entity lock and the session that holds it.
type claim struct {
	d                *DB
	key, epoch       int64
	shared           int64 // a partition's: the entity's lock, held shared
	pipeline, entity string
	lost             func(error)
	stop, watched    chan struct{}
	once             sync.Once

	mu   sync.Mutex // one user of conn at a time
	conn *pgx.Conn
	err  error // set once the session is known gone
}

func (c *claim) watch() {
	defer close(c.watched)
	t := time.NewTicker(lockPing)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		if c.Check(context.Background()) != nil {
			return
		}
	}
}

func (c *claim) Epoch() int64 { return c.epoch }

// Check pings the lock's session; an error means the lock is gone.
func (c *claim) Check(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	pctx, cancel := context.WithTimeout(ctx, lockPing)
	err := c.conn.Ping(pctx)
	cancel()
	if err == nil {
		return nil
	}
	c.err = fmt.Errorf("the claim on %s %s was lost: its database session ended (%v); another run may hold the entity now (%w)", c.pipeline, c.entity, err, sink.ErrClaimLost)
	if c.lost != nil {
		go c.lost(c.err)
	}
	return c.err
}

func (c *claim) Unlock() {
	c.once.Do(func() {
		close(c.stop)
		<-c.watched
		d := c.d
		d.mu.Lock()
		if d.locks[c.key]--; d.locks[c.key] <= 0 {
			delete(d.locks, c.key)
		}
		d.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c.mu.Lock()
		defer c.mu.Unlock()
		// Closing the session releases the lock; unlocking first says so
		// to the server even when the close is slow.
		_, _ = c.conn.Exec(ctx, "SELECT pg_advisory_unlock($1)", c.key)
		if c.shared != 0 {
			_, _ = c.conn.Exec(ctx, "SELECT pg_advisory_unlock_shared($1)", c.shared)
		}
		c.conn.Close(ctx)
	})
}

// MarkInterrupted turns syncs left "running" into "interrupted", for the
// entities no live run holds: it marks an entity only while holding its
// lock (this process's own lock, or one taken for the moment), and never
// a sync this process started and has not finished. Empty pipeline or
// entity match all.
func (d *DB) MarkInterrupted(ctx context.Context, pipeline, entity string) (int, error) {
	rows, err := d.pool.Query(ctx, "SELECT DISTINCT pipeline, entity FROM "+d.ident(tableHistory)+
		" WHERE status = $1 AND ($2 = '' OR pipeline = $2) AND ($3 = '' OR entity = $3)", sink.StatusRunning, pipeline, entity)
	if err != nil {
		return 0, fmt.Errorf("finding interrupted syncs: %w", err)
	}
	type pe struct{ p, e string }
	var list []pe
	var x pe
	if _, err := pgx.ForEachRow(rows, []any{&x.p, &x.e}, func() error { list = append(list, x); return nil }); err != nil {
		return 0, fmt.Errorf("finding interrupted syncs: %w", err)
	}
	total := 0
	for _, x := range list {
		n, err := d.markOne(ctx, x.p, x.e)
		if err != nil {
			return total, err
		}
		total += n
	}
	return total, nil
}

func (d *DB) markOne(ctx context.Context, pipeline, entity string) (int, error) {
	key := d.lockKey(pipeline, entity)
	d.mu.Lock()
	held := d.locks[key] > 0
	var live []int64
	for id := range d.live {
		live = append(live, id)
	}
	d.mu.Unlock()
	if !held {
		unlock, err := d.Lock(ctx, pipeline, entity)
		if err != nil {
			if errors.Is(err, sink.ErrLocked) {
				return 0, nil // a live run holds it: its row is really running
			}
			return 0, err
		}
		defer unlock()
	}
	if live == nil {
		live = []int64{}
	}
	tag, err := d.pool.Exec(ctx, "UPDATE "+d.ident(tableHistory)+` SET status = $1, finished_at = now(),
		duration_seconds = extract(epoch FROM now() - started_at),
		errors = errors || '["interrupted: the process ended before the sync finished"]'::jsonb
		WHERE status = $2 AND pipeline = $3 AND entity = $4 AND NOT (id = ANY($5))`,
		sink.StatusInterrupted, sink.StatusRunning, pipeline, entity, live)
	if err != nil {
		return 0, fmt.Errorf("marking interrupted syncs of %s/%s: %w", pipeline, entity, err)
	}
	return int(tag.RowsAffected()), nil
}
