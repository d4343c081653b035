package sqlsrc

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
)

// PostgreSQL is reached through pgx's own interface, one pgx.Conn per
// read, not database/sql or a pool: a read is one sequential stream, the
// Reader contract has no Close to end a pool, and pgx gives each row's
// raw text (RawValues) with no per-value allocation. Results are asked
// for in the text format, so numeric arrives as its exact digits.
type pgConn struct{ c *pgx.Conn }

// textResults makes every result column text.
var textResults = pgx.QueryResultFormats{pgx.TextFormatCode}

func connectPostgres(ctx context.Context, dsn string) (dbConn, target, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx masks the password in its message; the caller strips it too.
		return nil, target{password: passwordOf(postgres, dsn)}, err
	}
	tg := target{host: fmt.Sprintf("%s:%d", cfg.Host, cfg.Port), db: cfg.Database, user: cfg.User, password: cfg.Password}
	// Timestamps are parsed from ISO text; timestamptz carries its offset,
	// so the session zone only matters to the author's own SQL.
	cfg.RuntimeParams["datestyle"] = "ISO, MDY"
	if cfg.RuntimeParams["timezone"] == "" {
		cfg.RuntimeParams["timezone"] = "UTC"
	}
	if cfg.RuntimeParams["application_name"] == "" {
		cfg.RuntimeParams["application_name"] = "crmsync"
	}
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		var ce *pgconn.ConnectError
		if errors.As(err, &ce) && errors.Unwrap(ce) != nil {
			err = errors.Unwrap(ce) // the prefix repeats user and database
		}
		return nil, tg, err
	}
	return &pgConn{c: c}, tg, nil
}

func (p *pgConn) query(ctx context.Context, sql string, args []any) (dbRows, error) {
	a := make([]any, 0, len(args)+1)
	a = append(a, textResults)
	a = append(a, args...)
	rows, err := p.c.Query(ctx, sql, a...)
	if err != nil {
		return nil, err
	}
	return &pgRows{rows: rows}, nil
}

func (p *pgConn) close() { _ = p.c.Close(context.Background()) }

type pgRows struct{ rows pgx.Rows }

func (r *pgRows) columns() []column {
	fds := r.rows.FieldDescriptions()
	cols := make([]column, len(fds))
	for i, fd := range fds {
		cols[i] = column{name: fd.Name, kind: pgKind(fd.DataTypeOID)}
	}
	return cols
}

func (r *pgRows) next() bool       { return r.rows.Next() }
func (r *pgRows) values() [][]byte { return r.rows.RawValues() }
func (r *pgRows) err() error       { return r.rows.Err() }
func (r *pgRows) close()           { r.rows.Close() }

// pgKind maps a type OID; everything not listed (text, uuid, interval,
// arrays, money …) is a string in PostgreSQL's own text form.
func pgKind(oid uint32) kind {
	switch oid {
	case pgtype.Int2OID, pgtype.Int4OID, pgtype.Int8OID, pgtype.OIDOID:
		return kInt
	case pgtype.NumericOID, pgtype.Float4OID, pgtype.Float8OID:
		return kNumber
	case pgtype.BoolOID:
		return kBool
	case pgtype.TimestampOID:
		return kTime
	case pgtype.TimestamptzOID:
		return kTimeTZ
	case pgtype.DateOID:
		return kDate
	case pgtype.JSONOID, pgtype.JSONBOID:
		return kJSON
	case pgtype.ByteaOID:
		return kBytea
	}
	return kString
}
