package filesrc

import (
	"bytes"
	"compress/gzip"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestJSONFormats(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		content string
		format  string
		want    []string
		rows    []int
		rejects []string
		err     string
	}{
		{name: "jsonl", file: "a.jsonl", content: "\ufeff{\"id\":1,\"n\":{\"x\":[1,2]}}\r\n\n  {\"id\": 2}  \n[1,2]\n{\"id\":3,}\n{\"id\":4}",
			want: []string{`{"id":1,"n":{"x":[1,2]}}`, `{"id": 2}`, `{"id":4}`}, rows: []int{1, 3, 6},
			rejects: []string{"a.jsonl:4: the line is not a JSON object", "a.jsonl:5: invalid JSON: invalid character '}' looking for beginning of object key string"}},
		{name: "jsonl nested a million levels", file: "a.jsonl", content: "{\"a\":" + strings.Repeat("[", 1_000_000) + "\n{\"id\":5}\n",
			want: []string{`{"id":5}`}, rows: []int{2},
			rejects: []string{"a.jsonl:1: the line nests arrays and objects more than 512 levels deep (at byte 516); not parsed"}},
		{name: "ndjson by extension", file: "a.ndjson", content: "{\"a\":1}\n", want: []string{`{"a":1}`}},
		{name: "jsonl invalid utf-8", file: "a.jsonl", content: "{\"a\":\"\xe9\"}\n{\"a\":\"é\"}\n", want: []string{`{"a":"é"}`}, rejects: []string{"a.jsonl:1: the line is not valid UTF-8"}},
		{name: "array", file: "a.json", content: "[\n  {\"id\": 1,\n   \"tags\": [\"a\"]},\n  {\"id\":2}, 7, {\"id\":3}\n]\n",
			want: []string{"{\"id\": 1,\n   \"tags\": [\"a\"]}", `{"id":2}`, `{"id":3}`}, rows: []int{1, 2, 4},
			rejects: []string{"a.json:3: element 3 is not a JSON object"}},
		{name: "empty array", file: "a.json", content: " [ ] "},
		{name: "empty file", file: "a.json", content: ""},
		{name: "one object", file: "a.json", content: "\ufeff{\"id\":1}\n", want: []string{`{"id":1}`}, rows: []int{1}},
		{name: "format overrides extension", file: "data.txt", format: "jsonl", content: "{\"a\":1}\n", want: []string{`{"a":1}`}},
		{name: "broken array", file: "a.json", content: `[{"id":1},{"id":2},{"id":3 "x":1}]`, want: []string{`{"id":1}`, `{"id":2}`},
			err: `file "a.json": element 3 (at byte 19): invalid character '"' after object key:value pair`},
		{name: "truncated array", file: "a.json", content: `[{"id":1},{"id"`, want: []string{`{"id":1}`},
			err: `file "a.json": element 2 (at byte 10): unexpected EOF`},
		{name: "not an array", file: "a.json", content: `"text"`, err: `file "a.json": the file is not a JSON array of objects (it starts with '"')`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, dir, tt.file, tt.content)
			r := read(t, spec(dir, SourceConfig{Path: tt.file, Format: tt.format}, EntityConfig{}, 50), "", 0)
			if tt.err != "" {
				var fe *FileError
				if !errors.As(r.err, &fe) || r.err.Error() != tt.err {
					t.Fatalf("error %v, want *FileError %q", r.err, tt.err)
				}
			} else if r.err != nil {
				t.Fatal(r.err)
			}
			if got := jsons(r.records); !reflect.DeepEqual(got, tt.want) && len(got)+len(tt.want) > 0 {
				t.Errorf("records\n got %q\nwant %q", got, tt.want)
			}
			for i, row := range tt.rows {
				if i < len(r.records) && r.records[i].Row != row {
					t.Errorf("record %d: row %d, want %d", i, r.records[i].Row, row)
				}
			}
			var reasons []string
			for _, rj := range r.rejects {
				reasons = append(reasons, rj.Reason)
			}
			if !reflect.DeepEqual(reasons, tt.rejects) && len(reasons)+len(tt.rejects) > 0 {
				t.Errorf("rejects\n got %q\nwant %q", reasons, tt.rejects)
			}
		})
	}
}

func gz(t *testing.T, s string) string {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestGzip(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.csv.gz", gz(t, "\ufeffid,name\r\n1,\"x, y\"\r\n2,z\r\n"))
	writeFile(t, dir, "b.jsonl.gz", gz(t, "{\"id\":3}\n"))
	writeFile(t, dir, "c.json.gz", gz(t, `[{"id":4}]`))
	writeFile(t, dir, "d.csv.gz", "not gzip at all")
	r := read(t, spec(dir, SourceConfig{Path: "*.gz"}, EntityConfig{}, 50), "", 0)
	want := []string{`{"id":"1","name":"x, y"}`, `{"id":"2","name":"z"}`, `{"id":3}`, `{"id":4}`}
	if got := jsons(r.records); !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	var fe *FileError
	var re *ReadError
	if !errors.As(r.err, &fe) || fe.File != "d.csv.gz" || !errors.As(r.err, &re) || !strings.Contains(r.err.Error(), "gzip") {
		t.Errorf("error %v: want a *FileError for d.csv.gz about gzip", r.err)
	}
}
