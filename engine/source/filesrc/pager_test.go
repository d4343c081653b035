package filesrc

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/engine/source"
)

// TestPagesBoundedByBytes: wide records make pages of fewer than a batch
// (memory holds several pages at once), and every record still comes
// through once, in order, with the last page carrying the end position.
func TestPagesBoundedByBytes(t *testing.T) {
	var data bytes.Buffer
	const rows = 500
	note := strings.Repeat("x", 10_000)
	for i := range rows {
		fmt.Fprintf(&data, `{"id":%d,"note":%q}`+"\n", i, note)
	}
	fm, _ := compileFormat(spec(".", SourceConfig{Path: "x.jsonl"}, EntityConfig{}, 100_000))
	var pages []source.Page
	emit := func(p source.Page) error { pages = append(pages, p); return nil }
	pg := NewPager(100_000, emit, &State{V: stateVersion}, "")
	fs := &FileState{Name: "x.jsonl"}
	if err := pg.ReadFile(context.Background(), fm, "x.jsonl", bytes.NewReader(data.Bytes()), fs); err != nil {
		t.Fatal(err)
	}
	if err := pg.Finish(); err != nil {
		t.Fatal(err)
	}
	n, most := 0, 0
	for _, p := range pages {
		bytes := 0
		for _, r := range p.Records {
			if want := fmt.Sprintf(`{"id":%d,`, n); !strings.HasPrefix(r.JSON, want) {
				t.Fatalf("record %d starts %.20q", n, r.JSON)
			}
			n++
			bytes += len(r.JSON)
		}
		most = max(most, len(p.Records))
		if bytes > maxPageBytes+20_000 {
			t.Errorf("page %d holds %d bytes of records, over %d", p.Number, bytes, maxPageBytes)
		}
	}
	if n != rows {
		t.Fatalf("%d records came through, want %d", n, rows)
	}
	if len(pages) < rows*10_000/maxPageBytes || most >= rows {
		t.Errorf("%d pages, the largest of %d records: want pages cut by bytes", len(pages), most)
	}
	if !fs.Done || pages[len(pages)-1].Resume == "" {
		t.Error("the last page does not carry the finished file's position")
	}
}
