// Package postgres is the PostgreSQL destination (pgx): tables are created
// from the declared fields, batches are loaded with COPY, merged on the
// primary key, and committed with their rejects and checkpoint in one
// transaction. Sync history, checkpoints and rejects live in the same
// schema as the data.
//
// DSN: postgres://user@host:5432/db?sslmode=disable&schema=crm (schema
// defaults to public and is created when missing).
package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/crmsync/crmsync/engine/sink"
)

func init() { sink.Register("postgres", open) }

var (
	_ sink.Destination   = (*DB)(nil)
	_ sink.FullRefresher = (*DB)(nil)
)

// DB is a PostgreSQL destination. It is safe for concurrent use.
type DB struct {
	pool     *pgxpool.Pool
	connCfg  *pgx.ConnConfig // for the dedicated lock connections
	schema   string
	host, db string
	password string // only to scrub it from driver errors
	// commitMode is run at the start of each batch transaction.
	commitMode string

	mu    sync.Mutex
	plans map[string]*plan    // physical table name → compiled statements
	full  map[string]*fullRun // table name → full refresh in progress
	locks map[int64]int       // advisory lock keys held by this process
	live  map[int64]bool      // sync ids started here and not yet finished
	// pending: physical table → its _synced_at index, deferred until the
	// sync that first loads it finishes (index.go).
	pending map[string]*pendingIndex
}

func open(ctx context.Context, dsn string) (sink.Destination, error) { return Open(ctx, dsn) }

// Open connects to the database a postgres:// DSN names, creates the
// schema and the state tables when missing, and checks the connection.
func Open(ctx context.Context, dsn string) (*DB, error) {
	connStr, schema, err := splitDSN(dsn)
	if err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(connStr)
	if err != nil {
		// pgx redacts the password, but the message can still quote the
		// DSN; say only what is wrong.
		return nil, fmt.Errorf("postgres destination: parsing the DSN: %w", errors.New(scrub(err.Error(), dsn)))
	}
	d := &DB{
		connCfg:  cfg.ConnConfig.Copy(),
		schema:   schema,
		host:     cfg.ConnConfig.Host,
		db:       cfg.ConnConfig.Database,
		password: cfg.ConnConfig.Password,
		plans:    map[string]*plan{},
		full:     map[string]*fullRun{},
		locks:    map[int64]int{},
		live:     map[int64]bool{},
		pending:  map[string]*pendingIndex{},
	}
	// Batches commit without waiting for the WAL flush unless the DSN sets
	// synchronous_commit itself. A server crash can then lose the last
	// batches, but always together with the checkpoint that covers them
	// (WAL is replayed in order), so the next run fetches them again.
	// FinishSync and FinishFull commit synchronously, which flushes every
	// batch before them.
	for k, v := range sessionDefaults {
		if _, set := cfg.ConnConfig.RuntimeParams[k]; !set {
			cfg.ConnConfig.RuntimeParams[k] = v
		}
	}
	d.connCfg = cfg.ConnConfig.Copy()
	if _, set := cfg.ConnConfig.RuntimeParams["synchronous_commit"]; !set {
		d.commitMode = "SET LOCAL synchronous_commit = off"
	}
	d.pool, err = pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, d.connErr("connecting", err)
	}
	if err := d.pool.Ping(ctx); err != nil {
		d.pool.Close()
		return nil, d.connErr("connecting", err)
	}
	if err := d.createState(ctx); err != nil {
		d.pool.Close()
		return nil, err
	}
	return d, nil
}

// splitDSN takes the schema query parameter out of the DSN: pgx would
// send it to the server as a setting, which the server rejects.
func splitDSN(dsn string) (connStr, schema string, err error) {
	u, err := url.Parse(dsn)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error quotes the whole URL, password included
		}
		return "", "", fmt.Errorf("postgres destination: parsing the DSN: %w", err)
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return "", "", fmt.Errorf("postgres destination: scheme %q: want postgres:// or postgresql://", u.Scheme)
	}
	q := u.Query()
	schema = q.Get("schema")
	if schema == "" {
		schema = "public"
	}
	if len(schema) > maxIdent {
		return "", "", fmt.Errorf("postgres destination: schema %q is longer than %d bytes", schema, maxIdent)
	}
	q.Del("schema")
	u.RawQuery = q.Encode()
	return u.String(), schema, nil
}

// connErr names host and database, and never the password.
func (d *DB) connErr(op string, err error) error {
	msg := err.Error()
	if d.password != "" {
		msg = strings.ReplaceAll(msg, d.password, "xxxxx")
		msg = strings.ReplaceAll(msg, url.QueryEscape(d.password), "xxxxx")
	}
	return fmt.Errorf("postgres destination host %q database %q: %s: %w", d.host, d.db, op, errors.New(msg))
}

// scrub removes the password of dsn from msg.
func scrub(msg, dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
	}
	return msg
}

// Schema is the schema that holds the tables.
func (d *DB) Schema() string { return d.schema }

// Ping checks that the database answers.
func (d *DB) Ping(ctx context.Context) error {
	if err := d.pool.Ping(ctx); err != nil {
		return d.connErr("ping", err)
	}
	return nil
}

// Close closes every pooled connection. Locks still held are released by
// their own unlock functions (or when the process exits).
func (d *DB) Close() error {
	d.pool.Close()
	return nil
}

// ident quotes schema.name.
func (d *DB) ident(name string) string { return pgx.Identifier{d.schema, name}.Sanitize() }

// Pool is the destination's connection pool, for a job queue that keeps
// its tables next to the synced ones (crmsync serve's River client). It
// stays owned by the DB: Close closes it.
func (d *DB) Pool() *pgxpool.Pool { return d.pool }
