package runner_test

import (
	"database/sql"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// dropSchema removes a benchmark's PostgreSQL schema.
func dropSchema(dsn, schema string) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return
	}
	defer db.Close()
	db.Exec(`DROP SCHEMA IF EXISTS "` + schema + `" CASCADE`)
}
