package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// stmt is one statement of a pipeline; read, when set, sees each row
// (in binary format, results columns).
type stmt struct {
	sql     string
	args    [][]byte
	oids    []uint32
	results int
	read    func(values [][]byte)
}

// runPipeline sends stmts in one round trip and reads their results in
// order; the first error stops it (the server skips the rest).
func runPipeline(ctx context.Context, pc *pgconn.PgConn, stmts []stmt) error {
	pl := pc.StartPipeline(ctx)
	for _, s := range stmts {
		var rf []int16
		if s.results > 0 {
			rf = binaryFormats(s.results)
		}
		pl.SendQueryParams(s.sql, s.args, s.oids, binaryFormats(len(s.args)), rf)
	}
	if err := pl.Sync(); err != nil {
		pl.Close()
		return err
	}
	for _, s := range stmts {
		res, err := pl.GetResults()
		if err != nil {
			pl.Close()
			return err
		}
		rr, ok := res.(*pgconn.ResultReader)
		if !ok {
			pl.Close()
			return fmt.Errorf("pipeline: unexpected result %T", res)
		}
		for s.read != nil && rr.NextRow() {
			s.read(rr.Values())
		}
		if _, err := rr.Close(); err != nil {
			pl.Close()
			return err
		}
	}
	if _, err := pl.GetResults(); err != nil { // the sync
		pl.Close()
		return err
	}
	return pl.Close()
}

// rollback ends a failed transaction; when that fails too, the pool drops
// the connection because it is not idle.
func rollback(pc *pgconn.PgConn) {
	if pc.IsClosed() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _ = pc.Exec(ctx, "ROLLBACK").ReadAll()
}

var formats = []int16{1, 1, 1, 1, 1, 1, 1, 1}

func binaryFormats(n int) []int16 {
	if n <= len(formats) {
		return formats[:n]
	}
	f := make([]int16, n)
	for i := range f {
		f[i] = 1
	}
	return f
}

func execParams(ctx context.Context, pc *pgconn.PgConn, sql string, args [][]byte, oids []uint32) error {
	_, err := pc.ExecParams(ctx, sql, args, oids, binaryFormats(len(args)), nil).Close()
	return err
}
