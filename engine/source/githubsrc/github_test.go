package githubsrc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine/config"
	"github.com/crmsync/crmsync/engine/source"
	"github.com/crmsync/crmsync/engine/source/filesrc"
	"github.com/crmsync/crmsync/engine/source/httpsrc"
)

type run struct {
	pages   []source.Page
	records []string // file:row json
	resume  string
	err     error
	stats   source.Stats
	logs    string
}

type killed struct{}

func (killed) Error() string { return "killed" }

func ghSpec(base, repo, ref, token, path string, batch int) *source.Spec {
	gh := &SourceConfig{Repo: repo, Ref: ref, Token: config.NewSecret(token), BaseURL: base,
		Retry: &httpsrc.Retry{Attempts: 3, Initial: config.Duration{Duration: time.Millisecond, Set: true}}}
	gh.Path = path
	src := &config.Source{Type: "github", Settings: gh}
	return &source.Spec{Pipeline: "t", Source: src, Entity: &config.Entity{Name: "e", Settings: &filesrc.EntityConfig{}}, Path: "/entities/e", BatchSize: batch}
}

func ghRead(t *testing.T, sp *source.Spec, resume string, stopAfter int) run {
	t.Helper()
	op, probs := Compile(sp)
	if op == nil {
		t.Fatalf("compile: %v", probs)
	}
	var logs bytes.Buffer
	env := &source.Env{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), Version: "test"}
	rd, err := op.Open(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	r := run{resume: resume}
	r.err = rd.Read(context.Background(), source.ReadState{Resume: resume}, func(p source.Page) error {
		if stopAfter > 0 && len(r.pages) == stopAfter {
			return killed{}
		}
		r.pages = append(r.pages, p)
		for _, rec := range p.Records {
			r.records = append(r.records, fmt.Sprintf("%s:%d %s", rec.File, rec.Row, rec.JSON))
		}
		r.resume = p.Resume
		return nil
	})
	r.stats = rd.(source.StatsReporter).Stats()
	r.logs = logs.String()
	return r
}

func TestSyncSkipsUnchangedSHA(t *testing.T) {
	f := newFake(t, map[string]string{"data/zips.csv": "zip,city\n10001,New York\n60601,Chicago\n", "README.md": "hi"})
	f.token = "ghp_s3cret"
	sp := ghSpec(f.URL, "o/r", "main", "ghp_s3cret", "data/zips.csv", 100)

	r1 := ghRead(t, sp, "", 0)
	want := []string{`zips.csv:2 {"zip":"10001","city":"New York"}`, `zips.csv:3 {"zip":"60601","city":"Chicago"}`}
	if r1.err != nil || !reflect.DeepEqual(r1.records, want) {
		t.Fatalf("first sync: %q, %v", r1.records, r1.err)
	}
	if got, want := f.log(), []string{"GET /repos/o/r/contents/data?ref=main application/vnd.github+json", "GET /repos/o/r/contents/data/zips.csv?ref=main raw+json"}; !reflect.DeepEqual(got, want) {
		t.Errorf("requests\n got %q\nwant %q", got, want)
	}
	for _, h := range f.headers {
		if h.Get("Authorization") != "Bearer ghp_s3cret" || h.Get("X-GitHub-Api-Version") != "2022-11-28" || h.Get("User-Agent") != "crmsync/test" {
			t.Errorf("headers %v", h)
		}
	}
	if r1.stats.APICalls != 2 {
		t.Errorf("api calls %d, want 2", r1.stats.APICalls)
	}

	// Same sha: listed, not downloaded, no page.
	r2 := ghRead(t, sp, r1.resume, 0)
	if r2.err != nil || len(r2.pages) != 0 {
		t.Fatalf("unchanged sync: %d pages, %v", len(r2.pages), r2.err)
	}
	if got := f.log(); len(got) != 1 || !strings.Contains(got[0], "/contents/data?") {
		t.Errorf("unchanged sync requests %q: want the listing only", got)
	}

	// Changed: downloaded and read from the start.
	f.set("data/zips.csv", "zip,city\n10001,NYC\n60601,Chicago\n94105,San Francisco\n")
	r3 := ghRead(t, sp, r2.resume, 0)
	if r3.err != nil || len(r3.records) != 3 || r3.records[0] != `zips.csv:2 {"zip":"10001","city":"NYC"}` {
		t.Fatalf("changed sync: %q, %v", r3.records, r3.err)
	}
	st, _ := filesrc.ParseState(r3.resume)
	if len(st.Files) != 1 || st.Files[0].SHA != blobSHA(f.files["data/zips.csv"]) || !st.Files[0].Done {
		t.Errorf("checkpoint %s", r3.resume)
	}
	if strings.Contains(r1.logs+r2.logs+r3.logs+r3.resume, "s3cret") {
		t.Error("the token reached a log or the checkpoint")
	}
}

func TestGlobDirectoryAndBlob(t *testing.T) {
	var big strings.Builder
	big.WriteString("zip,city\n")
	for i := 0; big.Len() <= blobAbove; i++ {
		fmt.Fprintf(&big, "%05d,City %d\n", i, i)
	}
	f := newFake(t, map[string]string{
		"data/b.csv":     big.String(),
		"data/a.csv":     "zip,city\n1,A\n",
		"data/c.jsonl":   "{\"zip\":\"3\"}\n",
		"data/sub/d.csv": "zip\n4\n",
		"notes.md":       "x",
	})
	r := ghRead(t, ghSpec(f.URL, "o/r", "", "", "data/*.csv", 5000), "", 0)
	lines := strings.Count(big.String(), "\n") - 1
	if r.err != nil || len(r.records) != 1+lines || !strings.HasPrefix(r.records[0], "a.csv:2 ") || !strings.HasPrefix(r.records[1], "b.csv:2 ") {
		t.Fatalf("glob: %d records, %v", len(r.records), r.err)
	}
	want := []string{
		"GET /repos/o/r/contents/data application/vnd.github+json",
		"GET /repos/o/r/contents/data/a.csv raw+json",
		"GET /repos/o/r/git/blobs/" + blobSHA(big.String()) + " raw+json",
	}
	if got := f.log(); !reflect.DeepEqual(got, want) {
		t.Errorf("requests\n got %q\nwant %q", got, want)
	}

	// A folder: every file in it, each by its own format; not sub-folders.
	r = ghRead(t, ghSpec(f.URL, "o/r", "", "", "data", 5000), "", 0)
	if r.err != nil || len(r.records) != 2+lines || r.records[len(r.records)-1] != `c.jsonl:1 {"zip":"3"}` {
		t.Fatalf("folder: %d records, last %q, %v", len(r.records), r.records[len(r.records)-1], r.err)
	}
}

func TestErrorsInPlainWords(t *testing.T) {
	f := newFake(t, map[string]string{"data/zips.csv": "zip\n1\n"})
	tests := []struct {
		name, repo, ref, token, path string
		want                         string
	}{
		{name: "missing file", repo: "o/r", ref: "main", path: "data/nope.csv",
			want: `github: repo "o/r" path "data/nope.csv" at ref "main" was not found: check the repo, path and ref (a private repo also answers 404 without a valid token)`},
		{name: "missing folder", repo: "o/r", path: "nope/*.csv",
			want: `github: repo "o/r" path "nope/*.csv" on the default branch was not found: check the repo, path and ref (a private repo also answers 404 without a valid token)`},
		{name: "missing repo", repo: "o/x", path: "data/zips.csv",
			want: `github: repo "o/x" path "data/zips.csv" on the default branch was not found: check the repo, path and ref (a private repo also answers 404 without a valid token)`},
		{name: "missing ref", repo: "o/r", ref: "dev", path: "data/zips.csv",
			want: `github: repo "o/r" path "data/zips.csv" at ref "dev" was not found: check the repo, path and ref (a private repo also answers 404 without a valid token)`},
		{name: "refused token", repo: "o/r", token: "ghp_wrong_value", path: "data/zips.csv",
			want: `github: the token was refused (401): it is missing, expired or lacks the contents:read permission`},
	}
	f.forbid = true
	r := ghRead(t, ghSpec(f.URL, "o/r", "", "tok", "data/zips.csv", 10), "", 0)
	if want := `github: access to repo "o/r" was refused (403): Resource not accessible by personal access token`; r.err == nil || r.err.Error() != want {
		t.Errorf("403: %v, want %s", r.err, want)
	}
	f.forbid = false
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.token = ""
			if tt.token != "" {
				f.token = "ghp_right"
			}
			r := ghRead(t, ghSpec(f.URL, tt.repo, tt.ref, tt.token, tt.path, 10), "", 0)
			if r.err == nil || r.err.Error() != tt.want {
				t.Fatalf("error\n got %v\nwant %s", r.err, tt.want)
			}
			if tt.token != "" && strings.Contains(r.err.Error()+r.logs, tt.token) {
				t.Error("the token reached an error or a log")
			}
		})
	}
}

func TestRateLimitAndRetries(t *testing.T) {
	f := newFake(t, map[string]string{"data/zips.csv": "zip\n1\n2\n"})
	sp := ghSpec(f.URL, "o/r", "", "", "data/zips.csv", 10)

	// A 403 with the limit spent: wait for the reset, then ask again.
	f.limited = 1
	r := ghRead(t, sp, "", 0)
	if r.err != nil || len(r.records) != 2 || r.stats.RateLimitWait <= 0 || r.stats.APICalls != 3 {
		t.Fatalf("rate limited: %d records, %+v, %v", len(r.records), r.stats, r.err)
	}
	if !strings.Contains(r.logs, "rate limit spent") {
		t.Errorf("no log of the wait: %s", r.logs)
	}
	f.log()

	// A 200 that spends the limit: the next request waits for the reset.
	f.spend = true
	r = ghRead(t, sp, "", 0)
	if r.err != nil || r.stats.RateLimitWait <= 0 || r.stats.APICalls != 2 {
		t.Fatalf("spent on 200: %+v, %v", r.stats, r.err)
	}
	f.log()

	// 5xx: retried with a pause.
	f.fail["/repos/o/r/contents/data"] = 2
	r = ghRead(t, sp, "", 0)
	if r.err != nil || r.stats.Retries != 2 || len(r.records) != 2 {
		t.Fatalf("two 502s: %+v, %v", r.stats, r.err)
	}
	f.fail["/repos/o/r/contents/data"] = 5
	r = ghRead(t, sp, "", 0)
	if want := `github: reading "data": the server answered 502 after 3 attempts`; r.err == nil || r.err.Error() != want {
		t.Fatalf("five 502s: %v, want %s", r.err, want)
	}
	f.fail = map[string]int{}

	// A download cut half way: downloaded again, read on from the last record.
	var csv strings.Builder
	csv.WriteString("zip\n")
	for i := range 2000 {
		fmt.Fprintf(&csv, "%05d\n", i)
	}
	f.set("data/zips.csv", csv.String())
	f.cut["data/zips.csv"] = 1
	f.log()
	r = ghRead(t, sp, "", 0)
	if r.err != nil || len(r.records) != 2000 {
		t.Fatalf("cut download: %d records, %v", len(r.records), r.err)
	}
	for i, rec := range r.records {
		if want := fmt.Sprintf(`zips.csv:%d {"zip":"%05d"}`, i+2, i); rec != want {
			t.Fatalf("record %d is %q, want %q", i, rec, want)
		}
	}
	if got := f.log(); len(got) != 3 {
		t.Errorf("requests %q: want the listing and two downloads", got)
	}
}

// TestResumeAfterKill: emit fails after page k; the next read from the
// last Resume gives the rest, nothing twice.
func TestResumeAfterKill(t *testing.T) {
	f := newFake(t, map[string]string{
		"data/a.csv": "id\n1\n2\n3\n4\n5\n",
		"data/b.csv": "id\n6\n7\n8\n",
	})
	sp := ghSpec(f.URL, "o/r", "main", "", "data/*.csv", 2)
	full := ghRead(t, sp, "", 0)
	if full.err != nil || len(full.records) != 8 {
		t.Fatalf("full: %q %v", full.records, full.err)
	}
	for k := 1; k < len(full.pages); k++ {
		first := ghRead(t, sp, "", k)
		if !errors.As(first.err, new(killed)) {
			t.Fatalf("k=%d: %v", k, first.err)
		}
		f.log()
		rest := ghRead(t, sp, first.resume, 0)
		if got := append(first.records, rest.records...); rest.err != nil || !reflect.DeepEqual(got, full.records) {
			t.Fatalf("k=%d: got %q, want %q (%v)", k, got, full.records, rest.err)
		}
		// a.csv fully committed before the kill is not downloaded again.
		if k >= 3 && strings.Contains(strings.Join(f.log(), " "), "a.csv") {
			t.Errorf("k=%d: a.csv downloaded again", k)
		}
	}
}

func TestCompileProblems(t *testing.T) {
	tests := []struct {
		name, base, repo, path string
		want                   []string // paths of problems
	}{
		{name: "fine", repo: "o/r", path: "data/*.csv"},
		{name: "enterprise", base: "https://git.example.com/api/v3", repo: "o/r", path: "x.csv"},
		{name: "no repo", path: "x.csv", want: []string{"/source/repo"}},
		{name: "bad repo", repo: "just-a-name", path: "x.csv", want: []string{"/source/repo"}},
		{name: "double star", repo: "o/r", path: "data/**/*.csv", want: []string{"/source/path"}},
		{name: "pattern in a folder", repo: "o/r", path: "*/x.csv", want: []string{"/source/path"}},
		{name: "bad base_url", base: "ftp://x", repo: "o/r", path: "x.csv", want: []string{"/source/base_url"}},
		{name: "no path", repo: "o/r", want: []string{"/entities/e/path"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op, probs := Compile(ghSpec(tt.base, tt.repo, "", "", tt.path, 10))
			var got []string
			for _, p := range probs {
				got = append(got, p.Path)
			}
			if !reflect.DeepEqual(got, tt.want) || (op == nil) != (len(tt.want) > 0) {
				t.Errorf("problems %+v, want at %q", probs, tt.want)
			}
		})
	}
}
