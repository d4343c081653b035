package sqlsrc

import (
	"context"
	"fmt"
	"testing"

	"github.com/crmsync/crmsync/engine/source"
)

// TestPartitions: the ranges of a key with gaps and skew (integers) or
// of text keys hold equal row counts, cover every row exactly once
// (also through an author's query, and when a partition's read is
// killed and resumed), and keep to their range.
func TestPartitions(t *testing.T) {
	bothDatabases(t, func(t *testing.T, db *testDB) {
		const n = 2000
		db.exec(t, "CREATE TABLE {s}ints (id bigint PRIMARY KEY, name {text}, updated_at {ts})")
		db.exec(t, "INSERT INTO {s}ints VALUES "+values(n, func(i int) string {
			id := int64(i)
			if i > 1500 {
				id = 5_000_000_000 + int64(i)*7919 // a long sparse tail
			} else if i > 1400 {
				id = 100_000 + int64(i)*3
			}
			return fmt.Sprintf("(%d, 'n%d', '2024-03-01 10:00:00')", id, i)
		}))
		db.exec(t, "CREATE TABLE {s}texts (code varchar(20) PRIMARY KEY, name {text})")
		db.exec(t, "INSERT INTO {s}texts VALUES "+values(n, func(i int) string {
			return fmt.Sprintf("('%c%05d', 'n%d')", 'a'+rune(i%7), i*13, i)
		}))
		for _, c := range []struct {
			name, ent, key string
			n, rows, want  int
		}{
			{"skewed integers", "from: {s}ints\nprimary_key: [id]\nincremental: {field: updated_at}\n", "id", 4, 0, 4},
			{"partition_rows", "from: {s}ints\nprimary_key: [id]\n", "id", 0, 600, 4},
			{"text keys", "from: {s}texts\nprimary_key: [code]\n", "code", 3, 0, 3},
			{"query", "query: SELECT id, name FROM {s}ints WHERE id > 0\nprimary_key: [id]\n", "id", 5, 0, 5},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := db.open(t, c.ent, opts{batch: 150})
				ranges, err := r.(source.Partitioner).Partitions(context.Background(), c.n, c.rows)
				if err != nil {
					t.Fatal(err)
				}
				if len(ranges) != c.want || ranges[0].Lo != "" || ranges[len(ranges)-1].Hi != "" {
					t.Fatalf("ranges %v, want %d with open ends", ranges, c.want)
				}
				seen := map[string]int{}
				for i, rng := range ranges {
					st := source.ReadState{Range: &rng}
					first := read(t, r, st, 2) // killed after two pages
					recs := append(first.records, resumeAfter(t, r, st, first)...)
					for _, rec := range recs {
						seen[fmt.Sprint(rec[c.key])]++
					}
					share := n / c.want
					if c.rows > 0 {
						share = c.rows
					}
					if i < len(ranges)-1 && (len(recs) < share-1 || len(recs) > share+1) {
						t.Errorf("range %d %v: %d rows, want %d (equal shares)", i, rng, len(recs), share)
					}
				}
				if len(seen) != n {
					t.Errorf("%d distinct keys read, want %d", len(seen), n)
				}
				for k, times := range seen {
					if times != 1 {
						t.Errorf("key %s read %d times", k, times)
					}
				}
			})
		}
		// A range applies only to a full read.
		r := db.open(t, "from: {s}ints\nprimary_key: [id]\nincremental: {field: updated_at}\n", opts{})
		err := r.Read(context.Background(), source.ReadState{Watermark: "2024-01-01", Range: &source.KeyRange{Lo: "1"}}, func(source.Page) error { return nil })
		if err == nil {
			t.Error("a range with a watermark was read; want an error")
		}
	})
}
