package sqlite

import (
	"database/sql"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine/sink"
	"github.com/crmsync/crmsync/engine/value"
	"github.com/shopspring/decimal"
)

// TestRoundTrip writes one value of every type and reads back what SQLite
// stored: its storage class and its text.
func TestRoundTrip(t *testing.T) {
	berlin := time.FixedZone("CEST", 2*3600)
	for _, tc := range []struct {
		name string
		typ  value.Type
		in   any
		want string // typeof|value
	}{
		{"null string", value.String, nil, "null|NULL"},
		{"utf-8", value.String, "Zoë Ñúñez 東京 🎉", "text|Zoë Ñúñez 東京 🎉"},
		{"quotes", value.String, `it's "x"`, `text|it's "x"`},
		{"phone", value.Phone, "+14155550123", "text|+14155550123"},
		{"integer", value.Integer, int64(-9007199254740993), "integer|-9007199254740993"},
		{"null integer", value.Integer, nil, "null|NULL"},
		{"decimal 30 digits", value.Decimal, decimal.RequireFromString("123456789012345678901234567890.123456789"), "text|123456789012345678901234567890.123456789"},
		{"decimal keeps scale", value.Decimal, decimal.RequireFromString("1.10"), "text|1.10"},
		{"decimal no exponent", value.Decimal, decimal.New(15, 2), "text|1500"},
		{"decimal negative", value.Decimal, decimal.RequireFromString("-0.005"), "text|-0.005"},
		{"null decimal", value.Decimal, nil, "null|NULL"},
		{"float", value.Float, 0.1, "real|0.1"},
		{"true", value.Boolean, true, "integer|1"},
		{"false", value.Boolean, false, "integer|0"},
		{"date", value.Date, time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), "text|2024-02-29"},
		{"datetime in a zone is stored in UTC", value.Datetime, time.Date(2024, 3, 1, 1, 30, 0, 123456789, berlin), "text|2024-02-29T23:30:00.123456Z"},
		{"datetime whole seconds", value.Datetime, time.Date(2024, 3, 1, 1, 30, 0, 0, time.UTC), "text|2024-03-01T01:30:00.000000Z"},
		{"json", value.JSON, json.RawMessage(`{"a":[1,"x"],"b":1.10}`), `text|{"a":[1,"x"],"b":1.10}`},
		{"json number stays text", value.JSON, json.RawMessage(`12`), "text|12"},
		{"empty json is null", value.JSON, json.RawMessage(nil), "null|NULL"},
		{"string array", value.StringArray, []string{"a", `b"c`, "ü"}, `text|["a","b\"c","ü"]`},
		{"empty string array", value.StringArray, []string(nil), "text|[]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, _ := openTemp(t)
			tb := &sink.Table{Name: "t", Columns: []sink.Column{{Name: "id", Type: value.Integer}, {Name: "v", Type: tc.typ}}, PrimaryKey: []string{"id"}}
			mustPrepare(t, d, tb)
			b := &sink.Batch{Table: tb, Rows: []sink.Row{row(int64(1), tc.in)}}
			if res := mustWrite(t, d, b); res.Created != 1 {
				t.Fatalf("first write: %+v", res)
			}
			// CAST: the stored text itself (a driver reads DATE and DATETIME columns as times).
			equal(t, "stored", dump(t, d, "SELECT typeof(v), CAST(v AS TEXT) FROM t"), []string{tc.want})
			// Writing the same value again must compare equal to what is stored.
			if res := mustWrite(t, d, b); res.Unchanged != 1 {
				t.Errorf("second write of the same value: %+v, want unchanged", res)
			}
		})
	}
}

func TestDatetimesSortAsText(t *testing.T) {
	d, _ := openTemp(t)
	tb := &sink.Table{Name: "t", Columns: []sink.Column{{Name: "id", Type: value.Integer}, {Name: "at", Type: value.Datetime}}, PrimaryKey: []string{"id"}}
	mustPrepare(t, d, tb)
	ny := time.FixedZone("EST", -5*3600)
	mustWrite(t, d, &sink.Batch{Table: tb, Rows: []sink.Row{
		row(int64(1), time.Date(2024, 1, 1, 20, 0, 0, 0, ny)),            // 2024-01-02T01:00Z
		row(int64(2), time.Date(2024, 1, 2, 0, 30, 0, 500000, time.UTC)), // 00:30:00.0005Z
		row(int64(3), time.Date(2024, 1, 2, 0, 30, 0, 0, time.UTC)),
	}})
	equal(t, "order", dump(t, d, "SELECT id FROM t ORDER BY at"), []string{"3", "2", "1"})
	equal(t, "sqlite reads them", dump(t, d, "SELECT unixepoch(at) FROM t WHERE id = 1"), []string{"1704157200"})
}

func TestWrongGoTypeFailsNamingColumn(t *testing.T) {
	d, _ := openTemp(t)
	tb := contacts()
	mustPrepare(t, d, tb)
	_, err := d.Write(ctx, &sink.Batch{Pipeline: "crm", Entity: "contacts", Table: tb, Rows: []sink.Row{row("1", "Ann", int64(1)), row("7", "Bob", 2.5)}})
	for _, want := range []string{`write "contacts"`, "row 2", `id="7"`, `column "score"`, "integer field holds a Go float64"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("got %v, want it to contain %q", err, want)
		}
	}
	equal(t, "nothing written", dump(t, d, "SELECT count(*) FROM contacts"), []string{"0"})
}

// TestDatesReadAsTimes: a date or datetime column reads back as a time
// through a plain database/sql driver, with no cast — what a tool or a Go
// program sees — while the stored text stays exact.
func TestDatesReadAsTimes(t *testing.T) {
	d, path := openTemp(t)
	tb := &sink.Table{Name: "t", Columns: []sink.Column{{Name: "id", Type: value.Integer},
		{Name: "born", Type: value.Date}, {Name: "at", Type: value.Datetime}}, PrimaryKey: []string{"id"}}
	mustPrepare(t, d, tb)
	at := time.Date(2024, 3, 1, 9, 30, 0, 123456000, time.UTC)
	mustWrite(t, d, &sink.Batch{Table: tb, Rows: []sink.Row{row(int64(1), time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), at)}})
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var born, got time.Time
	if err := db.QueryRow("SELECT born, at FROM t").Scan(&born, &got); err != nil {
		t.Fatalf("scanning the date columns into time.Time: %v", err)
	}
	if !born.Equal(time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)) || !got.Equal(at) {
		t.Errorf("read born %v, at %v", born, got)
	}
	// Text order is time order, and the date functions read the text.
	var sorted, day string
	if err := db.QueryRow("SELECT typeof(at) || '|' || CAST(at AS TEXT), date(at) FROM t").Scan(&sorted, &day); err != nil {
		t.Fatal(err)
	}
	if sorted != "text|2024-03-01T09:30:00.123456Z" || day != "2024-03-01" {
		t.Errorf("stored %q, date() %q", sorted, day)
	}
}

// TestFormerDateTypesStillMatch: a table made by an earlier release, with
// DATE_TEXT and DATETIME_TEXT columns, is written into as it is.
func TestFormerDateTypesStillMatch(t *testing.T) {
	d, _ := openTemp(t)
	if _, err := d.w.Exec(`CREATE TABLE t (id BIGINT NOT NULL, born DATE_TEXT, at DATETIME_TEXT, _synced_at DATETIME_TEXT, _sync_id BIGINT, PRIMARY KEY (id))`); err != nil {
		t.Fatal(err)
	}
	tb := &sink.Table{Name: "t", Columns: []sink.Column{{Name: "id", Type: value.Integer},
		{Name: "born", Type: value.Date}, {Name: "at", Type: value.Datetime}}, PrimaryKey: []string{"id"}}
	mustPrepare(t, d, tb)
	if res := mustWrite(t, d, &sink.Batch{Table: tb, Rows: []sink.Row{row(int64(1), time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), time.Now())}}); res.Created != 1 {
		t.Errorf("write into the old table: %+v", res)
	}
}
