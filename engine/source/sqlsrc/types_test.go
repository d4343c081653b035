package sqlsrc

import (
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine/source"
)

// readJSON reads a whole entity and returns its records' JSON, one a line.
func readJSON(t *testing.T, r source.Reader) string {
	t.Helper()
	var b strings.Builder
	res := read(t, r, source.ReadState{}, 0)
	for _, p := range res.pages {
		for _, rec := range p.Records {
			b.WriteString(rec.JSON)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// TestPostgresTypes: each PostgreSQL type reaches JSON as documented;
// naive timestamps are read in source.timezone.
func TestPostgresTypes(t *testing.T) {
	db := newPG(t)
	db.exec(t, `CREATE TABLE {s}types (id int PRIMARY KEY, i2 smallint, i8 bigint, num numeric(40,10), f4 real,
		f8 double precision, b boolean, ts timestamp(6), tstz timestamptz, d date, j json, jb jsonb, by bytea,
		t text, u uuid, arr text[], iv interval)`)
	db.exec(t, `INSERT INTO {s}types VALUES
		(1, -32768, 9223372036854775807, 123456789012345678901234567890.0123456789, 0.1, 0.1, true,
		 '2024-03-01 10:00:00.123456', '2024-03-01 10:00:00+05:30', '2024-03-01', '{"a": [1, 2.50]}', '{"b": null}',
		 '\x68c3a9', E'tab\there "quoted" \\ line\nnext é', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{x,"y z"}', '1 day 02:00:00'),
		(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
		(3, 0, 0, 'NaN', 'Infinity', '-Infinity', false, 'infinity', '2024-07-01 00:00:00+00', 'infinity', 'null', '[]',
		 '\xff00', '', NULL, '{}', '0')`)
	chicago, _ := time.LoadLocation("America/Chicago")
	got := readJSON(t, db.open(t, "from: {s}types\nprimary_key: [id]\nfull_refresh: true\n", opts{batch: 2, tz: chicago}))
	golden(t, "testdata/pg_types.golden", got)
}

// TestMySQLTypes: each MariaDB type reaches JSON as documented, the same
// through the text protocol (first page, no parameters) and the binary
// protocol (later pages, bound parameters); DATETIME is read in
// source.timezone, TIMESTAMP as UTC, zero dates become null.
func TestMySQLTypes(t *testing.T) {
	db := newMy(t)
	db.exec(t, "CREATE TABLE types (id int PRIMARY KEY, ti tinyint(1), ub bigint unsigned, dc decimal(30,10), fl float, "+
		"db double, dt datetime(6), ts timestamp(6) NULL DEFAULT NULL, d date, js json, bl blob, bi bit(10), y year, "+
		"tm time, en enum('a','b'), st set('x','y'), vc varchar(50), tx text)")
	db.exec(t, `INSERT INTO types VALUES
		(1, 1, 18446744073709551615, 12345678901234567890.0123456789, 0.1, 0.1, '2024-03-01 10:00:00.123456',
		 '2024-03-01 10:00:00', '2024-03-01', '{"a": [1, 2.50]}', 0x68c3a9ff, b'1000000010', 2024, '-12:30:00', 'b', 'x,y',
		 'tab\there "quoted" \\ line\nnext é', ''),
		(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
		(3, 0, 0, -0.5, -1e30, 1e-7, '0000-00-00 00:00:00', NULL, '0000-00-00', 'null', '', b'0', 0, '00:00:00', 'a', '', '', 'x')`)
	chicago, _ := time.LoadLocation("America/Chicago")
	ent := "from: {s}types\nprimary_key: [id]\nfull_refresh: true\n"
	binary := readJSON(t, db.open(t, ent, opts{batch: 1, tz: chicago}))
	text := readJSON(t, db.open(t, ent, opts{batch: 10, tz: chicago}))
	if binary != text {
		t.Errorf("binary protocol rows differ from text protocol rows:\n%s\n%s", binary, text)
	}
	golden(t, "testdata/mysql_types.golden", binary)
}

// TestPostgresTimezone: a naive timestamp is a wall clock in
// source.timezone and a timestamptz an instant, both when read and when
// the watermark is bound.
func TestPostgresTimezone(t *testing.T) {
	db := newPG(t)
	db.exec(t, "CREATE TABLE {s}tz (id int PRIMARY KEY, local_at timestamp, utc_at timestamptz)")
	// Row i: 2024-06-01 0i:00 in Chicago (UTC-5) = 0(i+5):00 UTC.
	db.exec(t, "INSERT INTO {s}tz SELECT i, timestamp '2024-06-01 00:00' + i * interval '1 hour', "+
		"timestamptz '2024-06-01 05:00+00' + i * interval '1 hour' FROM generate_series(1, 6) i")
	chicago, _ := time.LoadLocation("America/Chicago")
	wm := time.Date(2024, 6, 1, 8, 0, 0, 0, time.UTC) // = 03:00 in Chicago: rows 3..6
	for _, col := range []string{"local_at", "utc_at"} {
		r := db.open(t, "from: {s}tz\nprimary_key: [id]\nincremental: {field: "+col+"}\n", opts{batch: 2, tz: chicago})
		res := read(t, r, source.ReadState{WatermarkTime: wm, Watermark: wm.Format(time.RFC3339)}, 0)
		if got := ids(res.records, "id"); strings.Join(got, ",") != "3,4,5,6" {
			t.Errorf("%s >= 08:00Z read %v, want rows 3-6", col, got)
		}
		if len(res.records) > 0 && (res.records[0]["local_at"] != "2024-06-01T08:00:00Z" || res.records[0]["utc_at"] != "2024-06-01T08:00:00Z") {
			t.Errorf("%s: row 3 = %v, want both times 08:00Z", col, res.records[0])
		}
	}
}
