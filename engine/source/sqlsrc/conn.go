package sqlsrc

import (
	"context"
	"fmt"
	"net/url"
	"strings"
)

// dbConn is one connection, used by one read at a time.
type dbConn interface {
	query(ctx context.Context, sql string, args []any) (dbRows, error)
	close()
}

// dbRows streams one result. values is valid until the next call of next.
type dbRows interface {
	columns() []column
	next() bool
	values() [][]byte // nil = NULL
	err() error
	close()
}

// column is a result column: its name and how its text reaches JSON.
type column struct {
	name   string
	kind   kind
	dbType string // the driver's type name (mysql), for the time zone probe
}

// target names what a connection reaches, for error messages: never the
// password.
type target struct {
	host, db, user string
	password       string // only to strip it from error text
}

func (t target) String() string {
	s := fmt.Sprintf("database %q on %q", t.db, t.host)
	if t.user != "" {
		s += fmt.Sprintf(" as user %q", t.user)
	}
	return s
}

// checkDSN parses a connection string at compile time, without I/O.
func checkDSN(d *dialect, dsn string) string {
	if d == mysql {
		if _, err := parseMySQLDSN(dsn); err != nil {
			return "mysql dsn: " + stripSecret(err.Error(), dsn, passwordOf(d, dsn))
		}
		return ""
	}
	if strings.Contains(dsn, "://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "postgres dsn is not a valid URL (postgres://user:password@host:5432/db?sslmode=…)"
		}
		if u.Scheme != "postgres" && u.Scheme != "postgresql" {
			return fmt.Sprintf("postgres dsn has scheme %q: want postgres:// or postgresql://", u.Scheme)
		}
	}
	return ""
}

// passwordOf finds the password in a DSN that may not parse, to keep it
// out of error text.
func passwordOf(d *dialect, dsn string) string {
	if d == mysql {
		// user:password@net(addr)/db: the password runs to the last @ before the last /.
		slash := strings.LastIndexByte(dsn, '/')
		if slash < 0 {
			slash = len(dsn)
		}
		at := strings.LastIndexByte(dsn[:slash], '@')
		if at < 0 {
			return ""
		}
		if _, pw, ok := strings.Cut(dsn[:at], ":"); ok {
			return pw
		}
		return ""
	}
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		pw, _ := u.User.Password()
		return pw
	}
	for _, f := range strings.Fields(dsn) {
		if v, ok := strings.CutPrefix(f, "password="); ok {
			return strings.Trim(v, "'")
		}
	}
	return ""
}

// stripSecret removes a DSN and its password (raw and URL-escaped) from text.
func stripSecret(text, dsn, password string) string {
	if dsn != "" {
		text = strings.ReplaceAll(text, dsn, "[redacted]")
	}
	if password == "" {
		return text
	}
	for _, p := range []string{password, url.QueryEscape(password), url.PathEscape(password)} {
		text = strings.ReplaceAll(text, p, "[redacted]")
	}
	return text
}
