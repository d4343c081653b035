package filesrc

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/crmsync/crmsync/engine/source"
)

// writeLeads writes n rows of a 10-column CSV with quoted commas and a
// few escapes, about 130 bytes a row.
func writeLeads(w io.Writer, n int) {
	bw := bufio.NewWriterSize(w, 1<<20)
	bw.WriteString("id,first_name,last_name,email,phone,company,city,state,zip,notes\n")
	for i := range n {
		fmt.Fprintf(bw, "%d,José,Müller-%d,jose.%d@example.com,(555) 010-%04d,\"Acme, Inc.\",Köln,NY,%05d,\"said \"\"hi\"\"\tthen left\"\n",
			i, i%97, i, i%10000, i%100000)
	}
	bw.Flush()
}

// TestMemoryFlat reads a ~200 MB CSV and checks the heap stays flat.
func TestMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and reads a 200 MB file")
	}
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "big.csv"))
	if err != nil {
		t.Fatal(err)
	}
	const rows = 1_800_000
	writeLeads(f, rows)
	info, _ := f.Stat()
	f.Close()

	op, _ := Compile(spec(dir, SourceConfig{Path: "big.csv"}, EntityConfig{}, 1000))
	rd, _ := op.Open(context.Background(), nil)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak uint64
	n := 0
	err = rd.Read(context.Background(), source.ReadState{}, func(p source.Page) error {
		n += len(p.Records)
		if p.Number%20 == 0 {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
		return nil
	})
	if err != nil || n != rows {
		t.Fatalf("read %d of %d records: %v", n, rows, err)
	}
	t.Logf("file %d MB, %d records, peak heap %.1f MiB (%.1f MiB above the start)",
		info.Size()>>20, n, float64(peak)/(1<<20), float64(peak-base)/(1<<20))
	if peak-base > 64<<20 {
		t.Errorf("heap grew by %d MiB reading a %d MB file: not streaming", (peak-base)>>20, info.Size()>>20)
	}
}

// BenchmarkCSV parses a 10-column CSV into JSON records through a Pager.
func BenchmarkCSV(b *testing.B) {
	var data bytes.Buffer
	const rows = 50_000
	writeLeads(&data, rows)
	fm, _ := compileFormat(spec(".", SourceConfig{Path: "x.csv"}, EntityConfig{}, 1000))
	emit := func(source.Page) error { return nil }
	b.SetBytes(int64(data.Len()))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		pg := NewPager(1000, emit, &State{V: stateVersion}, "")
		fs := &FileState{Name: "x.csv"}
		if err := pg.ReadFile(context.Background(), fm, "x.csv", bytes.NewReader(data.Bytes()), fs); err != nil {
			b.Fatal(err)
		}
		if err := pg.Finish(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkJSONL reads JSON lines (validated, copied as they are).
func BenchmarkJSONL(b *testing.B) {
	var data bytes.Buffer
	const rows = 50_000
	for i := range rows {
		fmt.Fprintf(&data, `{"id":%d,"properties":{"email":"a%d@example.com","firstname":"José","lastname":"Müller"},"updatedAt":"2024-05-01T10:00:00Z"}`+"\n", i, i)
	}
	fm, _ := compileFormat(spec(".", SourceConfig{Path: "x.jsonl"}, EntityConfig{}, 1000))
	emit := func(source.Page) error { return nil }
	b.SetBytes(int64(data.Len()))
	b.ReportAllocs()
	for b.Loop() {
		pg := NewPager(1000, emit, &State{V: stateVersion}, "")
		if err := pg.ReadFile(context.Background(), fm, "x.jsonl", bytes.NewReader(data.Bytes()), &FileState{Name: "x.jsonl"}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "records/s")
}
