package serve

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/crmsync/crmsync/engine/schedule"
)

// queueName is the River queue every sync job goes to.
const queueName = "crmsync"

// pausedTable holds the operator's pauses, next to River's tables.
const pausedTable = "crmsync_paused"

// SyncArgs are a sync job's arguments: one entity of one pipeline. The
// job is unique by them while it waits or runs.
type SyncArgs struct {
	Pipeline string `json:"pipeline"`
	Entity   string `json:"entity"`
}

// Kind names the job kind in River's tables.
func (SyncArgs) Kind() string { return "crmsync_sync" }

// InsertOpts: one attempt (a failed sync is not retried by River: the
// runner already retried its requests, the failure is in the history,
// and the next tick — stretched by the back-off — is the retry), and at
// most one job per entity pending, waiting or running across every
// replica.
func (SyncArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		Queue:       queueName,
		MaxAttempts: 1,
		UniqueOpts: river.UniqueOpts{
			ByArgs: true,
			ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending,
				rivertype.JobStateScheduled, rivertype.JobStateRunning, rivertype.JobStateRetryable},
		},
	}
}

// PartitionArgs are a partition job's arguments: one partition of a
// partitioned backfill (plan: its id in the destination). Unique by them
// while waiting or running, so each partition runs once at a time
// across every replica; any replica's worker may take it.
type PartitionArgs struct {
	Pipeline  string `json:"pipeline"`
	Entity    string `json:"entity"`
	Plan      string `json:"plan"`
	Partition int    `json:"partition"`
}

// Kind names the job kind in River's tables.
func (PartitionArgs) Kind() string { return "crmsync_partition" }

// InsertOpts: as SyncArgs'. A failed partition is not retried by River:
// the entity's next tick finds the plan unfinished and queues the
// partitions not done again; each continues from its own checkpoint.
func (PartitionArgs) InsertOpts() river.InsertOpts { return SyncArgs{}.InsertOpts() }

// queue is the River client of one serve process, whatever the driver.
type queue interface {
	start(ctx context.Context) error
	stop(ctx context.Context) error
	stopAndCancel(ctx context.Context) error
	periodic() *river.PeriodicJobBundle
	insert(ctx context.Context, args SyncArgs) (*rivertype.JobInsertResult, error)
	insertPartitions(ctx context.Context, args []PartitionArgs) error
	// leader reports whether this client is River's elected leader.
	leader(ctx context.Context) (bool, error)
	counts(ctx context.Context) (map[rivertype.JobState]int, error)
	// heartbeat marks a running job as alive, so that the rescuer frees
	// only the jobs of dead processes.
	heartbeat(ctx context.Context, id int64) error
	id() string
	// setPaused pauses or resumes an entity (entity "": the pipeline;
	// resuming a pipeline resumes its entities too) for every replica.
	setPaused(ctx context.Context, pipeline, entity string, paused bool) error
	paused(ctx context.Context) (pauses, error)
	// ui is riverui's handler and its start.
	ui(log *slog.Logger) (http.Handler, func(context.Context) error, error)
}

type riverQueue[TTx any] struct {
	client *river.Client[TTx]
	driver riverdriver.Driver[TTx]
	schema string
	beat   func(ctx context.Context, id int64) error
	exec   func(ctx context.Context, query string, args ...any) error
	rows   func(ctx context.Context, query string) ([][2]string, error)
	table  string // crmsync_paused, qualified
	ph     func(int) string
}

func (q *riverQueue[TTx]) setPaused(ctx context.Context, p, e string, paused bool) error {
	if paused {
		return q.exec(ctx, "INSERT INTO "+q.table+" (pipeline, entity) VALUES ("+q.ph(1)+", "+q.ph(2)+") ON CONFLICT DO NOTHING", p, e)
	}
	if e == "" {
		return q.exec(ctx, "DELETE FROM "+q.table+" WHERE pipeline = "+q.ph(1), p)
	}
	return q.exec(ctx, "DELETE FROM "+q.table+" WHERE pipeline = "+q.ph(1)+" AND entity = "+q.ph(2), p, e)
}

func (q *riverQueue[TTx]) paused(ctx context.Context) (pauses, error) {
	rows, err := q.rows(ctx, "SELECT pipeline, entity FROM "+q.table)
	if err != nil {
		return nil, err
	}
	set := pauses{}
	for _, r := range rows {
		set[jobKey{r[0], r[1]}] = true
	}
	return set, nil
}

func (q *riverQueue[TTx]) start(ctx context.Context) error { return q.client.Start(ctx) }
func (q *riverQueue[TTx]) stop(ctx context.Context) error  { return q.client.Stop(ctx) }
func (q *riverQueue[TTx]) stopAndCancel(ctx context.Context) error {
	return q.client.StopAndCancel(ctx)
}
func (q *riverQueue[TTx]) periodic() *river.PeriodicJobBundle { return q.client.PeriodicJobs() }
func (q *riverQueue[TTx]) id() string                         { return q.client.ID() }
func (q *riverQueue[TTx]) heartbeat(ctx context.Context, id int64) error {
	return q.beat(ctx, id)
}

func (q *riverQueue[TTx]) insert(ctx context.Context, args SyncArgs) (*rivertype.JobInsertResult, error) {
	return q.client.Insert(ctx, args, nil)
}

func (q *riverQueue[TTx]) insertPartitions(ctx context.Context, args []PartitionArgs) error {
	params := make([]river.InsertManyParams, len(args))
	for i, a := range args {
		params[i] = river.InsertManyParams{Args: a}
	}
	_, err := q.client.InsertMany(ctx, params)
	return err
}

func (q *riverQueue[TTx]) leader(ctx context.Context) (bool, error) {
	l, err := q.driver.GetExecutor().LeaderGetElectedLeader(ctx, &riverdriver.LeaderGetElectedLeaderParams{Schema: q.schema})
	if errors.Is(err, rivertype.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return l.LeaderID == q.client.ID(), nil
}

func (q *riverQueue[TTx]) counts(ctx context.Context) (map[rivertype.JobState]int, error) {
	return q.driver.GetExecutor().JobCountByAllStates(ctx, &riverdriver.JobCountByAllStatesParams{Schema: q.schema})
}

// pgxDestination is a PostgreSQL destination (engine/sink/postgres.DB).
type pgxDestination interface {
	Pool() *pgxpool.Pool
	Schema() string
}

// sqlDestination is a SQLite destination (engine/sink/sqlite.DB).
type sqlDestination interface {
	Writer() *sql.DB
}

// OpenQueue creates River's tables in the destination when missing (its
// own migrator, one process at a time) and makes the River client that
// Run then uses: River's elected leader inserts each entity's sync job on
// its schedule and any replica's worker runs it. Without OpenQueue, Run
// keeps the process's own clock (each replica ticks on its own; the
// destination's claim only prevents overlap).
func (s *Scheduler) OpenQueue(ctx context.Context) error {
	cfg := s.riverConfig()
	switch d := s.o.Dest.(type) {
	case pgxDestination:
		pool, schema := d.Pool(), d.Schema()
		drv := riverpgxv5.New(pool)
		if err := migratePG(ctx, pool, drv, schema, cfg.Logger); err != nil {
			return err
		}
		cfg.Schema = schema
		c, err := river.NewClient(drv, cfg)
		if err != nil {
			return fmt.Errorf("job queue: %w", err)
		}
		table := pgx.Identifier{schema, "river_job"}.Sanitize()
		s.q = &riverQueue[pgx.Tx]{client: c, driver: drv, schema: schema, beat: func(ctx context.Context, id int64) error {
			_, err := pool.Exec(ctx, "UPDATE "+table+" SET attempted_at = now() WHERE id = $1 AND state = 'running'", id)
			return err
		},
			table: pgx.Identifier{schema, pausedTable}.Sanitize(),
			ph:    func(i int) string { return fmt.Sprintf("$%d", i) },
			exec: func(ctx context.Context, q string, args ...any) error {
				_, err := pool.Exec(ctx, q, args...)
				return err
			},
			rows: func(ctx context.Context, q string) ([][2]string, error) {
				rows, err := pool.Query(ctx, q)
				if err != nil {
					return nil, err
				}
				return pgx.CollectRows(rows, func(r pgx.CollectableRow) ([2]string, error) {
					var v [2]string
					err := r.Scan(&v[0], &v[1])
					return v, err
				})
			}}
	case sqlDestination:
		db := d.Writer()
		drv := riversqlite.New(db)
		if err := migrateSQLite(ctx, db, drv, cfg.Logger); err != nil {
			return err
		}
		c, err := river.NewClient(drv, cfg)
		if err != nil {
			return fmt.Errorf("job queue: %w", err)
		}
		s.q = &riverQueue[*sql.Tx]{client: c, driver: drv, beat: func(ctx context.Context, id int64) error {
			_, err := db.ExecContext(ctx, "UPDATE river_job SET attempted_at = datetime('now', 'subsec') WHERE id = ? AND state = 'running'", id)
			return err
		},
			table: pausedTable,
			ph:    func(int) string { return "?" },
			exec: func(ctx context.Context, q string, args ...any) error {
				_, err := db.ExecContext(ctx, q, args...)
				return err
			},
			rows: func(ctx context.Context, q string) ([][2]string, error) {
				rows, err := db.QueryContext(ctx, q)
				if err != nil {
					return nil, err
				}
				defer rows.Close()
				var out [][2]string
				for rows.Next() {
					var v [2]string
					if err := rows.Scan(&v[0], &v[1]); err != nil {
						return nil, err
					}
					out = append(out, v)
				}
				return out, rows.Err()
			}}
	default:
		return fmt.Errorf("job queue: the destination %T cannot hold River's tables", s.o.Dest)
	}
	return nil
}

func (s *Scheduler) riverConfig() *river.Config {
	workers := river.NewWorkers()
	river.AddWorker(workers, &syncWorker{s: s})
	river.AddWorker(workers, &partitionWorker{s: s})
	host, _ := os.Hostname()
	var b [4]byte
	for i := range b {
		b[i] = byte(rand.N(256))
	}
	return &river.Config{
		ID:                   fmt.Sprintf("crmsync-%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:])),
		Logger:               slog.New(minLevel{slog.LevelWarn, s.log.Handler()}),
		Queues:               map[string]river.QueueConfig{queueName: {MaxWorkers: s.o.MaxConcurrent}},
		Workers:              workers,
		MaxAttempts:          1,
		JobTimeout:           -1, // see syncWorker.Timeout
		RescueStuckJobsAfter: s.o.StuckAfter,
		FetchPollInterval:    500 * time.Millisecond,
	}
}

func migratePG(ctx context.Context, pool *pgxpool.Pool, drv *riverpgxv5.Driver, schema string, log *slog.Logger) error {
	m, err := rivermigrate.New(drv, &rivermigrate.Config{Schema: schema, Logger: log})
	if err != nil {
		return fmt.Errorf("job queue: %w", err)
	}
	// Replicas start together: one migrates, the others wait for its
	// session lock and find nothing left to do. (Not one transaction:
	// River's migrations add enum values, which PostgreSQL lets a
	// transaction use only after they commit.)
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("job queue: migrating River's tables: %w", err)
	}
	defer conn.Release()
	key := "crmsync river migrate " + schema
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock(hashtextextended($1, 0))", key); err != nil {
		return fmt.Errorf("job queue: migrating River's tables: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(hashtextextended($1, 0))", key)
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("job queue: migrating River's tables in schema %q: %w", schema, err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE IF NOT EXISTS "+pgx.Identifier{schema, pausedTable}.Sanitize()+
		" (pipeline text NOT NULL, entity text NOT NULL, paused_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (pipeline, entity))"); err != nil {
		return fmt.Errorf("job queue: creating %s: %w", pausedTable, err)
	}
	return nil
}

func migrateSQLite(ctx context.Context, db *sql.DB, drv *riversqlite.Driver, log *slog.Logger) error {
	m, err := rivermigrate.New(drv, &rivermigrate.Config{Logger: log})
	if err != nil {
		return fmt.Errorf("job queue: %w", err)
	}
	tx, err := db.BeginTx(ctx, nil) // BEGIN IMMEDIATE: one migrator at a time
	if err != nil {
		return fmt.Errorf("job queue: migrating River's tables: %w", err)
	}
	defer tx.Rollback()
	if _, err := m.MigrateTx(ctx, tx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("job queue: migrating River's tables: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "CREATE TABLE IF NOT EXISTS "+pausedTable+
		" (pipeline TEXT NOT NULL, entity TEXT NOT NULL, paused_at TEXT NOT NULL DEFAULT (datetime('now')), PRIMARY KEY (pipeline, entity))"); err != nil {
		return fmt.Errorf("job queue: creating %s: %w", pausedTable, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("job queue: migrating River's tables: %w", err)
	}
	return nil
}

// syncWorker runs a sync job through the same path as the process's own
// clock does.
type syncWorker struct {
	river.WorkerDefaults[SyncArgs]
	s *Scheduler
}

// Timeout is StuckAfter, and only for River's rescuer: it frees a
// running job whose attempt is older than that, and the worker's
// heartbeat keeps a live sync's attempt young, so only the jobs of dead
// processes are freed. The deadline River puts on the job's context is
// ignored (Work runs the sync on a context River cancels only when
// stopping): a sync takes as long as it takes, the runner has its own
// timeouts.
func (w *syncWorker) Timeout(*river.Job[SyncArgs]) time.Duration { return w.s.o.StuckAfter }

func (w *syncWorker) Work(ctx context.Context, job *river.Job[SyncArgs]) error {
	runCtx, done := w.s.jobContext(ctx, job.ID, job.Args.Pipeline, job.Args.Entity)
	defer done()
	w.s.work(runCtx, jobKey{job.Args.Pipeline, job.Args.Entity})
	return nil
}

// jobContext is the context a job's sync runs on: the scheduler's, ended
// by River's StopAndCancel (not by its deadline, see Timeout), with the
// job's heartbeat going while it runs.
func (s *Scheduler) jobContext(ctx context.Context, id int64, pipeline, entity string) (context.Context, func()) {
	hbCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	if s.q != nil && s.o.StuckAfter > 0 {
		go func() {
			t := time.NewTicker(s.o.StuckAfter / 4)
			defer t.Stop()
			for {
				select {
				case <-hbCtx.Done():
					return
				case <-t.C:
					c, cancel := context.WithTimeout(hbCtx, 5*time.Second)
					if err := s.q.heartbeat(c, id); err != nil && hbCtx.Err() == nil {
						s.log.Warn("job queue: heartbeat of a running sync failed: "+err.Error(), "pipeline", pipeline, "entity", entity)
					}
					cancel()
				}
			}
		}()
	}
	runCtx, cancel := context.WithCancel(s.runCtx)
	go func() {
		select {
		case <-ctx.Done():
			if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
				cancel() // StopAndCancel
			}
		case <-runCtx.Done():
		}
	}()
	return runCtx, func() { cancel(); stop() }
}

// partitionWorker runs one partition of a partitioned backfill, on the
// entity's current plan, under the partition's own claim.
type partitionWorker struct {
	river.WorkerDefaults[PartitionArgs]
	s *Scheduler
}

func (w *partitionWorker) Timeout(*river.Job[PartitionArgs]) time.Duration { return w.s.o.StuckAfter }

func (w *partitionWorker) Work(ctx context.Context, job *river.Job[PartitionArgs]) error {
	a := job.Args
	runCtx, done := w.s.jobContext(ctx, job.ID, a.Pipeline, a.Entity)
	defer done()
	w.s.workPartition(runCtx, a)
	return nil
}

// periodicID is an entity's periodic job id (River allows a limited
// alphabet; other names are hashed).
func periodicID(k jobKey) string {
	id := "crmsync:" + k.pipeline + "/" + k.entity
	if len(id) < 128 && periodicIDRE.MatchString(id) {
		return id
	}
	sum := sha256.Sum256([]byte(k.pipeline + "\x00" + k.entity))
	return "crmsync:" + hex.EncodeToString(sum[:16])
}

var periodicIDRE = regexp.MustCompile(`\A[\w][\w\-\[\]<>\/.·:+]+\z`)

// riverSchedule is an entity's schedule with the same jitter as the
// process's own clock adds.
type riverSchedule struct{ j *job }

func (r riverSchedule) Next(t time.Time) time.Time {
	return r.j.sched.Next(t).Add(r.j.jitter(t))
}

// syncPeriodic makes River's periodic jobs match the loaded schedules:
// added for a new entity, replaced when the schedule text changed,
// removed when the entity or file is gone.
func (s *Scheduler) syncPeriodic() {
	if s.q == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.periodics == nil {
		s.periodics = map[jobKey]string{}
	}
	b := s.q.periodic()
	for k, text := range s.periodics {
		if j := s.jobs[k]; j == nil || j.removed || j.sched == nil || j.schedText != text {
			b.RemoveByID(periodicID(k))
			delete(s.periodics, k)
		}
	}
	for k, j := range s.jobs {
		if j.removed || j.sched == nil {
			continue
		}
		if _, ok := s.periodics[k]; ok {
			continue
		}
		sj := &job{sched: j.sched, schedText: j.schedText}
		args := SyncArgs{Pipeline: k.pipeline, Entity: k.entity}
		_, err := b.AddSafely(river.NewPeriodicJob(riverSchedule{sj}, func() (river.JobArgs, *river.InsertOpts) {
			return args, nil
		}, &river.PeriodicJobOpts{ID: periodicID(k), RunOnStart: isInterval(j.schedText)}))
		if err != nil {
			s.log.Error("job queue: scheduling "+k.pipeline+" "+k.entity+": "+err.Error(), "pipeline", k.pipeline, "entity", k.entity)
			continue
		}
		s.periodics[k] = j.schedText
	}
}

// minLevel drops River's records below a level: its info lines are
// about its own machinery.
type minLevel struct {
	min slog.Level
	h   slog.Handler
}

func (m minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= m.min && m.h.Enabled(ctx, l)
}
func (m minLevel) Handle(ctx context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "Job appears to be stuck") || strings.Contains(r.Message, "Job became unstuck") {
		return nil // a sync past its Timeout: expected, see syncWorker.Timeout
	}
	return m.h.Handle(ctx, r)
}
func (m minLevel) WithAttrs(a []slog.Attr) slog.Handler { return minLevel{m.min, m.h.WithAttrs(a)} }
func (m minLevel) WithGroup(n string) slog.Handler      { return minLevel{m.min, m.h.WithGroup(n)} }

var _ schedule.Schedule = riverSchedule{}
