package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

func init() {
	for _, c := range []struct{ name, args, summary string }{
		{"trigger", "PIPELINE ENTITY", "ask a running serve to sync an entity now (operator API)"},
		{"pause", "PIPELINE [ENTITY]", "pause an entity or pipeline on every serve replica (operator API)"},
		{"resume", "PIPELINE [ENTITY]", "resume a paused entity or pipeline (operator API)"},
	} {
		action := map[string]string{"trigger": "run"}[c.name]
		if action == "" {
			action = c.name
		}
		register(command{name: c.name, args: c.args, summary: c.summary, run: func(args []string, stdout, stderr io.Writer) int {
			return adminCmd(c.name, action, c.args, args, stdout, stderr)
		}})
	}
}

// adminCmd sends one request to serve's operator API.
func adminCmd(name, action, usage string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:9090", "the serve process's address (its --addr), or an http(s):// URL")
	tokenSrc := fs.String("admin-token", "", "where the token is: env:NAME or file:PATH (default $CRMSYNC_ADMIN_TOKEN)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: crmsync %s [flags] %s\n", name, usage)
		printFlags(fs.Output(), fs)
	}
	pos, code, ok := parseArgs(fs, args, stdout)
	if !ok {
		return code
	}
	if len(pos) < 1 || len(pos) > 2 || (action == "run" && len(pos) != 2) {
		fs.Usage()
		return exitUsage
	}
	token, err := adminToken(*tokenSrc)
	if err != nil {
		fmt.Fprintf(stderr, "crmsync %s: --admin-token: %v\n", name, err)
		return exitUsage
	}
	if token == "" {
		fmt.Fprintf(stderr, "crmsync %s: no token: set $CRMSYNC_ADMIN_TOKEN or --admin-token env:NAME|file:PATH\n", name)
		return exitUsage
	}
	base := *addr
	if !strings.Contains(base, "://") {
		base = "http://" + base
	}
	q := url.Values{"pipeline": {pos[0]}}
	if len(pos) == 2 {
		q.Set("entity", pos[1])
	}
	req, err := http.NewRequest("POST", strings.TrimRight(base, "/")+"/api/"+action+"?"+q.Encode(), nil)
	if err != nil {
		fmt.Fprintf(stderr, "crmsync %s: %v\n", name, err)
		return exitUsage
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Timeout: 15 * time.Second}).Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "crmsync %s: %v\n", name, err)
		return exitFailed
	}
	defer resp.Body.Close()
	var rep struct {
		OK        bool   `json:"ok"`
		JobID     int64  `json:"job_id"`
		Duplicate bool   `json:"duplicate"`
		Error     string `json:"error"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&rep); err != nil || !rep.OK {
		msg := rep.Error
		if msg == "" {
			msg = resp.Status
		}
		fmt.Fprintf(stderr, "crmsync %s: %s: %s\n", name, resp.Status, msg)
		return exitFailed
	}
	what := strings.Join(pos, " ")
	switch {
	case action == "run" && rep.Duplicate:
		fmt.Fprintf(stdout, "%s: a sync is already queued or running (job %d)\n", what, rep.JobID)
	case action == "run":
		fmt.Fprintf(stdout, "%s: queued (job %d)\n", what, rep.JobID)
	default:
		fmt.Fprintf(stdout, "%s: %sd\n", what, action)
	}
	return exitOK
}
