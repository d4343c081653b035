package postgres

import (
	"context"
	"encoding/json"
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/crmsync/crmsync/engine/sink"
	"github.com/crmsync/crmsync/engine/value"
)

// allTypes has one column of every field type.
func allTypes() *sink.Table {
	return &sink.Table{
		Name: "all_types",
		Columns: []sink.Column{
			{Name: "id", Type: value.Integer},
			{Name: "s", Type: value.String},
			{Name: "phone", Type: value.Phone},
			{Name: "email", Type: value.Email},
			{Name: "url", Type: value.URL},
			{Name: "n", Type: value.Integer},
			{Name: "d", Type: value.Decimal},
			{Name: "f", Type: value.Float},
			{Name: "b", Type: value.Boolean},
			{Name: "day", Type: value.Date},
			{Name: "at", Type: value.Datetime},
			{Name: "j", Type: value.JSON},
			{Name: "tags", Type: value.StringArray},
		},
		PrimaryKey: []string{"id"},
		KeepRaw:    true,
	}
}

// TestRoundTrip writes every type and reads it back as PostgreSQL's own
// text, so the comparison does not depend on the encoder under test.
func TestRoundTrip(t *testing.T) {
	d, admin := openTest(t)
	ctx := context.Background()
	tbl := allTypes()
	mustPrepare(t, d, tbl)
	dec := func(s string) decimal.Decimal { return decimal.RequireFromString(s) }
	ny, _ := time.LoadLocation("America/New_York")
	tests := []struct {
		name string
		vals []any
		raw  string
		want string // the row as text, columns joined by |
	}{
		{"nulls", []any{int64(1), nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil}, "",
			"1|∅|∅|∅|∅|∅|∅|∅|∅|∅|∅|∅|∅|∅"},
		{"typical", []any{int64(2), "Zoë — 東京 🚀", "+15551234567", "a@b.co", "https://x.test/?q=1", int64(-42),
			dec("1234.50"), 3.25, true, time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC),
			time.Date(2024, 3, 1, 12, 30, 45, 123456000, time.UTC), json.RawMessage(`{"b": [1, 2], "a": "x"}`), []string{"x", "y,z", `q"uote`}},
			`{"id": 2}`,
			`2|Zoë — 東京 🚀|+15551234567|a@b.co|https://x.test/?q=1|-42|1234.50|3.25|true|2024-02-29|2024-03-01 12:30:45.123456+00|{"a": "x", "b": [1, 2]}|{x,"y,z","q\"uote"}|{"id": 2}`},
		{"huge decimal", []any{int64(3), "", nil, nil, nil, int64(math.MaxInt64), dec("-123456789012345678901234567890.123456789"),
			math.Inf(1), false, time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC), time.Date(1999, 12, 31, 23, 59, 59, 999999000, ny),
			json.RawMessage(`[]`), []string{}}, "",
			`3||∅|∅|∅|9223372036854775807|-123456789012345678901234567890.123456789|Infinity|false|1969-12-31|2000-01-01 04:59:59.999999+00|[]|{}|∅`},
		{"decimal shapes", []any{int64(4), nil, nil, nil, nil, int64(math.MinInt64), dec("0.00012"), -0.5, nil,
			time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), json.RawMessage(`"s"`), []string{""}}, "",
			`4|∅|∅|∅|∅|-9223372036854775808|0.00012|-0.5|∅|2000-01-01|2000-01-01 00:00:00+00|"s"|{""}|∅`},
		{"big exponent", []any{int64(5), nil, nil, nil, nil, nil, decimal.New(7, 30), nil, nil, nil, nil, json.RawMessage(`null`), nil}, "",
			`5|∅|∅|∅|∅|∅|7000000000000000000000000000000|∅|∅|∅|∅|null|∅|∅`},
		{"zero with scale", []any{int64(6), nil, nil, nil, nil, nil, dec("0.000"), nil, nil, nil, nil, nil, nil}, "",
			`6|∅|∅|∅|∅|∅|0.000|∅|∅|∅|∅|∅|∅|∅`},
		{"negative fraction", []any{int64(7), nil, nil, nil, nil, nil, dec("-0.5"), nil, nil, nil, nil, nil, nil}, "",
			`7|∅|∅|∅|∅|∅|-0.5|∅|∅|∅|∅|∅|∅|∅`},
		{"many groups", []any{int64(8), nil, nil, nil, nil, nil, dec("10000.0001"), nil, nil, nil, nil, nil, nil}, "",
			`8|∅|∅|∅|∅|∅|10000.0001|∅|∅|∅|∅|∅|∅|∅`},
	}
	var rows []sink.Row
	for _, tt := range tests {
		rows = append(rows, sink.Row{Values: tt.vals, Raw: tt.raw})
	}
	mustWrite(t, d, &sink.Batch{SyncID: 1, Table: tbl, Rows: rows})
	if _, err := admin.Exec(ctx, "SET TIME ZONE 'UTC'"); err != nil {
		t.Fatal(err)
	}
	cols := []string{"id", "s", "phone", "email", "url", "n", "d", "f", "b", "day", "at", "j", "tags", "_raw"}
	var sel []string
	for _, c := range cols {
		sel = append(sel, "coalesce("+quote(c)+"::text, '∅')")
	}
	for _, tt := range tests {
		var got string
		id := tt.vals[0].(int64)
		err := admin.QueryRow(ctx, "SELECT concat_ws('|', "+strings.Join(sel, ", ")+") FROM all_types WHERE id = $1", id).Scan(&got)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
	// Unchanged values hash the same: writing them again changes nothing.
	if r := mustWrite(t, d, &sink.Batch{SyncID: 2, Table: tbl, Rows: rows}); r.Unchanged != len(rows) {
		t.Errorf("second write of the same rows: %+v, want all unchanged", r)
	}
}

func TestEncodeErrors(t *testing.T) {
	d, _ := openTest(t)
	tbl := allTypes()
	mustPrepare(t, d, tbl)
	row := func(col int, v any) []any {
		vals := make([]any, len(tbl.Columns))
		vals[0] = int64(9)
		vals[col] = v
		return vals
	}
	tests := []struct {
		name string
		vals []any
		want string
	}{
		{"wrong Go type", row(6, "12.5"), `row 1 (id=9): column "d" (decimal): got a Go string, want decimal.Decimal`},
		{"NUL in text", row(1, "a\x00b"), `column "s" (string): text contains a NUL byte`},
		{"bad UTF-8", row(12, []string{"\xff"}), `column "tags" (string[]): text is not valid UTF-8`},
		{"null key", row(0, nil), `primary key column "id" is null`},
		{"short row", []any{int64(1)}, "row 1 has 1 values for 13 columns"},
	}
	for _, tt := range tests {
		_, err := d.Write(context.Background(), &sink.Batch{Table: tbl, Rows: []sink.Row{{Values: tt.vals}}})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want it to contain %q", tt.name, err, tt.want)
		}
		if err != nil && !strings.Contains(err.Error(), `writing table "all_types"`) {
			t.Errorf("%s: error %q does not name the table", tt.name, err)
		}
	}
}

// TestNumericExact writes decimals of many shapes (up to 40 digits,
// exponents -30..30, both signs) and checks PostgreSQL stores each one
// exactly, scale included.
func TestNumericExact(t *testing.T) {
	d, admin := openTest(t)
	tbl := &sink.Table{Name: "nums", Columns: []sink.Column{{Name: "id", Type: value.Integer}, {Name: "d", Type: value.Decimal}}, PrimaryKey: []string{"id"}}
	mustPrepare(t, d, tbl)
	rng := rand.New(rand.NewPCG(1, 2))
	var rows []sink.Row
	var want []string
	for i := range 2000 {
		digits := make([]byte, 1+rng.IntN(40))
		for k := range digits {
			digits[k] = byte('0' + rng.IntN(10))
		}
		if rng.IntN(4) == 0 {
			digits = digits[:min(len(digits), 1+rng.IntN(3))] // short ones, often zero
		}
		coef, _ := new(big.Int).SetString(string(digits), 10)
		if rng.IntN(2) == 0 {
			coef.Neg(coef)
		}
		exp := int32(rng.IntN(61) - 30)
		v := decimal.NewFromBigInt(coef, exp)
		rows = append(rows, sink.Row{Values: []any{int64(i), v}})
		want = append(want, v.StringFixed(max(0, -exp)))
	}
	mustWrite(t, d, &sink.Batch{Table: tbl, Rows: rows})
	got, err := pgx.CollectRows(must(admin.Query(context.Background(), "SELECT d::text FROM nums ORDER BY id")), pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	bad := 0
	for i := range want {
		if got[i] != want[i] && bad < 10 {
			bad++
			t.Errorf("decimal %s (coefficient %s, exponent %d) stored as %s", want[i], rows[i].Values[1].(decimal.Decimal).Coefficient(), rows[i].Values[1].(decimal.Decimal).Exponent(), got[i])
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
