package runner_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	mysqldrv "github.com/go-sql-driver/mysql"

	"github.com/crmsync/crmsync/engine/pipeline"
	"github.com/crmsync/crmsync/engine/runner"
	"github.com/crmsync/crmsync/engine/sink"
	_ "github.com/crmsync/crmsync/engine/source/sqlsrc"
)

// mariaDB makes a database of the test's own on MariaDB and returns its
// DSN and a connection to it.
func mariaDB(t *testing.T) (string, *sql.DB) {
	t.Helper()
	skipWithout(t, "CRMSYNC_MYSQL_DSN")
	base := os.Getenv("CRMSYNC_MYSQL_DSN")
	if base == "" {
		base = "root@tcp(127.0.0.1:3306)/test"
	}
	cfg, err := mysqldrv.ParseDSN(base)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("crmsync_part_%08x", rand.Uint32())
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Exec("DROP DATABASE " + name); admin.Close() })
	cfg.DBName = name
	db, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return cfg.FormatDSN(), db
}

// skewedKeys are ids with gaps and skew: a dense run, a few far apart,
// and a long run of large sparse keys, so that min/max ranges would be
// far from equal.
func skewedKeys() []int64 {
	var ids []int64
	for i := int64(1); i <= 1200; i++ {
		ids = append(ids, i)
	}
	for i := int64(0); i < 30; i++ {
		ids = append(ids, 50_000+i*997)
	}
	for i := int64(0); i < 770; i++ {
		ids = append(ids, 9_000_000_000+i*13)
	}
	return ids
}

func fillJobs(t *testing.T, db *sql.DB, ids []int64) {
	t.Helper()
	if _, err := db.Exec("CREATE TABLE job (id bigint NOT NULL PRIMARY KEY, name varchar(40), updated_at datetime)"); err != nil {
		t.Fatal(err)
	}
	base := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	var vals []string
	for i, id := range ids {
		vals = append(vals, fmt.Sprintf("(%d, 'job %d', '%s')", id, id, base.Add(time.Duration(i%977)*time.Minute).Format("2006-01-02 15:04:05")))
	}
	if _, err := db.Exec("INSERT INTO job VALUES " + strings.Join(vals, ",")); err != nil {
		t.Fatal(err)
	}
}

func partitionPlan(t *testing.T, dsn, partitions string) *pipeline.Plan {
	t.Helper()
	src := fmt.Sprintf(`version: 1
name: part
source: {type: sql, driver: mysql, dsn: %q}
entities:
  job:
    from: job
    primary_key: [id]
    batch_size: 50
    %s
    incremental: {field: updated_at}
    fields:
      id: {type: integer}
      name: {type: text}
      updated_at: {type: datetime}
`, dsn, partitions)
	plan, f := pipeline.Load("part.yaml", []byte(src), pipeline.Options{})
	if plan == nil {
		t.Fatal(f)
	}
	return plan
}

// landed checks the table holds every id exactly once.
func landed(t *testing.T, pg *sql.DB, ids []int64) {
	t.Helper()
	var n, distinct int64
	var sum, want float64
	if err := pg.QueryRow("SELECT count(*), count(DISTINCT id), coalesce(sum(id::float8), 0) FROM part_job").Scan(&n, &distinct, &sum); err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		want += float64(id)
	}
	if n != int64(len(ids)) || distinct != n || sum != want {
		t.Errorf("table holds %d rows (%d distinct, id sum %.0f), want %d (id sum %.0f)", n, distinct, sum, len(ids), want)
	}
}

func stateRows(t *testing.T, pg *sql.DB) map[string][2]string {
	t.Helper()
	rows, err := pg.Query("SELECT entity, watermark, resume FROM crmsync_state WHERE pipeline = 'part'")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][2]string{}
	for rows.Next() {
		var e, w, r string
		if err := rows.Scan(&e, &w, &r); err != nil {
			t.Fatal(err)
		}
		out[e] = [2]string{w, r}
	}
	return out
}

// TestPartitionedBackfillExactlyOnce: a MariaDB table with gaps and
// skewed keys, split into N partitions of equal row counts, lands every
// row once; one history row per partition, their counts add up; the
// watermark is the newest increment; the plan and partition checkpoints
// are gone afterwards.
func TestPartitionedBackfillExactlyOnce(t *testing.T) {
	dsn, my := mariaDB(t)
	ids := skewedKeys()
	fillJobs(t, my, ids)
	for _, c := range []struct {
		name     string
		setting  string
		parts    int
		parallel int
	}{
		{"partitions 4", "partitions: 4", 4, 4},
		{"partitions 3 on 2 goroutines", "partitions: 3", 3, 2},
		{"partition_rows 1000", "partition_rows: 1000", 2, 0},
		{"one partition", "partitions: 1", 1, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			dest, pg := openPostgres(t)
			plan := partitionPlan(t, dsn, c.setting)
			r := runner.Sync(context.Background(), plan, plan.Entities[0], runner.Options{Dest: dest, Logger: quiet(), Parallel: c.parallel})
			if r.Err != nil || r.Status != sink.StatusSuccess {
				t.Fatalf("sync: %s %v", r.Status, r.Err)
			}
			if r.Created != int64(len(ids)) || r.Processed != int64(len(ids)) {
				t.Errorf("result: created %d processed %d, want %d", r.Created, r.Processed, len(ids))
			}
			landed(t, pg, ids)
			hist, err := dest.History(context.Background(), sink.Filter{Pipeline: "part", Entity: "job"})
			if err != nil {
				t.Fatal(err)
			}
			if len(hist) != c.parts {
				t.Fatalf("%d history rows, want one per partition (%d)", len(hist), c.parts)
			}
			var created int64
			for _, h := range hist {
				created += h.Created
				// Boundaries at equal row counts: skew does not matter.
				if share := len(ids) / c.parts; h.Created < int64(share-1) || h.Created > int64(share+c.parts) {
					t.Errorf("partition created %d rows, want about %d (equal shares)", h.Created, share)
				}
			}
			if created != int64(len(ids)) {
				t.Errorf("history created adds up to %d, want %d", created, len(ids))
			}
			st := stateRows(t, pg)
			if len(st) != 1 || st["job"][0] == "" {
				t.Errorf("state after the backfill: %v, want only job's checkpoint with a watermark", st)
			}
			var newest string
			my.QueryRow("SELECT DATE_FORMAT(max(updated_at), '%Y-%m-%dT%H:%i:%s') FROM job").Scan(&newest)
			if got := st["job"][0]; newest == "" || !strings.HasPrefix(got, newest) {
				t.Errorf("watermark %q, want the newest updated_at %s", got, newest)
			}
			// The next run is incremental: one stream, no partitions.
			r = runner.Sync(context.Background(), plan, plan.Entities[0], runner.Options{Dest: dest, Logger: quiet()})
			if r.Err != nil || r.Created != 0 {
				t.Fatalf("incremental run: created %d, %v", r.Created, r.Err)
			}
			if hist, _ = dest.History(context.Background(), sink.Filter{Pipeline: "part", Entity: "job"}); len(hist) != c.parts+1 {
				t.Errorf("%d history rows after an incremental run, want %d", len(hist), c.parts+1)
			}
		})
	}
}

// TestPartitionedBackfillResumes: a backfill cancelled mid-way leaves
// the watermark unset and each partition's own position; the next run
// continues each partition from there (reading fewer rows than a
// restart) and ends exact.
func TestPartitionedBackfillResumes(t *testing.T) {
	dsn, my := mariaDB(t)
	ids := skewedKeys()
	fillJobs(t, my, ids)
	dest, pg := openPostgres(t)
	plan := partitionPlan(t, dsn, "partitions: 4")
	ctx, cancel := context.WithCancel(context.Background())
	stop := make(chan struct{})
	go func() {
		defer cancel()
		for {
			var n int
			pg.QueryRow("SELECT count(*) FROM part_job").Scan(&n)
			if n >= len(ids)/3 {
				return
			}
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	r := runner.Sync(ctx, plan, plan.Entities[0], runner.Options{Dest: dest, Logger: quiet(), Parallel: 4})
	close(stop)
	var first int
	pg.QueryRow("SELECT count(*) FROM part_job").Scan(&first)
	if r.Err == nil || first >= len(ids) {
		t.Skipf("the backfill ended (%d rows) before the cancel reached it; nothing to resume", first)
	}
	st := stateRows(t, pg)
	if st["job"][0] != "" {
		t.Errorf("watermark %q after an unfinished backfill, want none", st["job"][0])
	}
	if _, ok := st["job#plan"]; !ok {
		t.Errorf("no stored plan after an unfinished backfill: %v", st)
	}
	// Some partition committed: a position in its range, or its end.
	kept := 0
	for k, v := range st {
		if strings.HasPrefix(k, "job#p") && k != "job#plan" && (strings.Contains(v[1], `"resume"`) || strings.Contains(v[1], `"done":true`)) {
			kept++
		}
	}
	if kept == 0 {
		t.Errorf("no partition stored its progress: %v", st)
	}

	r = runner.Sync(context.Background(), plan, plan.Entities[0], runner.Options{Dest: dest, Logger: quiet(), Parallel: 4})
	if r.Err != nil {
		t.Fatalf("resumed backfill: %v", r.Err)
	}
	if r.Processed >= int64(len(ids)) {
		t.Errorf("the resumed backfill read %d rows: it started over instead of continuing (%d were committed)", r.Processed, first)
	}
	landed(t, pg, ids)
	hist, _ := dest.History(context.Background(), sink.Filter{Pipeline: "part", Entity: "job"})
	var created int64
	for _, h := range hist {
		created += h.Created
		if h.Status == sink.StatusRunning {
			t.Errorf("sync %d still running", h.ID)
		}
	}
	if created != int64(len(ids)) {
		t.Errorf("created over all syncs %d, want the %d rows of the table", created, len(ids))
	}
	if st := stateRows(t, pg); len(st) != 1 || st["job"][0] == "" {
		t.Errorf("state after the resumed backfill: %v", st)
	}
}

// TestPartitionClaims: partitions of one entity are claimed together;
// an ordinary claim of the entity is refused meanwhile, a partition is
// refused while an ordinary claim is held, and an ordinary claim fences
// out a partition claimed before it.
func TestPartitionClaims(t *testing.T) {
	dest, _ := openPostgres(t)
	ctx := context.Background()
	pd := dest.(sink.Partitioned)
	a, err := pd.LockPartition(ctx, "part", "job", "p0", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := pd.LockPartition(ctx, "part", "job", "p1", nil)
	if err != nil {
		t.Fatalf("a second partition: %v", err)
	}
	if _, err := pd.LockPartition(ctx, "part", "job", "p1", nil); !errors.Is(err, sink.ErrLocked) {
		t.Errorf("the same partition twice: %v, want ErrLocked", err)
	}
	if _, err := dest.Lock(ctx, "part", "job"); !errors.Is(err, sink.ErrLocked) {
		t.Errorf("an ordinary claim while partitions run: %v, want ErrLocked", err)
	}
	a.Unlock()
	b.Unlock()
	c, err := pd.LockPartition(ctx, "part", "job", "p0", nil)
	if err != nil {
		t.Fatal(err)
	}
	old := sink.Fence{Pipeline: "part", Entity: sink.PartitionKey("job", "p0"), Epoch: c.Epoch()}
	c.Unlock()
	unlock, err := dest.Lock(ctx, "part", "job")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pd.LockPartition(ctx, "part", "job", "p2", nil); !errors.Is(err, sink.ErrLocked) {
		t.Errorf("a partition while an ordinary claim is held: %v, want ErrLocked", err)
	}
	_, err = pd.FinishPartitions(ctx, "part", "job", []string{"job#p0"}, old, func(map[string]sink.Checkpoint) (sink.Checkpoint, bool) {
		return sink.Checkpoint{Watermark: "x"}, true
	})
	if !errors.Is(err, sink.ErrClaimLost) {
		t.Errorf("a partition's commit after an ordinary claim: %v, want ErrClaimLost", err)
	}
	unlock()
}

// TestPartitionsCompileErrors: what partitions are not built for says so.
func TestPartitionsCompileErrors(t *testing.T) {
	for _, c := range []struct{ name, src, want string }{
		{"file", `version: 1
name: p
source: {type: file, path: /srv/x/*.csv, format: csv}
entities:
  e:
    primary_key: [id]
    partitions: 4
    fields: {id: {type: integer}}
`, "partitions of file sources are not built"},
		{"replace", `version: 1
name: p
source: {type: sql, driver: mysql, dsn: "root@tcp(127.0.0.1:3306)/test"}
entities:
  e:
    from: job
    write: replace
    primary_key: [id]
    partitions: 4
    fields: {id: {type: integer}}
`, "partitions need write: upsert"},
		{"two keys", `version: 1
name: p
source: {type: sql, driver: mysql, dsn: "root@tcp(127.0.0.1:3306)/test"}
entities:
  e:
    from: job
    primary_key: [id, k]
    partitions: 4
    fields: {id: {type: integer}, k: {type: integer}}
`, "primary key of one column"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, f := pipeline.Load(c.name+".yaml", []byte(c.src), pipeline.Options{})
			if f == nil || !strings.Contains(f.Error(), c.want) {
				t.Errorf("got %v, want an error containing %q", f, c.want)
			}
		})
	}
}

// TestPartitionsFlag: run --partitions N partitions the entities that
// can be (sql, upsert, one key column) and leaves the others one stream.
func TestPartitionsFlag(t *testing.T) {
	src := `version: 1
name: p
source: {type: sql, driver: mysql, dsn: "${env:P_DSN:-root@tcp(127.0.0.1:3306)/test}"}
entities:
  one:
    from: job
    primary_key: [id]
    fields: {id: {type: integer}}
  two:
    from: job
    primary_key: [id, k]
    fields: {id: {type: integer}, k: {type: integer}}
  appended:
    from: job
    write: append
    fields: {id: {type: integer}}
`
	plan, f := pipeline.Load("p.yaml", []byte(src), pipeline.Options{Partitions: 3})
	if plan == nil || f.HasErrors() {
		t.Fatal(f)
	}
	for name, want := range map[string]int{"one": 3, "two": 0, "appended": 0} {
		if got := plan.Entity(name).Partitions; got != want {
			t.Errorf("%s: %d partitions, want %d", name, got, want)
		}
	}
}
