// Command bench measures whole crmsync processes beside reference
// programs in one run and prints one table of the ratios (make bench).
//
// It builds bin/crmsync and itself (bin/crmsync-bench, whose subcommands
// limit, copy and staged are the references; see ref.go), writes
// CRMSYNC_BENCH_ROWS (default 1,000,000) HubSpot-style contacts as JSON
// lines (batches of CRMSYNC_BENCH_BATCH, default 5,000, on both sides), and times each step as a child process: wall time, CPU (user +
// sys from rusage) and peak RSS (rusage maxrss) of that process alone,
// and, when PostgreSQL runs on this machine, the server's CPU meanwhile
// (from /proc: the postmaster, its live and its exited children; other
// users' queries included).
//
//	record path   crmsync run --dry-run        vs limit -workers 1 and -workers 2
//	fresh load    crmsync run into a new db    vs copy (pgx CopyFrom, binary-typed values)
//	unchanged     crmsync run --full again     vs staged -mode unchanged
//	all changed   crmsync run --full, changed  vs staged -mode changed
//
// Each step has databases of its own (CRMSYNC_PG_DSN's server), created
// and dropped by the step; rerun steps load the rows first, untimed.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/tidwall/gjson"
)

func main() {
	if len(os.Args) > 1 {
		refs := map[string]func([]string) error{"limit": refLimit, "copy": refCopy, "staged": refStaged, "gen": refGen}
		if f, ok := refs[os.Args[1]]; ok {
			if err := f(os.Args[2:]); err != nil {
				fmt.Fprintln(os.Stderr, "crmsync-bench "+os.Args[1]+":", err)
				os.Exit(1)
			}
			return
		}
		fmt.Fprintln(os.Stderr, "usage: bench [limit|copy|staged|gen ...]; with no arguments, the whole comparison")
		os.Exit(2)
	}
	if err := drive(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

const pipelineYAML = `version: 1
name: bench
source: {type: file, path: contacts.jsonl, format: jsonl}
entities:
  contacts:
    primary_key: id
    batch_size: 5000
    fields:
      id: {path: id, type: integer}
      email: properties.email
      first_name: properties.firstname
      last_name: properties.lastname
      phone: properties.phone
      state: properties.state
      zip: properties.zip
      lifecycle: properties.lifecyclestage
      amount: {path: properties.amount, type: decimal}
      updated_at: {path: updatedAt, type: datetime}
      full_name: {expr: 'trim(concat(first_name, " ", last_name))'}
      domain: {expr: 'email_domain(email)'}
      stage: {expr: 'upper(lifecycle)'}
`

// usage is one measured process.
type usage struct {
	wall, cpu time.Duration
	server    time.Duration // PostgreSQL's CPU meanwhile (all its processes), -1 if unknown
	rssMiB    float64
	out       string
}

// postmaster is the PID of the PostgreSQL server when it runs on this
// machine and /proc shows it, else 0.
var postmaster int

// findPostmaster asks a backend its PID and reads its parent from /proc.
func findPostmaster(dsn string) int {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return 0
	}
	defer conn.Close(ctx)
	var pid int
	if err := conn.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		return 0
	}
	f := procStat(pid)
	if f == nil {
		return 0
	}
	ppid, _ := strconv.Atoi(f[1])
	return ppid
}

// procStat is the fields of /proc/PID/stat after the command name
// (field 3, the state, first), or nil.
func procStat(pid int) []string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(b[i+1:]))
}

// serverCPU is the CPU time of the PostgreSQL server so far: the
// postmaster's own and its reaped children's (exited backends), and every
// live child's. Other users' work on the same server is in it too.
func serverCPU() time.Duration {
	if postmaster == 0 {
		return -1
	}
	const tick = 10 * time.Millisecond // USER_HZ is 100 on Linux
	sum := func(f []string, from, to int) (n int64) {
		for i := from; i <= to && i < len(f); i++ {
			v, _ := strconv.ParseInt(f[i], 10, 64)
			n += v
		}
		return n
	}
	f := procStat(postmaster)
	if f == nil {
		return -1
	}
	total := sum(f, 11, 14) // utime, stime, cutime, cstime (fields 14-17)
	entries, _ := os.ReadDir("/proc")
	pm := strconv.Itoa(postmaster)
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if c := procStat(pid); len(c) > 14 && c[1] == pm {
			total += sum(c, 11, 12)
		}
	}
	return time.Duration(total) * tick
}

func measure(name string, args ...string) (usage, error) {
	cmd := exec.Command(name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	server := serverCPU()
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if after := serverCPU(); server >= 0 && after >= 0 {
		server = after - server
	} else {
		server = -1
	}
	if err != nil {
		return usage{}, fmt.Errorf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out.String(), errb.String())
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	return usage{wall: wall, cpu: cpu, server: server, rssMiB: float64(ru.Maxrss) / 1024, out: out.String()}, nil
}

// generate writes n contacts; changed gives every row other values
// (last name, amount, updatedAt) with the same ids.
// refGen (gen [-changed] N FILE) writes the contacts a run measures and
// the bench pipeline beside them (DIR/bench.yaml), to time one step
// alone, alternating binaries: crmsync run --dry-run DIR/bench.yaml.
func refGen(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ExitOnError)
	changed := fs.Bool("changed", false, "the changed variant of every contact")
	fs.Parse(args)
	if fs.NArg() != 2 {
		return fmt.Errorf("want N FILE")
	}
	n, err := strconv.Atoi(fs.Arg(0))
	if err != nil || n <= 0 {
		return fmt.Errorf("N %q: want a positive number", fs.Arg(0))
	}
	path := fs.Arg(1)
	if err := os.WriteFile(filepath.Join(filepath.Dir(path), "bench.yaml"), []byte(strings.Replace(pipelineYAML, "contacts.jsonl", filepath.Base(path), 1)), 0o644); err != nil {
		return err
	}
	return generate(path, n, *changed)
}

func generate(path string, n int, changed bool) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	rng := rand.New(rand.NewPCG(7, 7))
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	stages := []string{"lead", "subscriber", "customer", "opportunity"}
	states := []string{"MA", "NY", "CA", "TX", "CO"}
	var b []byte
	for i := range n {
		suffix, shift := "", time.Duration(0)
		amount := rng.IntN(100000)
		if changed {
			suffix, shift, amount = "-2", time.Hour, amount+1
		}
		b = fmt.Appendf(b[:0], `{"id":"%d","properties":{"email":"user%d@Example.com","firstname":"Ann","lastname":"Lee%d%s","phone":"(617) 555-%04d","state":"%s","zip":"0213%d","lifecyclestage":"%s","amount":"%d.%02d"},"createdAt":"%s","updatedAt":"%s","archived":false}`+"\n",
			i+1, i, i, suffix, i%10000, states[i%len(states)], i%10, stages[i%len(stages)], amount, i%100,
			base.Format(time.RFC3339), base.Add(time.Duration(i)*time.Second+shift).Format(time.RFC3339))
		if _, err := f.Write(b); err != nil {
			return err
		}
	}
	return f.Close()
}

type bench struct {
	dir, crmsync, ref, baseDSN string
	n, batch                   int
}

// db creates a database of its own and returns its DSN and a drop.
func (b *bench) db(name string) (string, func(), error) {
	ctx := context.Background()
	name = fmt.Sprintf("crmsync_bench_%s_%d", name, os.Getpid())
	conn, err := pgx.Connect(ctx, b.baseDSN)
	if err != nil {
		return "", nil, err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, err
	}
	u, err := url.Parse(b.baseDSN)
	if err != nil {
		return "", nil, err
	}
	u.Path = "/" + name
	drop := func() {
		c, err := pgx.Connect(ctx, b.baseDSN)
		if err != nil {
			return
		}
		defer c.Close(ctx)
		c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	}
	return u.String(), drop, nil
}

// use points the pipeline's contacts.jsonl at one of the generated files.
func (b *bench) use(file string) error {
	link := filepath.Join(b.dir, "contacts.jsonl")
	os.Remove(link)
	return os.Link(filepath.Join(b.dir, file), link)
}

// run is crmsync run of the bench pipeline; want checks the summary's
// counts (created, updated, unchanged).
func (b *bench) run(dest string, want map[string]int, extra ...string) (usage, error) {
	args := append([]string{"run", "--json", "--no-progress", "--log-level", "error", "--dest", dest, "--batch-size", strconv.Itoa(b.batch)}, extra...)
	u, err := measure(b.crmsync, append(args, filepath.Join(b.dir, "bench.yaml"))...)
	if err != nil {
		return u, err
	}
	for k, v := range want {
		got := 0
		walk(gjson.Parse(u.out), func(key string, r gjson.Result) {
			if key == k && r.Type == gjson.Number {
				got += int(r.Int())
			}
		})
		if got != v {
			return u, fmt.Errorf("crmsync run %v: %s = %d, want %d\n%s", extra, k, got, v, u.out)
		}
	}
	return u, nil
}

func walk(r gjson.Result, fn func(string, gjson.Result)) {
	r.ForEach(func(k, v gjson.Result) bool {
		fn(k.String(), v)
		if v.IsObject() || v.IsArray() {
			walk(v, fn)
		}
		return true
	})
}

type line struct {
	step, program string
	u             usage
	ref           *line // the line this one is compared with
}

func drive() error {
	n := 1_000_000
	if s := os.Getenv("CRMSYNC_BENCH_ROWS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			return fmt.Errorf("CRMSYNC_BENCH_ROWS=%q: want a positive number", s)
		}
		n = v
	}
	batch := 5000
	if s := os.Getenv("CRMSYNC_BENCH_BATCH"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			return fmt.Errorf("CRMSYNC_BENCH_BATCH=%q: want a positive number", s)
		}
		batch = v
	}
	dsn := os.Getenv("CRMSYNC_PG_DSN")
	if dsn == "" {
		dsn = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	dir, err := os.MkdirTemp("", "crmsync-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	b := &bench{dir: dir, n: n, batch: batch, baseDSN: dsn}
	postmaster = findPostmaster(dsn)
	if b.crmsync, err = filepath.Abs("bin/crmsync"); err != nil {
		return err
	}
	b.ref = filepath.Join(filepath.Dir(b.crmsync), "crmsync-bench")
	for _, build := range [][]string{{"build", "-o", b.crmsync, "./cmd/crmsync"}, {"build", "-o", b.ref, "./scripts/bench"}} {
		if out, err := exec.Command("go", build...).CombinedOutput(); err != nil {
			return fmt.Errorf("go %s: %v\n%s", strings.Join(build, " "), err, out)
		}
	}
	if err := generate(filepath.Join(dir, "orig.jsonl"), n, false); err != nil {
		return err
	}
	if err := generate(filepath.Join(dir, "changed.jsonl"), n, true); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "bench.yaml"), []byte(pipelineYAML), 0o644); err != nil {
		return err
	}
	if err := b.use("orig.jsonl"); err != nil {
		return err
	}
	orig := filepath.Join(dir, "orig.jsonl")
	var lines []*line
	add := func(step, program string, u usage, ref *line) *line {
		l := &line{step: step, program: program, u: u, ref: ref}
		lines = append(lines, l)
		fmt.Fprintf(os.Stderr, "%-12s %-44s %6.2fs wall %6.2fs CPU %6.1f MiB\n", step, program, u.wall.Seconds(), u.cpu.Seconds(), u.rssMiB)
		return l
	}

	// record path
	r1, err := measure(b.ref, "limit", "-workers", "1", orig)
	if err != nil {
		return err
	}
	ref1 := add("record path", "limit: gjson one pass + 3 expr, 1 worker", r1, nil)
	r2, err := measure(b.ref, "limit", "-workers", "2", orig)
	if err != nil {
		return err
	}
	ref2 := add("record path", "limit: 2 workers", r2, nil)
	u, err := b.run("sqlite:"+filepath.Join(dir, "dry.db"), nil, "--dry-run")
	if err != nil {
		return err
	}
	c := add("record path", "crmsync run --dry-run", u, ref1)
	lines = append(lines, &line{step: "record path", program: "crmsync run --dry-run (vs 2 workers)", u: c.u, ref: ref2})

	// fresh load
	rd, dropR, err := b.db("ref_fresh")
	if err != nil {
		return err
	}
	r, err := measure(b.ref, "copy", "-dsn", rd, orig)
	dropR()
	if err != nil {
		return err
	}
	refFresh := add("fresh load", "pgx CopyFrom, binary-typed values", r, nil)
	cd, dropC, err := b.db("fresh")
	if err != nil {
		return err
	}
	u, err = b.run(cd, map[string]int{"created": n})
	dropC()
	if err != nil {
		return err
	}
	add("fresh load", "crmsync run into an empty table", u, refFresh)

	// reruns
	for _, step := range []struct{ name, mode, file string }{
		{"unchanged", "unchanged", "orig.jsonl"},
		{"all changed", "changed", "changed.jsonl"},
	} {
		rd, dropR, err := b.db("ref_" + step.mode)
		if err != nil {
			return err
		}
		if _, err := measure(b.ref, "copy", "-dsn", rd, orig); err != nil {
			dropR()
			return err
		}
		r, err := measure(b.ref, "staged", "-dsn", rd, "-mode", step.mode, "-batch", strconv.Itoa(batch), filepath.Join(dir, step.file))
		dropR()
		if err != nil {
			return err
		}
		what := "staged upsert skipping unchanged (IS DISTINCT FROM)"
		if step.mode == "changed" {
			what = "staged INSERT … ON CONFLICT DO UPDATE"
		}
		ref := add(step.name, what, r, nil)

		cd, dropC, err := b.db(step.mode)
		if err != nil {
			return err
		}
		b.use("orig.jsonl")
		if _, err := b.run(cd, map[string]int{"created": n}); err != nil {
			dropC()
			return err
		}
		b.use(step.file)
		want := map[string]int{"unchanged": n}
		if step.mode == "changed" {
			want = map[string]int{"updated": n}
		}
		u, err := b.run(cd, want, "--full")
		dropC()
		b.use("orig.jsonl")
		if err != nil {
			return err
		}
		add(step.name, "crmsync run --full", u, ref)
	}

	fmt.Printf("%d HubSpot-style contacts (JSON lines, 10 fields, 3 expressions), batch %d. CPU: the process's own;\n", n, batch)
	fmt.Printf("server CPU: all of PostgreSQL meanwhile (other users' work included), \"+ server\": rec per CPU-s of both.\n\n")
	fmt.Println("| step | program | rec/s | rec per CPU-s | server CPU s | rec per CPU-s + server | peak RSS MiB | ratio (wall) | ratio (CPU) | ratio (CPU + server) |")
	fmt.Println("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, l := range lines {
		rate := float64(n) / l.u.wall.Seconds()
		perCPU := float64(n) / l.u.cpu.Seconds()
		wr, cr, br := "", "", ""
		srv, both := "", ""
		db := l.step != "record path" && l.u.server >= 0
		if db {
			srv = fmt.Sprintf("%.2f", l.u.server.Seconds())
			both = thousands(float64(n) / (l.u.cpu + l.u.server).Seconds())
		}
		if l.ref != nil {
			wr = fmt.Sprintf("%.2f", l.ref.u.wall.Seconds()/l.u.wall.Seconds())
			cr = fmt.Sprintf("%.2f", l.ref.u.cpu.Seconds()/l.u.cpu.Seconds())
			if db && l.ref.u.server >= 0 {
				br = fmt.Sprintf("%.2f", (l.ref.u.cpu+l.ref.u.server).Seconds()/(l.u.cpu+l.u.server).Seconds())
			}
		}
		fmt.Printf("| %s | %s | %s | %s | %s | %s | %.0f | %s | %s | %s |\n", l.step, l.program, thousands(rate), thousands(perCPU), srv, both, l.u.rssMiB, wr, cr, br)
	}
	return nil
}

// thousands prints 253412.7 as 253k and 3730 as 3,730.
func thousands(v float64) string {
	if v >= 100_000 {
		return fmt.Sprintf("%.0fk", v/1000)
	}
	s := strconv.Itoa(int(v))
	if len(s) > 3 {
		s = s[:len(s)-3] + "," + s[len(s)-3:]
	}
	return s
}
