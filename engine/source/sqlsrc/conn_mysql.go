package sqlsrc

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"

	mysqldrv "github.com/go-sql-driver/mysql"
)

// myConn is one MySQL or MariaDB connection. The watermark and the
// keyset values are parameters, never part of crmsync's SQL text: the
// server binds them through statements prepared once per read (the
// binary protocol), or, with interpolateParams=true in the DSN, the
// driver binds them on the client (escaped literals, the text protocol,
// one round trip a page).
type myConn struct {
	db          *sql.DB
	c           *sql.Conn
	stmts       map[string]*sql.Stmt
	raw         map[string]driver.Stmt // prepared on the driver's connection (conn_mysql_raw.go)
	interpolate bool                   // the driver binds values itself (interpolateParams)
}

func parseMySQLDSN(dsn string) (*mysqldrv.Config, error) {
	// A URL is the most common mistake: the MySQL driver's DSN is not one.
	if strings.Contains(dsn, "://") {
		return nil, fmt.Errorf("a MySQL dsn is user:password@tcp(host:3306)/database?options, not a URL")
	}
	return mysqldrv.ParseDSN(dsn)
}

// connectMySQL connects and reports whether the session time zone was
// set to UTC by crmsync (the DSN did not set time_zone itself).
func connectMySQL(ctx context.Context, dsn string) (dbConn, target, bool, error) {
	cfg, err := parseMySQLDSN(dsn)
	if err != nil {
		return nil, target{password: passwordOf(mysql, dsn)}, false, err
	}
	tg := target{host: cfg.Addr, db: cfg.DBName, user: cfg.User, password: cfg.Passwd}
	// Times are read as text and placed in source.timezone here, whatever
	// parseTime and loc the DSN says: one rule for text and binary rows.
	cfg.ParseTime = false
	// Keyset values are bound by the server (prepared statements) unless
	// the DSN opts in to interpolateParams=true: then the driver escapes
	// them into the text itself (one round trip a page, text rows, about
	// twice the read rate measured on a 42-column table). Opt-in because
	// the design keeps values out of SQL text; never with the multi-byte
	// charsets where client-side escaping is unsafe (SJIS, GBK, Big5 …).
	cfg.InterpolateParams = cfg.InterpolateParams && !unsafeCharset(dsn, cfg.Collation)
	utc := false
	if _, set := cfg.Params["time_zone"]; !set {
		if cfg.Params == nil {
			cfg.Params = map[string]string{}
		}
		cfg.Params["time_zone"] = "'+00:00'" // TIMESTAMP columns then read as UTC
		utc = true
	}
	conn, err := mysqldrv.NewConnector(cfg)
	if err != nil {
		return nil, tg, false, err
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(1)
	c, err := db.Conn(ctx)
	if err == nil {
		err = c.PingContext(ctx)
	}
	if err != nil {
		_ = db.Close()
		return nil, tg, false, err
	}
	return &myConn{db: db, c: c, stmts: map[string]*sql.Stmt{}, raw: map[string]driver.Stmt{}, interpolate: cfg.InterpolateParams}, tg, utc, nil
}

// unsafeCharset: the DSN asks for a charset or collation whose bytes a
// backslash-escaped literal cannot be trusted with.
func unsafeCharset(dsn, collation string) bool {
	l := strings.ToLower(dsn + " " + collation)
	for _, cs := range []string{"big5", "sjis", "cp932", "gbk", "gb2312", "gb18030"} {
		if strings.Contains(l, cs) {
			return true
		}
	}
	return false
}

func (m *myConn) query(ctx context.Context, q string, args []any) (dbRows, error) {
	var (
		rows *sql.Rows
		err  error
	)
	if len(args) == 0 || m.interpolate {
		rows, err = m.c.QueryContext(ctx, q, args...)
	} else {
		st := m.stmts[q]
		if st == nil {
			if st, err = m.c.PrepareContext(ctx, q); err != nil {
				return nil, err
			}
			m.stmts[q] = st
		}
		rows, err = st.QueryContext(ctx, args...)
	}
	if err != nil {
		return nil, err
	}
	return newMyRows(rows)
}

func (m *myConn) close() {
	m.closeRaw()
	for _, st := range m.stmts {
		_ = st.Close()
	}
	_ = m.c.Close()
	_ = m.db.Close()
}

type myRows struct {
	rows *sql.Rows
	cols []column
	raw  []sql.RawBytes
	dest []any
	vals [][]byte
	scan error
}

func newMyRows(rows *sql.Rows) (*myRows, error) {
	cts, err := rows.ColumnTypes()
	if err != nil {
		rows.Close()
		return nil, err
	}
	r := &myRows{rows: rows, cols: make([]column, len(cts)), raw: make([]sql.RawBytes, len(cts)),
		dest: make([]any, len(cts)), vals: make([][]byte, len(cts))}
	for i, ct := range cts {
		t := ct.DatabaseTypeName()
		r.cols[i] = column{name: ct.Name(), kind: myKind(t), dbType: t}
		r.dest[i] = &r.raw[i]
	}
	return r, nil
}

func (r *myRows) columns() []column { return r.cols }

func (r *myRows) next() bool {
	if !r.rows.Next() {
		return false
	}
	if err := r.rows.Scan(r.dest...); err != nil {
		r.scan = err
		return false
	}
	for i, b := range r.raw {
		r.vals[i] = b
	}
	return true
}

func (r *myRows) values() [][]byte { return r.vals }

func (r *myRows) err() error {
	if r.scan != nil {
		return r.scan
	}
	return r.rows.Err()
}

func (r *myRows) close() { _ = r.rows.Close() }

// myKind maps go-sql-driver's type names. TINYINT(1) stays a number: the
// protocol does not tell a boolean from a small integer. MariaDB's JSON
// is LONGTEXT on the wire, so it arrives as a string (type: json on the
// field parses it).
func myKind(t string) kind {
	t = strings.TrimPrefix(t, "UNSIGNED ")
	switch t {
	case "TINYINT", "SMALLINT", "MEDIUMINT", "INT", "BIGINT", "YEAR":
		return kInt
	case "DECIMAL", "FLOAT", "DOUBLE":
		return kNumber
	case "DATETIME":
		return kTime
	case "TIMESTAMP":
		return kTimeUTC // adjusted to kTime when the DSN set its own time_zone
	case "DATE":
		return kDate
	case "JSON":
		return kJSON
	case "BIT":
		return kBit
	}
	return kString
}
