// Command showdb prints the first rows of tables in a crmsync SQLite
// destination, so the quick start needs no sqlite3 CLI.
//
//	showdb [-db crmsync.db] [-limit 3] [-columns id,email] TABLE...
//
// crmsync's own columns (_synced_at, _sync_id, …) are left out unless
// -columns names them.
package main

import (
	"database/sql"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	_ "modernc.org/sqlite"
)

func main() {
	db := flag.String("db", "crmsync.db", "the SQLite file")
	limit := flag.Int("limit", 3, "rows per table")
	cols := flag.String("columns", "", "comma-separated columns to show (default: every column not starting with _)")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: showdb [-db FILE] [-limit N] [-columns a,b] TABLE...")
		os.Exit(2)
	}
	if _, err := os.Stat(*db); err != nil {
		fmt.Fprintln(os.Stderr, "showdb:", err)
		os.Exit(1)
	}
	conn, err := sql.Open("sqlite", "file:"+*db+"?mode=ro")
	if err != nil {
		fmt.Fprintln(os.Stderr, "showdb:", err)
		os.Exit(1)
	}
	defer conn.Close()
	for i, table := range flag.Args() {
		if i > 0 {
			fmt.Println()
		}
		if err := show(conn, table, *cols, *limit); err != nil {
			fmt.Fprintf(os.Stderr, "showdb: table %q: %v\n", table, err)
			os.Exit(1)
		}
	}
}

func show(conn *sql.DB, table, only string, limit int) error {
	var total int
	if err := conn.QueryRow(`SELECT count(*) FROM ` + quote(table)).Scan(&total); err != nil {
		return err
	}
	names, err := columns(conn, table, only)
	if err != nil {
		return err
	}
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = quote(n)
	}
	rows, err := conn.Query(fmt.Sprintf(`SELECT %s FROM %s ORDER BY rowid LIMIT %d`, strings.Join(q, ", "), quote(table), limit))
	if err != nil {
		return err
	}
	defer rows.Close()
	fmt.Printf("%s (%d rows, first %d):\n", table, total, min(limit, total))
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  "+strings.Join(names, "\t"))
	vals := make([]sql.NullString, len(names))
	ptrs := make([]any, len(names))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		cells := make([]string, len(vals))
		for i, v := range vals {
			cells[i] = "null"
			if v.Valid {
				cells[i] = clip(v.String, 28)
			}
		}
		fmt.Fprintln(tw, "  "+strings.Join(cells, "\t"))
	}
	tw.Flush()
	return rows.Err()
}

func columns(conn *sql.DB, table, only string) ([]string, error) {
	if only != "" {
		return strings.Split(only, ","), nil
	}
	rows, err := conn.Query(`SELECT name FROM pragma_table_info(?)`, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		if !strings.HasPrefix(n, "_") {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no such table")
	}
	return out, rows.Err()
}

func quote(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

func clip(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}
