package main

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	mysqldrv "github.com/go-sql-driver/mysql"
)

// TestPartitionedBackfillSurvivesKills kills `crmsync run` (SIGKILL)
// during a partitioned backfill of a MariaDB table with skewed keys, at
// a quarter, a half and three quarters of the rows: the watermark stays
// unset while partitions are unfinished, each partition continues from
// its own position, and the run to completion leaves every row once,
// the watermark at the newest row, and no history row left "running".
func TestPartitionedBackfillSurvivesKills(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills processes")
	}
	skipWithout(t, "CRMSYNC_MYSQL_DSN")
	bin := buildBinary(t)
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
	name := fmt.Sprintf("crmsync_pkill_%08x", rand.Uint32())
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Exec("DROP DATABASE " + name); admin.Close() })
	const n = 40000
	for _, q := range []string{
		"CREATE TABLE " + name + ".job (id bigint PRIMARY KEY, name varchar(40), updated_at datetime)",
		fmt.Sprintf("INSERT INTO %s.job SELECT IF(seq > 30000, seq * 977, seq), CONCAT('job ', seq), '2024-01-01' + INTERVAL (seq %% 20000) SECOND FROM seq_1_to_%d", name, n),
	} {
		if _, err := admin.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	cfg.DBName = name
	dir := t.TempDir()
	file := filepath.Join(dir, "part.yaml")
	os.WriteFile(file, []byte(fmt.Sprintf(`version: 1
name: part
source: {type: sql, driver: mysql, dsn: "${env:PART_DSN}"}
entities:
  job:
    from: job
    primary_key: [id]
    batch_size: 100
    partitions: 4
    incremental: {field: updated_at}
    fields:
      id: {type: integer}
      name: {type: text}
      updated_at: {type: datetime}
`)), 0o644)
	dsn := pgSchemaDSN(t)
	pg, err := sql.Open("pgx", strings.Replace(dsn, "&schema=", "&search_path=", 1))
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	count := func() int {
		var c int
		pg.QueryRow("SELECT count(*) FROM part_job").Scan(&c)
		return c
	}
	env := append(os.Environ(), "PART_DSN="+cfg.FormatDSN())
	killed := 0
	for _, at := range []int{n / 4, n / 2, 3 * n / 4} {
		cmd := exec.Command(bin, "run", "--quiet", "--dest", dsn, file)
		cmd.Env = env
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { cmd.Wait(); close(exited) }()
	wait:
		for count() < at {
			select {
			case <-exited:
				break wait
			case <-time.After(5 * time.Millisecond):
			}
		}
		if cmd.Process.Signal(syscall.SIGKILL) == nil {
			killed++
		}
		<-exited
		var wm string
		pg.QueryRow("SELECT watermark FROM crmsync_state WHERE entity = 'job'").Scan(&wm)
		if got := count(); got < n && wm != "" {
			t.Errorf("after a kill at %d rows (%d landed): watermark %q, want none until every partition committed", at, got, wm)
		}
	}
	if killed == 0 {
		t.Fatal("no run was killed")
	}
	cmd := exec.Command(bin, "run", "--dest", dsn, file)
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("final run: %v\n%s", err, out)
	}
	var rows, distinct int
	pg.QueryRow("SELECT count(*), count(DISTINCT id) FROM part_job").Scan(&rows, &distinct)
	if rows != n || distinct != n {
		t.Errorf("%d rows (%d distinct), want %d", rows, distinct, n)
	}
	var wm string
	pg.QueryRow("SELECT watermark FROM crmsync_state WHERE entity = 'job'").Scan(&wm)
	if want := "2024-01-01T05:33:19Z"; wm != want {
		t.Errorf("watermark %q, want %q (the newest updated_at)", wm, want)
	}
	var left, running, interrupted int
	var created int64
	pg.QueryRow("SELECT count(*) FROM crmsync_state WHERE entity LIKE 'job#%'").Scan(&left)
	pg.QueryRow("SELECT count(*) FILTER (WHERE status = 'running'), count(*) FILTER (WHERE status = 'interrupted'), coalesce(sum(created), 0) FROM crmsync_sync_history").Scan(&running, &interrupted, &created)
	if left != 0 || running != 0 {
		t.Errorf("%d partition checkpoints and %d running syncs left", left, running)
	}
	if interrupted == 0 {
		t.Errorf("no sync is marked interrupted after %d kills", killed)
	}
	if created != n {
		t.Errorf("created over all syncs %d, want the %d rows of the table", created, n)
	}
}
