package sqlite

import (
	"context"
	"database/sql"
)

// addedColumns are state columns newer than the tables of older files:
// each is added where it is missing (SQLite has no ADD COLUMN IF NOT EXISTS).
var addedColumns = []struct{ table, column, def string }{
	{"crmsync_sync_history", "duplicates", "BIGINT NOT NULL DEFAULT 0"},
	{"crmsync_state", "version", "TEXT NOT NULL DEFAULT ''"},
	{"crmsync_sync_history", "field_warnings", "JSON_TEXT NOT NULL DEFAULT '{}'"},
}

func addColumns(ctx context.Context, tx *sql.Tx) error {
	for _, c := range addedColumns {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM pragma_table_info(?) WHERE name = ?`, c.table, c.column).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			continue
		}
		if _, err := tx.ExecContext(ctx, `ALTER TABLE `+c.table+` ADD COLUMN `+c.column+` `+c.def); err != nil {
			return err
		}
	}
	return nil
}
