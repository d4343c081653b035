package filesrc

import (
	"reflect"
	"testing"

	"github.com/crmsync/crmsync/engine/config"
	"github.com/crmsync/crmsync/engine/source"
)

func TestCompileProblems(t *testing.T) {
	tests := []struct {
		name string
		src  SourceConfig
		ent  EntityConfig
		want []source.Problem // Path and Code only; Message checked non-empty
		ok   bool             // an opener comes back (warnings only)
	}{
		{name: "fine", src: SourceConfig{Path: "data/*.csv"}, ok: true},
		{name: "entity path", ent: EntityConfig{Path: "x.jsonl"}, ok: true},
		{name: "glob without extension", src: SourceConfig{Path: "drop/*"}, ok: true},
		{name: "no path", want: []source.Problem{{Path: "/entities/e/path", Code: "missing-setting"}}},
		{name: "bad glob", src: SourceConfig{Path: "data/[.csv"}, want: []source.Problem{{Path: "/source/path", Code: "invalid-value"}}},
		{name: "unknown format", src: SourceConfig{Path: "a.csv"}, ent: EntityConfig{Format: "xml"},
			want: []source.Problem{{Path: "/entities/e/format", Code: "invalid-value"}}},
		{name: "format not told by name", src: SourceConfig{Path: "export.txt"}, want: []source.Problem{{Path: "/source/format", Code: "missing-setting"}}},
		{name: "bad csv settings", src: SourceConfig{Path: "a.csv", CSV: &CSVFormat{Encoding: "ebcdic", SkipRows: -1}},
			ent: EntityConfig{CSV: &CSVFormat{Delimiter: ";;", Comment: "//"}},
			want: []source.Problem{
				{Path: "/entities/e/csv/delimiter", Code: "invalid-value"},
				{Path: "/entities/e/csv/comment", Code: "invalid-value"},
				{Path: "/source/csv/skip_rows", Code: "invalid-value"},
				{Path: "/source/csv/encoding", Code: "invalid-value"},
			}},
		{name: "quote is delimiter", src: SourceConfig{Path: "a.csv", CSV: &CSVFormat{Delimiter: "'", Quote: "'"}},
			want: []source.Problem{{Path: "/source/csv/quote", Code: "invalid-value"}}},
		{name: "newline delimiter", src: SourceConfig{Path: "a.csv", CSV: &CSVFormat{Delimiter: "\n"}},
			want: []source.Problem{{Path: "/source/csv/delimiter", Code: "invalid-value"}}},
		{name: "csv settings on jsonl", src: SourceConfig{Path: "a.jsonl", CSV: &CSVFormat{Delimiter: ";"}},
			want: []source.Problem{{Path: "/source/csv", Code: "ignored-setting", Warning: true}}, ok: true},
		{name: "required column not in columns", src: SourceConfig{Path: "a.csv", CSV: &CSVFormat{Columns: config.StringList{"id", "id"}}},
			ent:  EntityConfig{RequiredColumns: config.StringList{"email"}},
			want: []source.Problem{{Path: "/source/csv/columns", Code: "invalid-value"}, {Path: "/entities/e/required_columns", Code: "invalid-value"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op, probs := Compile(spec(".", tt.src, tt.ent, 10))
			var got []source.Problem
			for _, p := range probs {
				if p.Message == "" {
					t.Errorf("problem at %s has no message", p.Path)
				}
				got = append(got, source.Problem{Path: p.Path, Code: p.Code, Warning: p.Warning})
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("problems\n got %+v\nwant %+v", got, tt.want)
			}
			if (op != nil) != tt.ok {
				t.Errorf("opener %v, want one: %v", op, tt.ok)
			}
		})
	}
}

// TestCSVMerge: the entity's csv settings override the source's field by field.
func TestCSVMerge(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.csv", "skip me\nid;name\n1;Jos\xe9\n")
	src := SourceConfig{Path: "a.csv", CSV: &CSVFormat{Delimiter: ";", SkipRows: 1}}
	ent := EntityConfig{CSV: &CSVFormat{Encoding: "latin1"}}
	r := read(t, spec(dir, src, ent, 10), "", 0)
	if want := []string{`{"id":"1","name":"José"}`}; r.err != nil || !reflect.DeepEqual(jsons(r.records), want) {
		t.Errorf("got %q %v, want %q", jsons(r.records), r.err, want)
	}
}
