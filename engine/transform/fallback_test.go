package transform_test

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine/source"
	"github.com/crmsync/crmsync/engine/transform"
)

// TestPathFallbacks: path: [a, b] takes the first path that finds a
// non-null value — Pipedrive's list endpoint nests org_id as an object,
// its change feed gives the plain id.
func TestPathFallbacks(t *testing.T) {
	prog := compile(t, `      id: {path: id, type: integer}
      org_id: {path: [org_id.value, org_id], type: integer}
      org_name: {path: [org_id.name, org_name], default: unknown}
      owner: [owner_id.id, user_id]
`, "", transform.Warn, false)
	cases := []struct {
		name, rec string
		org       any
		orgName   any
	}{
		{"nested object", `{"id":1,"org_id":{"value":7,"name":"Acme"}}`, int64(7), "Acme"},
		{"plain id", `{"id":2,"org_id":7,"org_name":"Acme"}`, int64(7), "Acme"},
		{"first is null", `{"id":3,"org_id":{"value":null,"name":null},"org_name":"Feed"}`, nil, "Feed"},
		{"neither", `{"id":4}`, nil, "unknown"},
		{"null id", `{"id":5,"org_id":null}`, nil, "unknown"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := process(t, prog, slog.New(slog.NewTextHandler(io.Discard, nil)), tc.rec)
			if out.Values[1] != tc.org || out.Values[2] != tc.orgName {
				t.Fatalf("org_id %#v, org_name %#v; want %#v, %#v", out.Values[1], out.Values[2], tc.org, tc.orgName)
			}
		})
	}
	// "first is null": org_id.value is null, org_id is an object: not an
	// integer. The fallback takes the first non-null value as it is.
}

// TestPathFallbacksAllocateNothing: fallbacks are compiled once; a record
// that needs the second path allocates no more than one that does not.
func TestPathFallbacksAllocateNothing(t *testing.T) {
	one := compile(t, "      id: id\n      org_id: {path: org_id, type: integer}\n", "", transform.Warn, false)
	two := compile(t, "      id: id\n      org_id: {path: [org_id.value, org_id], type: integer}\n", "", transform.Warn, false)
	rec := source.Record{JSON: `{"id":"1","org_id":7}`}
	measure := func(p *transform.Program) float64 {
		pr := p.NewProcessor(transform.Context{SyncStarted: time.Now(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		out := transform.Output{Values: make([]any, len(p.Fields()))}
		return testing.AllocsPerRun(200, func() { pr.Process(rec, &out) })
	}
	if a, b := measure(one), measure(two); b > a {
		t.Fatalf("%v allocations per record with a fallback, %v without", b, a)
	}
}
