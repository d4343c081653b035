package sqlsrc

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	mysqldrv "github.com/go-sql-driver/mysql"

	"github.com/crmsync/crmsync/engine/source"
)

// TestConnectionErrors: a failed connection names the host and the
// database, never the password, and goes through the pipeline's Redact.
func TestConnectionErrors(t *testing.T) {
	newMy(t) // fails clearly when MariaDB is not running
	cfg, err := mysqldrv.ParseDSN(myDSN())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Passwd = "Wr0ng-p@ss:word"
	badPassword := cfg.FormatDSN()

	cases := []struct {
		name, driver, dsn string
		want              []string // substrings of the error
		secret            string
	}{
		{"mysql bad password", "mysql", badPassword, []string{cfg.Addr, `database "test"`, "Access denied"}, "Wr0ng-p@ss:word"},
		{"mysql unknown host", "mysql", "root:Sekr1t-42@tcp(nosuchhost.invalid:3306)/genius", []string{`"nosuchhost.invalid:3306"`, `database "genius"`}, "Sekr1t-42"},
		{"postgres unknown host", "postgres", "postgres://postgres:pgS3cret%21@nosuchhost.invalid:5432/salespro?sslmode=disable",
			[]string{`"nosuchhost.invalid:5432"`, `database "salespro"`}, "pgS3cret"},
		{"postgres unknown database", "postgres", "postgres://postgres:pgS3cret@127.0.0.1:5432/crmsync_no_such_db?sslmode=disable",
			[]string{`"127.0.0.1:5432"`, `database "crmsync_no_such_db"`, "does not exist"}, "pgS3cret"},
		{"postgres dsn that does not parse", "postgres", "host=h password=pgS3cret port=notanumber", []string{"reading the postgres dsn: cannot parse"}, "pgS3cret"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			op, probs := compileYAML(t, c.driver, c.dsn, "from: t", opts{})
			if op == nil {
				t.Fatalf("compile: %v", probs)
			}
			redacted := false
			env := &source.Env{Redact: func(s string) string {
				redacted = true
				return strings.ReplaceAll(s, c.dsn, "[dsn]")
			}}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_, err := op.Open(ctx, env)
			if err == nil {
				t.Fatal("Open succeeded")
			}
			msg := err.Error()
			for _, w := range append(c.want, `entity "e"`) {
				if !strings.Contains(msg, w) {
					t.Errorf("error does not contain %q:\n%s", w, msg)
				}
			}
			if strings.Contains(msg, c.secret) {
				t.Errorf("error shows the password:\n%s", msg)
			}
			if !redacted {
				t.Error("the error text did not go through env.Redact")
			}
		})
	}
}

// TestQueryErrorsAndCancel: a failing query names the entity and page;
// a cancelled context ends the read with context.Canceled.
func TestQueryErrorsAndCancel(t *testing.T) {
	db := newPG(t)
	db.exec(t, "CREATE TABLE {s}t (id int PRIMARY KEY)")
	db.exec(t, "INSERT INTO {s}t SELECT generate_series(1, 100)")
	r := db.open(t, "from: {s}t\ncolumns: [id, missing_column]\nprimary_key: [id]\n", opts{})
	err := r.Read(context.Background(), source.ReadState{}, func(source.Page) error { return nil })
	if err == nil || !strings.Contains(err.Error(), `entity "e": page 1: querying`) || !strings.Contains(err.Error(), "missing_column") {
		t.Errorf("error = %v", err)
	}

	r = db.open(t, "from: {s}t\nprimary_key: [id]\n", opts{batch: 10})
	ctx, cancel := context.WithCancel(context.Background())
	pages := 0
	err = r.Read(ctx, source.ReadState{}, func(source.Page) error {
		pages++
		if pages == 2 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), `entity "e"`) || pages != 2 {
		t.Errorf("after cancel: err %v, %d pages", err, pages)
	}
}
