package authoring

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/engine/pipeline"
	"github.com/crmsync/crmsync/engine/sink/memory"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRounds(t *testing.T) {
	cases := []struct {
		name  string
		files []string
		want  []string // round folders, relative to the entity's; "." the entity's own
		err   string
	}{
		{"none at all", nil, []string{"."}, ""},
		{"one round", []string{"001.request.json", "001.response.json", "expected.jsonl"}, []string{"."}, ""},
		{"rounds", []string{"round-2/001.request.json", "round-1/001.request.json", "round-10/x", "round-3/x", "round-4/x",
			"round-5/x", "round-6/x", "round-7/x", "round-8/x", "round-9/x"},
			[]string{"round-1", "round-2", "round-3", "round-4", "round-5", "round-6", "round-7", "round-8", "round-9", "round-10"}, ""},
		{"a gap", []string{"round-1/x", "round-3/x"}, nil, "round-2 is missing"},
		{"both layouts", []string{"round-1/x", "001.request.json"}, nil, "holds both round-N folders and exchanges"},
		{"a bad number", []string{"round-01/x"}, nil, "folder round-01 is not round-N"},
		{"round 0", []string{"round-0/x", "round-1/x"}, nil, "folder round-0 is not round-N"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "items")
			files := map[string]string{}
			for _, f := range c.files {
				files[f] = "{}"
			}
			writeFiles(t, dir, files)
			got, err := Rounds(dir)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("err %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for i, r := range got {
				rel, _ := filepath.Rel(dir, r.Dir)
				names = append(names, rel)
				if r.N != i+1 || r.Whole != (rel != ".") {
					t.Errorf("round %d: %+v", i, r)
				}
			}
			if !reflect.DeepEqual(names, c.want) {
				t.Errorf("rounds %v, want %v", names, c.want)
			}
		})
	}
}

func TestReadEnv(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"env":            "# dummy values\nA=1\nexport B = two words \n\nC=x=y\n",
		"round-2/env":    "B=2\nD=\n",
		"bad/env":        "A=1\nnot an assignment\n",
		"spaced/env":     "A B=1\n",
		"round-1/.empty": "",
	})
	got, err := RoundEnv(dir, Round{N: 2, Dir: filepath.Join(dir, "round-2")})
	if want := map[string]string{"A": "1", "B": "2", "C": "x=y", "D": ""}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("round 2 env %v (%v), want %v", got, err, want)
	}
	got, err = RoundEnv(dir, Round{N: 1, Dir: filepath.Join(dir, "round-1")})
	if want := map[string]string{"A": "1", "B": "two words", "C": "x=y"}; err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("round 1 env %v (%v), want %v", got, err, want)
	}
	if got, err := ReadEnv(filepath.Join(dir, "none")); got != nil || err != nil {
		t.Errorf("no file: %v, %v", got, err)
	}
	for _, bad := range []string{"bad", "spaced"} {
		if _, err := ReadEnv(filepath.Join(dir, bad, "env")); err == nil || !strings.Contains(err.Error(), "want NAME=value") {
			t.Errorf("%s: err %v", bad, err)
		}
	}
}

// TestReplayRoundCarriesState: round 2 is an incremental sync from the
// watermark round 1 committed into the same destination; from a new
// destination it would start over and its recorded request would not match.
func TestReplayRoundCarriesState(t *testing.T) {
	plan, findings := pipeline.Load("shop.yaml", []byte(`version: 1
name: shop
source:
  type: http
  base_url: https://shop.example
  records: items
  paginate: { style: cursor, cursor: next, param: after }
entities:
  orders:
    request: { path: /orders, params: { since: "{{ watermark }}" } }
    primary_key: id
    incremental: { field: updated_at, start: "2024-01-01" }
    fields:
      id: { path: id, type: integer }
      updated_at: { path: updated_at, type: datetime }
`), pipeline.Options{})
	if findings.HasErrors() {
		t.Fatal(findings)
	}
	dir := t.TempDir()
	req := func(since string) string {
		return `{"method":"GET","url":"/orders?since=` + since + `","headers":{"Accept":"application/json"}}`
	}
	resp := func(items string) string { return `{"status":200,"body":{"items":[` + items + `]}}` }
	writeFiles(t, dir, map[string]string{
		"orders/round-1/001.request.json":  req("2024-01-01T00%3A00%3A00Z"),
		"orders/round-1/001.response.json": resp(`{"id":1,"updated_at":"2024-02-01T10:00:00Z"},{"id":2,"updated_at":"2024-02-03T09:30:00Z"}`),
		"orders/round-2/001.request.json":  req("2024-02-03T09%3A30%3A00Z"),
		"orders/round-2/001.response.json": resp(`{"id":3,"updated_at":"2024-02-05T12:00:00Z"}`),
	})
	rounds, err := Rounds(filepath.Join(dir, "orders"))
	if err != nil || len(rounds) != 2 {
		t.Fatalf("rounds %v, %v", rounds, err)
	}
	p, err := StartReplayer()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	e := plan.Entity("orders")
	ctx := context.Background()
	dest := memory.New()
	for i, want := range []int{2, 1} {
		res, err := ReplayRound(ctx, plan, e, rounds[i], p, Options{Dest: dest})
		if err != nil || len(res.Records) != want {
			t.Fatalf("round %d: %v records, %v", i+1, len(res.Records), err)
		}
	}
	if n := len(dest.Rows("shop_orders")); n != 3 {
		t.Errorf("the destination holds %d orders after both rounds, want 3", n)
	}
	// Without round 1's state round 2 sends the start again.
	_, err = ReplayRound(ctx, plan, e, rounds[1], p, Options{Dest: memory.New()})
	if want := `request 1 (GET /orders) does not match fixture 001.request.json: query parameter since: recorded "2024-02-03T09:30:00Z", now "2024-01-01T00:00:00Z"`; err == nil || err.Error() != want {
		t.Errorf("round 2 from nothing: %v\nwant %s", err, want)
	}
	// A whole round is read to the source's end: a page that says there
	// is more asks for a request that was not recorded. One flat folder
	// (a preview that stopped at its limit) stops after its last fixture.
	more := resp(`{"id":1,"updated_at":"2024-02-01T10:00:00Z"}`)
	more = strings.Replace(more, `"items"`, `"next":"p2","items"`, 1)
	writeFiles(t, dir, map[string]string{
		"orders/round-1/001.response.json": more,
		"flat/orders/001.request.json":     req("2024-01-01T00%3A00%3A00Z"),
		"flat/orders/001.response.json":    more,
	})
	_, err = ReplayRound(ctx, plan, e, rounds[0], p, Options{})
	if want := "request 2 (GET /orders?after=p2&since=2024-01-01T00%3A00%3A00Z) was not recorded: the fixtures hold 1"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("a whole round that asks for more: %v\nwant %s", err, want)
	}
	flat, err := Rounds(filepath.Join(dir, "flat", "orders"))
	if err != nil {
		t.Fatal(err)
	}
	if res, err := ReplayRound(ctx, plan, e, flat[0], p, Options{}); err != nil || len(res.Records) != 1 || !res.Stopped {
		t.Errorf("one flat folder: %v, %+v", err, res)
	}
}

func TestSeedState(t *testing.T) {
	plan := testPlan(t)
	e := plan.Entity("items")
	dir := t.TempDir()
	dest := memory.New()
	if err := SeedState(dest, plan, e, dir); err != nil {
		t.Fatalf("no state file: %v", err)
	}
	writeFiles(t, dir, map[string]string{"items/state.json": `{"watermark": "2024-04-01T00:00:00Z"}`})
	if err := SeedState(dest, plan, e, dir); err != nil {
		t.Fatal(err)
	}
	if cp, _ := dest.Checkpoint(context.Background(), "crm", "items"); cp.Watermark != "2024-04-01T00:00:00Z" {
		t.Errorf("checkpoint %+v", cp)
	}
	writeFiles(t, dir, map[string]string{"items/state.json": `{"watermrk": "x"}`})
	if err := SeedState(memory.New(), plan, e, dir); err == nil || !strings.Contains(err.Error(), `unknown field "watermrk"`) {
		t.Errorf("a misspelt key: %v", err)
	}
}
