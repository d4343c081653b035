package sqlsrc

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine/config"
	"github.com/crmsync/crmsync/engine/source"
	"github.com/crmsync/crmsync/engine/transform"
	"github.com/tidwall/gjson"
)

// cellTables are tables of every column type a Genius- or SalesPro-like
// database has, with messy rows: NULLs, zero dates, emoji, CRLF, quotes,
// big decimals, bytes that are not UTF-8, DST-gap wall clocks. Each
// column is read as the type it maps to and as a string.
var cellTables = []struct {
	name    string
	db      func(testing.TB) *testDB
	create  string
	rows    []string
	types   map[string]string // column → field type (others: string)
	indexed bool              // the records carry cells
}{
	{
		name: "mariadb job",
		db:   func(t testing.TB) *testDB { return newMy(t) },
		create: `CREATE TABLE job (id int PRIMARY KEY, client_cid int, production_user_id int NULL, contract_date date,
			contract_amount decimal(12,2), big decimal(38,10), sold_date datetime, updated_at datetime(6) NULL, stamp timestamp NULL,
			permit_number varchar(32), job_number varchar(20), state char(2), notes text, is_active tinyint(1),
			flags bit(8), ratio double, bin varbinary(8), yr year, doc json) DEFAULT CHARSET utf8mb4`,
		rows: []string{
			`(1, 100001, NULL, '2020-01-01', 1250.50, 12345678901234567890.0123456789, '2024-03-10 02:30:00', '2024-11-03 01:30:00.123456', '2024-01-01 00:00:00',
				'DEN-1', '00000001', 'CO', 'Customer asked for a call back,\r\n "after 5pm" 😀', 1, b'10100101', 0.1, X'ff00fe', 2024, '{"a": [1, "😀"]}')`,
			`(2, NULL, 7, '0000-00-00', NULL, -0.0000000001, '0000-00-00 00:00:00', NULL, NULL,
				NULL, '', NULL, NULL, 0, NULL, NULL, NULL, NULL, NULL)`,
			`(3, -5, 0, '2024-02-29', 0.00, 99999999999999999999999999.9999999999, '2024-12-31 23:59:59', '1970-01-01 00:00:00', '2038-01-19 03:14:07',
				'N/A', '0012', 'TX', 'tab\there \\ back\\slash ''quote'' 日本語', 2, b'0', -1.5e300, X'', 1901, '[]')`,
		},
		types: map[string]string{"id": "integer", "client_cid": "integer", "production_user_id": "integer", "contract_date": "date",
			"contract_amount": "decimal", "big": "decimal", "sold_date": "datetime", "updated_at": "datetime", "stamp": "datetime",
			"is_active": "boolean", "flags": "integer", "ratio": "float", "yr": "integer", "doc": "json"},
		indexed: true,
	},
	{
		name: "postgres",
		db:   func(t testing.TB) *testDB { return newPG(t) },
		create: `CREATE TABLE {s}job (id bigint PRIMARY KEY, ok boolean, amount numeric, at timestamptz, naive timestamp, day date,
			note text, data bytea, f real, tags text[])`,
		rows: []string{
			`(1, true, 1250.50, '2024-03-10 02:30:00+00', '2024-03-10 02:30:00', '2024-02-29', E'line\r\nnext "q" 😀', '\xff00', 1.5, '{a,b}')`,
			`(2, NULL, 'NaN', NULL, 'infinity', NULL, NULL, NULL, 'Infinity', NULL)`,
			`(3, false, 123456789012345678901234567890.123456789, '1999-12-31 23:59:59.999999-07', '2024-11-03 01:30:00', '0001-01-01', '', '\x', -0.0, '{}')`,
		},
		types:   map[string]string{"id": "integer", "ok": "boolean", "amount": "decimal", "at": "datetime", "naive": "datetime", "day": "date", "f": "float", "tags": "string[]"},
		indexed: true,
	},
	{
		// Embedded JSON is the database's text: such records carry no cells.
		name:   "postgres json column",
		db:     func(t testing.TB) *testDB { return newPG(t) },
		create: `CREATE TABLE {s}job (id int PRIMARY KEY, doc jsonb, n int)`,
		rows:   []string{`(1, '{"a": [1, 2]}', 5)`, `(2, NULL, NULL)`, `(3, '"text"', 0)`},
		types:  map[string]string{"id": "integer", "doc": "json", "n": "integer"},
	},
}

// TestCellsMatchJSONRecords: for every column type and messy value, the
// record path reading an SQL record's cells gives what reading its JSON
// gives (values with their Go types, outcome, errors, reasons).
func TestCellsMatchJSONRecords(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range cellTables {
		t.Run(tc.name, func(t *testing.T) {
			db := tc.db(t)
			db.exec(t, tc.create)
			db.exec(t, "INSERT INTO {s}job VALUES "+strings.Join(tc.rows, ", "))
			tz, err := time.LoadLocation("America/Denver")
			if err != nil {
				t.Fatal(err)
			}
			r := db.open(t, "from: {s}job\nprimary_key: [id]\n", opts{batch: 2, tz: tz})
			res := read(t, r, source.ReadState{}, 0)
			if len(res.records) != len(tc.rows) {
				t.Fatalf("%d records, want %d", len(res.records), len(tc.rows))
			}
			var cols []string
			for k := range res.records[0] {
				cols = append(cols, k)
			}
			var fields strings.Builder
			for _, c := range cols {
				typ := tc.types[c]
				if typ == "" {
					typ = "string"
				}
				fmt.Fprintf(&fields, "  %s: {type: %q}\n  %s_text: {path: %s, type: string}\n", c, typ, c, c)
			}
			prog := compileProgram(t, fields.String())
			cells := prog.NewProcessor(transform.Context{Logger: quiet})
			plain := prog.NewProcessor(transform.Context{Logger: quiet})
			for _, p := range res.pages {
				for _, rec := range p.Records {
					if (rec.Keys != nil) != tc.indexed || (rec.Keys != nil && len(rec.Cells) != len(rec.Keys.Names)) {
						t.Fatalf("record %s: keys %v, %d cells; want indexed %v", rec.JSON, rec.Keys, len(rec.Cells), tc.indexed)
					}
					if rec.Keys != nil {
						// The cells are the values' text, key by key.
						i := 0
						gjson.Parse(rec.JSON).ForEach(func(k, v gjson.Result) bool {
							if c := rec.Cells[i]; k.Str != rec.Keys.Names[i] || rec.JSON[c.Start:c.End] != v.Raw {
								t.Errorf("record %s: cell %d is %q = %q, want %q = %q", rec.JSON, i, rec.Keys.Names[i], rec.JSON[c.Start:c.End], k.Str, v.Raw)
							}
							i++
							return true
						})
						if i != len(rec.Cells) {
							t.Errorf("record %s: %d keys, %d cells", rec.JSON, i, len(rec.Cells))
						}
					}
					got := transform.Output{Values: make([]any, len(prog.Fields()))}
					want := transform.Output{Values: make([]any, len(prog.Fields()))}
					cells.Process(rec, &got)
					plain.Process(source.Record{JSON: rec.JSON}, &want)
					if g, w := describe(prog, &got), describe(prog, &want); g != w {
						t.Errorf("record %s:\ncells: %s\n JSON: %s", rec.JSON, g, w)
					}
				}
			}
		})
	}
}

func compileProgram(t testing.TB, fields string) *transform.Program {
	t.Helper()
	d := config.Parse("t.yaml", []byte("version: 1\nname: p\nsource: {type: http}\nentities:\n  e:\n    primary_key: id\n    fields:\n"+indent(fields)), config.Options{})
	if len(d.Findings()) > 0 {
		t.Fatal(d.Findings())
	}
	p, err := d.Decode()
	if err != nil {
		t.Fatal(err)
	}
	prog, problems := transform.Compile(transform.Options{Pipeline: "p", Entity: "e", Path: "/entities/e", Fields: p.Entities[0].Fields,
		PrimaryKey: []string{"id"}, OnInvalid: transform.Warn, Timezone: time.UTC, Region: "US"})
	if prog == nil {
		t.Fatal(problems)
	}
	return prog
}

func indent(s string) string {
	return "    " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n    ") + "\n"
}

// describe prints an Output with each value's Go type.
func describe(prog *transform.Program, out *transform.Output) string {
	var b strings.Builder
	for _, f := range prog.Fields() {
		v := out.Values[f.Index]
		fmt.Fprintf(&b, "\n  %s: %T %#v", f.Name, v, v)
	}
	fmt.Fprintf(&b, "\n  outcome %d id %q errors %d/%d reasons %q", out.Outcome, out.ID, out.ValidationErrors, out.ProcessingErrors, out.Reasons)
	return b.String()
}

// TestMyRawRowsMatchScan: the driver's own rows give every column of the
// job table the text database/sql's Scan into RawBytes gives, in the
// binary protocol (a prepared statement with a value) and the text one.
func TestMyRawRowsMatchScan(t *testing.T) {
	tc := cellTables[0]
	db := tc.db(t)
	db.exec(t, tc.create)
	db.exec(t, "INSERT INTO job VALUES "+strings.Join(tc.rows, ", "))
	c, _, _, err := connectMySQL(context.Background(), db.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	m := c.(*myConn)
	texts := func(rows dbRows) (out []string) {
		for _, col := range rows.columns() {
			out = append(out, col.name+" "+col.dbType)
		}
		for rows.next() {
			for i, v := range rows.values() {
				if v == nil {
					out = append(out, fmt.Sprintf("%d: NULL", i))
				} else {
					out = append(out, fmt.Sprintf("%d: %q", i, v))
				}
			}
		}
		if err := rows.err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{"SELECT * FROM job ORDER BY id", nil},
		{"SELECT * FROM job WHERE id > ? ORDER BY id", []any{int64(0)}},
	} {
		rows, err := m.query(context.Background(), q.sql, q.args)
		if err != nil {
			t.Fatal(err)
		}
		want := texts(rows)
		rows.close()
		var got []string
		if _, err := m.each(context.Background(), q.sql, q.args, func(r dbRows) error { got = texts(r); return nil }); err != nil {
			t.Fatal(err)
		}
		if len(want) < 3*18 || strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s:\nraw:  %q\nscan: %q", q.sql, got, want)
		}
	}
}
