package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/crmsync/crmsync/engine/authoring"
	"github.com/crmsync/crmsync/engine/source"
)

func init() {
	register(command{name: "check", args: "FILE [ENTITY]", summary: "test that each entity can connect, authenticate and read one page", run: checkCmd})
}

// checkAttempts: check retries once (a blip), not five times: it should
// answer quickly, and say why when it cannot.
const checkAttempts = 2

func checkCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	profile := fs.String("env", "", "environment profile to apply (environments: in the file)")
	debug := fs.Bool("debug", false, "log the source at debug level")
	asJSON := fs.Bool("json", false, "print one JSON document: each entity's status, request, records read and diagnosis")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: crmsync check [--env PROFILE] [--json] FILE [ENTITY]")
		fmt.Fprintln(fs.Output(), "For each entity (or ENTITY): connect, authenticate and read one page, and say in plain words what is wrong when")
		fmt.Fprintln(fs.Output(), "that fails (DNS, TLS, refused, 401, 403 with the missing scope, 404, records path, a body that is not JSON, …).")
		fmt.Fprintln(fs.Output(), "Writes nothing. Exit status: 0 every entity passed, 1 any failed, 2 usage error.")
		printFlags(fs.Output(), fs)
	}
	pos, code, ok := parseArgs(fs, args, stdout)
	if !ok {
		return code
	}
	if len(pos) < 1 || len(pos) > 2 {
		fs.Usage()
		return exitUsage
	}
	plan, code := loadForAuthoring("check", pos[0], *profile, stderr)
	if plan == nil {
		return code
	}
	ents, code := pickEntities("check", plan, pos[1:], stderr)
	if ents == nil {
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log := newLogger(stderr, "text", levelOf(*debug, !*debug))
	red := authoring.NewRedactor(plan)
	out := checkReport{Entities: []checkEntity{}}
	for _, e := range ents {
		rec := authoring.NewRecorder(nil, red)
		res, err := authoring.Read(ctx, plan, e, authoring.Options{Pages: 1, Wrap: rec.Wrap, Attempts: checkAttempts, Logger: log, Version: version})
		xs := rec.Exchanges()
		c := checkEntity{Pipeline: plan.Name, Entity: e.Name, Total: -1}
		name := plan.Name + " " + e.Name
		if err != nil {
			out.Failed++
			d := authoring.Diagnose(err, xs, authoring.Hint{Records: recordsPath(plan, e), Source: e.Source})
			c.Status, c.Diagnosis = "failed", &d
			if d.Network {
				c.Error = plan.Redact(err.Error())
			}
			out.Entities = append(out.Entities, c)
			if *asJSON {
				continue
			}
			fmt.Fprintf(stdout, "FAIL  %s: %s\n", name, d.Summary)
			for _, s := range d.Details {
				fmt.Fprintf(stdout, "      %s\n", s)
			}
			if d.Network {
				fmt.Fprintf(stdout, "      error: %s\n", c.Error)
			}
			continue
		}
		out.Passed++
		n := len(res.Records)
		c.Status, c.Records = "ok", n
		if res.Total >= 0 {
			c.Total = res.Total
		}
		what := fmt.Sprintf("read %d %s from the first page", n, plural(n, "record", "records"))
		if last := lastOK(xs); last != nil {
			c.Request = last.Request.Method + " " + last.Request.URL
			c.HTTPStatus = last.Response.Status
			what = fmt.Sprintf("%s %s → %d %s, %d %s on the first page", last.Request.Method, last.Request.URL,
				last.Response.Status, http.StatusText(last.Response.Status), n, plural(n, "record", "records"))
		}
		if res.Total >= 0 {
			what += fmt.Sprintf(" (the source says %d in all)", res.Total)
		}
		if n == 0 {
			what += "; an empty first page is fine for an incremental source, but check the records path or filter otherwise"
		}
		c.Message = what
		// SQL sources: EXPLAIN the statements a sync sends; a scan or a
		// sort of a large table per page is worth a warning.
		if ex, ok := e.Source.(interface {
			Explain(context.Context, *source.Env) ([]string, error)
		}); ok {
			warns, err := ex.Explain(ctx, &source.Env{Logger: log, Redact: plan.Redact})
			if err != nil {
				warns = append(warns, "EXPLAIN failed: "+plan.Redact(err.Error()))
			}
			c.Warnings = warns
		}
		out.Entities = append(out.Entities, c)
		if !*asJSON {
			fmt.Fprintf(stdout, "ok    %s: %s\n", name, what)
			for _, w := range c.Warnings {
				fmt.Fprintf(stdout, "      warning: %s\n", w)
			}
		}
	}
	if *asJSON {
		writeJSON(stdout, out)
	} else if out.Failed > 0 {
		fmt.Fprintf(stdout, "%d of %d %s failed\n", out.Failed, len(ents), plural(len(ents), "entity", "entities"))
	}
	if out.Failed > 0 {
		return exitFailed
	}
	return exitOK
}

// checkReport is check --json's document.
type checkReport struct {
	Passed   int           `json:"passed"`
	Failed   int           `json:"failed"`
	Entities []checkEntity `json:"entities"`
}

type checkEntity struct {
	Pipeline   string               `json:"pipeline"`
	Entity     string               `json:"entity"`
	Status     string               `json:"status"` // ok or failed
	Message    string               `json:"message,omitempty"`
	Warnings   []string             `json:"warnings,omitempty"`
	Request    string               `json:"request,omitempty"`
	HTTPStatus int                  `json:"http_status,omitempty"`
	Records    int                  `json:"records"`
	Total      int                  `json:"total"` // -1: the source does not say
	Diagnosis  *authoring.Diagnosis `json:"diagnosis,omitempty"`
	Error      string               `json:"error,omitempty"`
}

func lastOK(xs []authoring.Exchange) *authoring.Exchange {
	for i := len(xs) - 1; i >= 0; i-- {
		if xs[i].OK() {
			return &xs[i]
		}
	}
	return nil
}
