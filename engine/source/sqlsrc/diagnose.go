package sqlsrc

import (
	"errors"

	"github.com/crmsync/crmsync/engine/source"
	mysqldrv "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
)

var _ source.Diagnoser = (*opener)(nil)

// Diagnose implements source.Diagnoser: it covers the PostgreSQL and
// MySQL errors a first read meets.
func (o *opener) Diagnose(err error) (source.Diagnosis, bool) {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch pg.Code {
		case "28P01", "28000":
			return source.Diagnosis{Class: "sql-auth", Summary: "the database rejected the user or password", Details: []string{pg.Message}}, true
		case "3D000":
			return source.Diagnosis{Class: "sql-database", Summary: "the database does not exist", Details: []string{pg.Message}}, true
		case "42P01", "42703", "42501":
			return source.Diagnosis{Class: "sql-table", Summary: "the query names a table or column that is missing or not readable", Details: []string{pg.Message}}, true
		}
		return source.Diagnosis{Class: "other", Summary: "the database says: " + pg.Message}, true
	}
	var my *mysqldrv.MySQLError
	if errors.As(err, &my) {
		switch my.Number {
		case 1045, 1044:
			return source.Diagnosis{Class: "sql-auth", Summary: "the database rejected the user or password", Details: []string{my.Message}}, true
		case 1049:
			return source.Diagnosis{Class: "sql-database", Summary: "the database does not exist", Details: []string{my.Message}}, true
		case 1146, 1054, 1142:
			return source.Diagnosis{Class: "sql-table", Summary: "the query names a table or column that is missing or not readable", Details: []string{my.Message}}, true
		}
		return source.Diagnosis{Class: "other", Summary: "the database says: " + my.Message}, true
	}
	return source.Diagnosis{}, false
}
