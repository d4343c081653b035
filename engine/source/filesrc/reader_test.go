package filesrc

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine/config"
	"github.com/crmsync/crmsync/engine/source"
	"golang.org/x/text/encoding/charmap"
)

func names(recs []source.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = fmt.Sprintf("%s:%d", r.File, r.Row)
	}
	return out
}

func TestGlobOrder(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"data/b.csv", "data/a.csv", "data/sub/c.csv", "data/sub/deeper/d.csv", "data/x.json", "data/sub/skip.txt", "other/e.csv"} {
		writeFile(t, dir, f, "id\n1\n")
	}
	os.Mkdir(filepath.Join(dir, "data", "dir.csv"), 0o755) // a folder that matches is not a file
	tests := []struct {
		path string
		want []string
	}{
		{"data/*.csv", []string{"a.csv:2", "b.csv:2"}},
		{"data/**/*.csv", []string{"a.csv:2", "b.csv:2", "sub/c.csv:2", "sub/deeper/d.csv:2"}},
		{"**/e.csv", []string{"other/e.csv:2"}},
		{"*/a.csv", []string{"data/a.csv:2"}},
		{"data/sub/c.csv", []string{"c.csv:2"}},
		{filepath.Join(dir, "data", "[ab].csv"), []string{"a.csv:2", "b.csv:2"}},
	}
	for _, tt := range tests {
		r := read(t, spec(dir, SourceConfig{Path: tt.path}, EntityConfig{}, 10), "", 0)
		if r.err != nil || !reflect.DeepEqual(names(r.records), tt.want) {
			t.Errorf("%s: got %v %v, want %v", tt.path, names(r.records), r.err, tt.want)
		}
	}
	// A file whose format cannot be told is an error for that file only.
	r := read(t, spec(dir, SourceConfig{Path: "data/sub/**"}, EntityConfig{}, 10), "", 0)
	var fe *FileError
	if !errors.As(r.err, &fe) || fe.File != "skip.txt" || !reflect.DeepEqual(names(r.records), []string{"c.csv:2", "deeper/d.csv:2"}) {
		t.Errorf("data/sub/**: got %v, %v", names(r.records), r.err)
	}
	// A directory is the files directly in it, each read by its name's format.
	r = read(t, spec(dir, SourceConfig{Path: "data/sub"}, EntityConfig{}, 10), "", 0)
	if !errors.As(r.err, &fe) || fe.File != "skip.txt" || !reflect.DeepEqual(names(r.records), []string{"c.csv:2"}) {
		t.Errorf("directory: got %v, %v", names(r.records), r.err)
	}
	// No match is no records; a missing named file is an error.
	if r := read(t, spec(dir, SourceConfig{Path: "nothing/*.csv"}, EntityConfig{}, 10), "", 0); r.err != nil || len(r.pages) != 0 {
		t.Errorf("no match: %v, %d pages", r.err, len(r.pages))
	}
	if r := read(t, spec(dir, SourceConfig{Path: "missing.csv"}, EntityConfig{}, 10), "", 0); !errors.Is(r.err, os.ErrNotExist) {
		t.Errorf("missing file: %v", r.err)
	}
}

// TestCheckpoint follows a folder over several runs.
func TestCheckpoint(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.csv", "id,v\n1,a\n2,b\n")
	writeFile(t, dir, "b.csv", "id,v\n3,c\n")
	sp := spec(dir, SourceConfig{Path: "*.csv"}, EntityConfig{}, 10)

	r1 := read(t, sp, "", 0)
	if r1.err != nil || !reflect.DeepEqual(names(r1.records), []string{"a.csv:2", "a.csv:3", "b.csv:2"}) {
		t.Fatalf("first run: %v %v", names(r1.records), r1.err)
	}

	// Nothing changed: nothing is read and no page is emitted.
	r2 := read(t, sp, r1.resume, 0)
	if r2.err != nil || len(r2.pages) != 0 {
		t.Fatalf("unchanged run: %d pages, %v", len(r2.pages), r2.err)
	}

	// a.csv grew: only its new rows; b.csv untouched.
	f, _ := os.OpenFile(filepath.Join(dir, "a.csv"), os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("4,d\n5,e\n")
	f.Close()
	r3 := read(t, sp, r1.resume, 0)
	if r3.err != nil || !reflect.DeepEqual(jsons(r3.records), []string{`{"id":"4","v":"d"}`, `{"id":"5","v":"e"}`}) ||
		!reflect.DeepEqual(names(r3.records), []string{"a.csv:4", "a.csv:5"}) {
		t.Fatalf("grown run: %v %v", names(r3.records), r3.err)
	}

	// b.csv rewritten with the same size: read again from the start.
	writeFile(t, dir, "b.csv", "id,v\n3,C\n")
	r4 := read(t, sp, r3.resume, 0)
	if r4.err != nil || !reflect.DeepEqual(jsons(r4.records), []string{`{"id":"3","v":"C"}`}) {
		t.Fatalf("rewritten run: %v %v", jsons(r4.records), r4.err)
	}

	// a.csv shrank: a rewrite too.
	writeFile(t, dir, "a.csv", "id,v\n9,z\n")
	r5 := read(t, sp, r4.resume, 0)
	if r5.err != nil || !reflect.DeepEqual(jsons(r5.records), []string{`{"id":"9","v":"z"}`}) {
		t.Fatalf("shrunk run: %v %v", jsons(r5.records), r5.err)
	}

	// b.csv removed: it leaves the checkpoint (an empty page says so).
	os.Remove(filepath.Join(dir, "b.csv"))
	r6 := read(t, sp, r5.resume, 0)
	st, _ := ParseState(r6.resume)
	if r6.err != nil || len(r6.records) != 0 || len(st.Files) != 1 || st.Files[0].Name != "a.csv" || !st.Files[0].Done {
		t.Fatalf("removed run: %d records, state %s, %v", len(r6.records), r6.resume, r6.err)
	}

	// A resume from something else starts over instead of failing.
	r7 := read(t, sp, `{"cursor":"abc"}`, 0)
	if r7.err != nil || len(r7.records) != 1 {
		t.Fatalf("foreign resume: %d records, %v", len(r7.records), r7.err)
	}
}

// TestCheckpointBigFile checks the grown/rewritten rules where the
// fingerprint samples the ends of a file instead of hashing it whole.
func TestCheckpointBigFile(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("id,pad\n")
	for i := range 5000 {
		fmt.Fprintf(&b, "%d,%s\n", i, strings.Repeat("x", 40))
	}
	content := b.String() // about 240 KiB, over the 128 KiB sampled
	writeFile(t, dir, "big.csv", content)
	sp := spec(dir, SourceConfig{Path: "big.csv"}, EntityConfig{}, 1000)
	r1 := read(t, sp, "", 0)
	if len(r1.records) != 5000 {
		t.Fatalf("first run: %d records, %v", len(r1.records), r1.err)
	}
	writeFile(t, dir, "big.csv", content+"5000,y\n")
	r2 := read(t, sp, r1.resume, 0)
	if len(r2.records) != 1 || r2.records[0].Row != 5002 {
		t.Fatalf("grown: %v, %v", names(r2.records), r2.err)
	}
	// Same size, an edit in the middle the fingerprint does not sample:
	// the new modification time makes it a rewrite.
	edited := strings.Replace(content, "2500,x", "2500,y", 1)
	writeFile(t, dir, "big.csv", edited)
	os.Chtimes(filepath.Join(dir, "big.csv"), time.Now(), time.Now().Add(time.Hour))
	r4 := read(t, sp, r1.resume, 0)
	if len(r4.records) != 5000 || r4.records[2500].JSON != `{"id":"2500","pad":"y`+strings.Repeat("x", 39)+`"}` {
		t.Fatalf("edited in the middle: %d records, %v", len(r4.records), r4.err)
	}
	// A small file touched but not changed is still skipped: its
	// fingerprint is a hash of all of it.
	writeFile(t, dir, "small.csv", "id\n1\n")
	sp2 := spec(dir, SourceConfig{Path: "small.csv"}, EntityConfig{}, 10)
	s1 := read(t, sp2, "", 0)
	os.Chtimes(filepath.Join(dir, "small.csv"), time.Now(), time.Now().Add(time.Hour))
	if s2 := read(t, sp2, s1.resume, 0); len(s2.pages) != 0 {
		t.Fatalf("touched small file read again: %d pages", len(s2.pages))
	}
	// Change the last row of the old part: not a pure append any more.
	writeFile(t, dir, "big.csv", strings.Replace(content, "4999,", "4998,", 1)+"5000,y\n")
	r3 := read(t, sp, r1.resume, 0)
	if len(r3.records) != 5001 {
		t.Fatalf("rewritten: %d records, %v", len(r3.records), r3.err)
	}
}

// TestResumeAfterKill stops emit after page k, then reads again from the
// last Resume it got: every record comes exactly once, for each format
// and each way of reaching the offset (seek, gunzip, transcoding).
func TestResumeAfterKill(t *testing.T) {
	// 23 rows in pages of 4 resume inside the read buffer; 30,000 rows in
	// pages of 8,000 resume past it, by seeking or reading on.
	for _, size := range [][2]int{{23, 4}, {30000, 8000}} {
		t.Run(fmt.Sprint(size[0]), func(t *testing.T) { testResumeAfterKill(t, size[0], size[1]) })
	}
}

func testResumeAfterKill(t *testing.T, n, batch int) {
	var csvText, jsonl, jsonArr strings.Builder
	csvText.WriteString("id,note\r\n")
	jsonArr.WriteString("[\n")
	for i := 1; i <= n; i++ {
		note := fmt.Sprintf("n%d", i)
		if i%5 == 0 {
			note = "\"multi\r\nline, é\""
		}
		if i == 7 {
			fmt.Fprintf(&csvText, "%d,%s,extra\r\n", i, note) // a reject counts as a row too
		} else {
			fmt.Fprintf(&csvText, "%d,%s\r\n", i, note)
		}
		fmt.Fprintf(&jsonl, "{\"id\":%d}\n", i)
		if i > 1 {
			jsonArr.WriteString(",\n")
		}
		fmt.Fprintf(&jsonArr, "  {\"id\": %d}", i)
	}
	jsonArr.WriteString("\n]\n")
	cp1252, _ := charmap.Windows1252.NewEncoder().String(csvText.String())
	tests := []struct {
		file, content string
		csv           *CSVFormat
	}{
		{"a.csv", csvText.String(), nil},
		{"a.csv.gz", gz(t, csvText.String()), nil},
		{"a.csv", cp1252, &CSVFormat{Encoding: "windows-1252"}},
		{"a.jsonl", jsonl.String(), nil},
		{"a.json", jsonArr.String(), nil},
	}
	for _, tt := range tests {
		dir := t.TempDir()
		writeFile(t, dir, tt.file, tt.content)
		sp := spec(dir, SourceConfig{Path: tt.file, CSV: tt.csv}, EntityConfig{}, batch)
		full := read(t, sp, "", 0)
		if full.err != nil || len(full.records) < n-1 {
			t.Fatalf("%s: full read: %d records, %v", tt.file, len(full.records), full.err)
		}
		for k := 1; k < len(full.pages); k++ {
			first := read(t, sp, "", k)
			if !errors.Is(first.err, errKilled) || len(first.pages) != k {
				t.Fatalf("%s k=%d: %v after %d pages", tt.file, k, first.err, len(first.pages))
			}
			rest := read(t, sp, first.resume, 0)
			if rest.err != nil {
				t.Fatalf("%s k=%d: resumed: %v", tt.file, k, rest.err)
			}
			got := append(append([]source.Record{}, first.records...), rest.records...)
			if !reflect.DeepEqual(got, full.records) {
				t.Fatalf("%s killed after page %d: got %v, want %v", tt.file, k, names(got), names(full.records))
			}
			if gotRej := append(first.rejects, rest.rejects...); !reflect.DeepEqual(gotRej, full.rejects) {
				t.Fatalf("%s killed after page %d: rejects %v, want %v", tt.file, k, gotRej, full.rejects)
			}
		}
	}
}

// TestFileErrorsDoNotStopOthers: a file missing a required column stops,
// the others are read, and the error comes back on every run until fixed.
func TestFileErrorsDoNotStopOthers(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "a.csv", "id,email\n1,a@x\n")
	writeFile(t, dir, "b.csv", "id,mail\n2,b@x\n")
	writeFile(t, dir, "c.csv", "id,email\n3,c@x\n")
	writeFile(t, dir, "d.csv", "id,email,email\n4,d@x,e\n")
	sp := spec(dir, SourceConfig{Path: "*.csv"}, EntityConfig{RequiredColumns: config.StringList{"email"}}, 10)
	for run := 1; run <= 2; run++ {
		r := read(t, sp, "", 0)
		if run == 2 {
			r = read(t, sp, r.resume, 0)
		}
		var fe *FileError
		if !errors.As(r.err, &fe) || fe.File != "b.csv" || !strings.Contains(r.err.Error(), `the header lacks the required columns "email"`) ||
			!strings.Contains(r.err.Error(), `file "d.csv": duplicate column "email"`) {
			t.Fatalf("run %d: error %v", run, r.err)
		}
		if run == 1 && !reflect.DeepEqual(names(r.records), []string{"a.csv:2", "c.csv:2"}) {
			t.Fatalf("run %d: records %v", run, names(r.records))
		}
	}
	// Fixed: b.csv is read, a and c stay skipped.
	r1 := read(t, sp, "", 0)
	writeFile(t, dir, "b.csv", "id,email\n2,b@x\n")
	r2 := read(t, sp, r1.resume, 0)
	if !reflect.DeepEqual(names(r2.records), []string{"b.csv:2"}) {
		t.Fatalf("after the fix: %v, %v", names(r2.records), r2.err)
	}
}
