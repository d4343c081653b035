package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/crmsync/crmsync/engine/pipeline"
	"github.com/crmsync/crmsync/engine/serve"
	"github.com/crmsync/crmsync/engine/sink"
	"github.com/crmsync/crmsync/engine/tenant"
)

func init() {
	register(command{name: "serve", args: "--dir DIR", summary: "run every pipeline of a folder on its schedule, hot-reloading edits", run: serveCmd})
}

type serveFlags struct {
	dir, dest, addr, profile, logFormat, logLevel, defaultSchedule string
	adminToken, tenants                                            string
	once                                                           bool
	grace, stuckAfter                                              time.Duration
	maxConcurrent, parallel                                        int
}

func serveCmd(args []string, stdout, stderr io.Writer) int {
	var f serveFlags
	fs := serveFlagSet(&f, stderr)
	pos, code, ok := parseArgs(fs, args, stdout)
	if !ok {
		return code
	}
	if f.dir == "" && len(pos) == 1 {
		f.dir = pos[0]
	} else if len(pos) > 0 {
		fs.Usage()
		return exitUsage
	}
	if f.dir == "" {
		fmt.Fprintln(stderr, "crmsync serve: --dir is required")
		return exitUsage
	}
	if st, err := os.Stat(f.dir); err != nil || !st.IsDir() {
		fmt.Fprintf(stderr, "crmsync serve: --dir %q is not a folder\n", f.dir)
		return exitUsage
	}
	if f.once {
		// Watching, an empty folder may fill later; run once, it is a mistake.
		if _, err := pipeline.Expand([]string{f.dir}); err != nil {
			fmt.Fprintln(stderr, "crmsync serve:", err)
			return exitUsage
		}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		fmt.Fprintf(stderr, "crmsync serve: --log-level %q: want debug, info, warn or error\n", f.logLevel)
		return exitUsage
	}
	if f.logFormat != "" && f.logFormat != "text" && f.logFormat != "json" {
		fmt.Fprintf(stderr, "crmsync serve: --log-format %q: want text or json\n", f.logFormat)
		return exitUsage
	}
	if f.defaultSchedule == "none" {
		f.defaultSchedule = ""
	}
	token, err := adminToken(f.adminToken)
	if err != nil {
		fmt.Fprintln(stderr, "crmsync serve: --admin-token:", err)
		return exitUsage
	}
	log := newLogger(stderr, f.logFormat, level)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	dest, err := sink.Open(ctx, destDSN(f.dest))
	if err != nil {
		fmt.Fprintln(stderr, "crmsync serve:", err)
		return exitUsage
	}
	defer dest.Close()
	var tenants []serve.Tenant
	if f.tenants != "" {
		set, err := tenant.Load(f.tenants)
		if err != nil {
			fmt.Fprintln(stderr, "crmsync serve: --tenants:", err)
			return exitUsage
		}
		var closeTenants func()
		if tenants, closeTenants, err = openTenants(ctx, set, destDSN(f.dest)); err != nil {
			fmt.Fprintln(stderr, "crmsync serve: --tenants:", err)
			return exitUsage
		}
		defer closeTenants()
	}
	s, err := serve.New(serve.Options{Dir: f.dir, Dest: dest, Profile: f.profile, Logger: log, Version: version,
		MaxConcurrent: f.maxConcurrent, Parallel: f.parallel, DefaultSchedule: f.defaultSchedule, StuckAfter: f.stuckAfter,
		AdminToken: token, Tenants: tenants})
	if err != nil {
		fmt.Fprintln(stderr, "crmsync serve:", err)
		return exitUsage
	}
	// SIGHUP is caught before the first load so that a reload asked for
	// during it is not the default action (exit).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	problems := s.Reload(true)

	if f.once {
		if problems.HasErrors() {
			fmt.Fprintf(stderr, "crmsync serve: %s has files with problems; nothing was synced (run crmsync lint %s)\n", f.dir, f.dir)
			return exitUsage
		}
		results, err := s.Once(ctx, f.grace)
		printSummary(stdout, results, false)
		if err != nil {
			return exitFailed
		}
		return exitCode(results)
	}

	// River's tables live in the destination; its migrator makes them.
	if err := s.OpenQueue(ctx); err != nil {
		fmt.Fprintln(stderr, "crmsync serve:", err)
		return exitFailed
	}

	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		fmt.Fprintln(stderr, "crmsync serve:", err)
		return exitUsage
	}
	if !isLoopback(ln.Addr()) {
		log.Warn(fmt.Sprintf("Listening on %s: /status and /metrics are exposed beyond this machine, without a password", ln.Addr()), "addr", ln.Addr().String())
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	log.Info("Serving /healthz, /readyz, /metrics and /status on http://"+ln.Addr().String(), "addr", ln.Addr().String(), "dir", f.dir)

	watchCtx, stopWatch := context.WithCancel(context.Background())
	defer stopWatch()
	go func() {
		if err := s.Watch(watchCtx); err != nil {
			log.Error(err.Error() + "; edits are picked up only on SIGHUP")
		}
	}()
	go func() {
		for {
			select {
			case <-hup:
				log.Info("SIGHUP: reloading every pipeline file")
				s.Reload(true)
			case <-watchCtx.Done():
				return
			}
		}
	}()
	go func() {
		<-ctx.Done()
		stop() // a second signal ends the process at once
	}()
	s.Run(ctx, f.grace)
	stopWatch()
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(shutCtx)
	log.Info("Stopped")
	return exitOK
}

// serveFlagSet defines serve's flags (the Kubernetes example's test
// checks its manifests against them).
func serveFlagSet(f *serveFlags, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.dir, "dir", "", "the folder of pipeline files (*.yaml, *.yml; watched for changes)")
	fs.StringVar(&f.dest, "dest", "", "destination: sqlite:PATH or postgres://… (default $CRMSYNC_DEST, else sqlite:crmsync.db)")
	fs.StringVar(&f.addr, "addr", "127.0.0.1:9090", "listen address of /healthz, /readyz, /metrics and /status (another host than loopback exposes them)")
	fs.StringVar(&f.profile, "env", "", "environment profile to apply (environments: in the files)")
	fs.BoolVar(&f.once, "once", false, "run every entity once and exit with run's exit status (no HTTP, no watching)")
	fs.DurationVar(&f.grace, "grace", 30*time.Second, "on SIGINT or SIGTERM, how long running syncs may take to finish before they are interrupted")
	fs.DurationVar(&f.stuckAfter, "stuck-after", 30*time.Second, "a queued sync whose process stopped beating this long (it died) is freed for the next tick; a live sync beats every quarter of it")
	fs.StringVar(&f.adminToken, "admin-token", "", "where the operator API's bearer token is: env:NAME or file:PATH (default: $CRMSYNC_ADMIN_TOKEN if set; none: the API is read-only)")
	fs.StringVar(&f.tenants, "tenants", "", tenantsUsage)
	fs.IntVar(&f.maxConcurrent, "max-concurrent", 8, "syncs this process runs at once, over all pipelines")
	fs.IntVar(&f.parallel, "parallel", 4, "syncs of one pipeline this process runs at once")
	fs.StringVar(&f.defaultSchedule, "default-schedule", "every 1h", `schedule of a pipeline file without schedule: ("" or "none": run such files only with --once)`)
	fs.StringVar(&f.logFormat, "log-format", "", "log format: text or json (default: text on a terminal, else json)")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: crmsync serve --dir DIR [flags]")
		fmt.Fprintln(fs.Output(), "Runs every entity of the pipeline files in DIR on its schedule and reloads files when they change (SIGHUP reloads all).")
		fmt.Fprintln(fs.Output(), "SIGINT/SIGTERM stop scheduling and let running syncs finish within --grace; exit status 0.")
		fmt.Fprintln(fs.Output(), "With --once: exit status 0 all succeeded, 1 any failed, 2 usage error or a file with problems, 3 any partial.")
		printFlags(fs.Output(), fs)
	}
	return fs
}

// adminToken reads the operator API's token from where --admin-token
// says (never the command line itself: ps shows it to everyone).
func adminToken(src string) (string, error) {
	var tok string
	switch {
	case src == "":
		tok = os.Getenv("CRMSYNC_ADMIN_TOKEN")
		if tok == "" {
			return "", nil
		}
	case strings.HasPrefix(src, "env:"):
		tok = os.Getenv(strings.TrimPrefix(src, "env:"))
		if tok == "" {
			return "", fmt.Errorf("environment variable %s is not set or empty", strings.TrimPrefix(src, "env:"))
		}
	case strings.HasPrefix(src, "file:"):
		b, err := os.ReadFile(strings.TrimPrefix(src, "file:"))
		if err != nil {
			return "", err
		}
		tok = strings.TrimSpace(string(b))
	default:
		return "", fmt.Errorf("%q: want env:NAME or file:PATH (the token itself does not go on the command line)", src)
	}
	if len(tok) < 16 {
		return "", fmt.Errorf("the token is %d characters long; use at least 16", len(tok))
	}
	return tok, nil
}

// isLoopback: the address is only reachable from this machine.
func isLoopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}
