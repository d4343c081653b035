package postgres

import (
	"fmt"
	"slices"
	"testing"

	"github.com/crmsync/crmsync/engine/sink"
	"github.com/crmsync/crmsync/engine/value"
)

// TestEncodeDedupes: duplicate keys in a batch keep the place of their
// first row and the values of their last, with the index's real hash and
// with a hash under which every key collides (the byte comparison then
// tells them apart), for one key column and for two.
func TestEncodeDedupes(t *testing.T) {
	one := contactsTable()
	two := &sink.Table{Name: "pairs", Columns: []sink.Column{{Name: "a", Type: value.Integer}, {Name: "b", Type: value.String}, {Name: "v", Type: value.String}},
		PrimaryKey: []string{"b", "a"}}
	cases := []struct {
		name string
		tbl  *sink.Table
		rows []sink.Row
		want []int32 // kept rows' input index, in order
	}{
		{"one key", one, []sink.Row{contact(1, "a"), contact(2, "b"), contact(1, "c"), contact(3, "d"), contact(2, "e"), contact(4, "f"), contact(1, "g")}, []int32{6, 4, 3, 5}},
		{"no duplicates", one, []sink.Row{contact(1, "a"), contact(2, "b"), contact(3, "c")}, []int32{0, 1, 2}},
		{"two keys", two, []sink.Row{
			{Values: []any{int64(1), "x", "a"}}, {Values: []any{int64(1), "y", "b"}}, {Values: []any{int64(2), "x", "c"}},
			{Values: []any{int64(1), "x", "d"}}, {Values: []any{int64(1), "y", "e"}},
			// The same bytes split differently between the fields are another key.
			{Values: []any{int64(1), "xy", "f"}},
		}, []int32{3, 4, 2, 5}},
	}
	real := keyHash
	defer func() { keyHash = real }()
	for _, h := range []struct {
		name string
		fn   func([]byte) uint64
	}{{"maphash", real}, {"all collide", func([]byte) uint64 { return 7 }}} {
		keyHash = h.fn
		for _, tc := range cases {
			if err := check(tc.tbl); err != nil {
				t.Fatal(err)
			}
			p := (&DB{schema: "s"}).compile(tc.tbl, tc.tbl.Name, map[string]string{})
			e := getEncoded()
			for range 2 { // a reused encoded starts clean
				if err := e.encode(p, tc.rows, 1); err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(e.src, tc.want) {
					t.Errorf("%s, %s: kept rows %v, want %v", h.name, tc.name, e.src, tc.want)
				}
				for i, r := range e.rows {
					if got, want := e.buf[r.from:r.to], encodeOne(t, p, tc.rows[tc.want[i]]); string(got) != string(want) {
						t.Errorf("%s, %s: kept row %d is not input row %d's tuple", h.name, tc.name, i, tc.want[i])
					}
				}
			}
			putEncoded(e)
		}
	}
}

// encodeOne is the tuple of one row alone.
func encodeOne(t *testing.T, p *plan, r sink.Row) []byte {
	e := &encoded{index: map[uint64]int32{}}
	if err := e.encode(p, []sink.Row{r}, 1); err != nil {
		t.Fatal(err)
	}
	if len(e.rows) != 1 {
		t.Fatal(fmt.Sprint("encodeOne kept ", len(e.rows)))
	}
	return e.buf[e.rows[0].from:e.rows[0].to]
}
