package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/engine/sink"
	"github.com/crmsync/crmsync/engine/value"
)

var ctx = context.Background()

// openTemp opens a fresh destination file in a test's temporary folder.
func openTemp(t testing.TB) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.db")
	d, err := Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, path
}

// contacts is a small upsert table: id, name, score.
func contacts() *sink.Table {
	return &sink.Table{
		Name:       "contacts",
		Columns:    []sink.Column{{Name: "id", Type: value.String}, {Name: "name", Type: value.String}, {Name: "score", Type: value.Integer}},
		PrimaryKey: []string{"id"},
	}
}

func row(values ...any) sink.Row { return sink.Row{Values: values} }

func mustPrepare(t testing.TB, d *DB, tables ...*sink.Table) {
	t.Helper()
	for _, tb := range tables {
		if err := d.Prepare(ctx, tb); err != nil {
			t.Fatal(err)
		}
	}
}

func mustWrite(t testing.TB, d *DB, b *sink.Batch) sink.Result {
	t.Helper()
	if b.Pipeline == "" {
		b.Pipeline, b.Entity = "crm", "contacts"
	}
	res, err := d.Write(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// dump returns a query's rows, one string per row, values joined by "|",
// NULL as "NULL".
func dump(t testing.TB, d *DB, q string, args ...any) []string {
	t.Helper()
	rows, err := d.r.QueryContext(ctx, q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			if v == nil {
				parts[i] = "NULL"
			} else {
				parts[i] = fmt.Sprint(v)
			}
		}
		out = append(out, strings.Join(parts, "|"))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func equal(t testing.TB, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("%s:\ngot:\n  %s\nwant:\n  %s", what, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}
