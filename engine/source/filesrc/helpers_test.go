package filesrc

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/crmsync/crmsync/engine/config"
	"github.com/crmsync/crmsync/engine/source"
)

var update = flag.Bool("update", false, "rewrite golden files")

// run is one Read: what it emitted and what it returned.
type run struct {
	pages   []source.Page
	records []source.Record
	rejects []source.Reject
	resume  string // Resume of the last page, or the one given
	err     error
}

// spec builds a source spec of type file for an entity named e.
func spec(dir string, src SourceConfig, ent EntityConfig, batch int) *source.Spec {
	return &source.Spec{
		Pipeline:  "t",
		Source:    &config.Source{Type: "file", Settings: &src},
		Entity:    &config.Entity{Name: "e", Settings: &ent},
		Path:      "/entities/e",
		BaseDir:   dir,
		BatchSize: batch,
	}
}

// compileFormat compiles the spec's file settings.
func compileFormat(sp *source.Spec) (*Format, []source.Problem) {
	return CompileFormat(sp, sp.Source.Settings.(*SourceConfig))
}

// read compiles and reads once from resume; stopAfter > 0 makes emit
// fail after that many pages, as a killed process would.
func read(t *testing.T, sp *source.Spec, resume string, stopAfter int) run {
	t.Helper()
	op, probs := Compile(sp)
	if op == nil {
		t.Fatalf("compile: %v", probs)
	}
	rd, err := op.Open(context.Background(), &source.Env{})
	if err != nil {
		t.Fatal(err)
	}
	r := run{resume: resume}
	r.err = rd.Read(context.Background(), source.ReadState{Resume: resume}, func(p source.Page) error {
		if stopAfter > 0 && len(r.pages) == stopAfter {
			return errKilled
		}
		if len(p.Records)+len(p.Rejects) > sp.BatchSize && sp.BatchSize > 0 {
			t.Errorf("page %d holds %d records and rejects, batch is %d", p.Number, len(p.Records)+len(p.Rejects), sp.BatchSize)
		}
		r.pages = append(r.pages, p)
		r.records = append(r.records, p.Records...)
		r.rejects = append(r.rejects, p.Rejects...)
		r.resume = p.Resume
		return nil
	})
	return r
}

type killed struct{}

func (killed) Error() string { return "killed" }

var errKilled error = killed{}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func jsons(recs []source.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.JSON
	}
	return out
}

func ptr[T any](v T) *T { return &v }
