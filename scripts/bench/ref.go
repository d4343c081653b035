package main

// The reference programs the driver runs beside crmsync, each a whole
// process of its own (this binary with a subcommand), so that its CPU and
// peak RSS are measured the same way:
//
//	limit  -workers N FILE       gjson one pass over each line + the same 3 expressions with expr
//	copy   -dsn D FILE           the same values, typed, by pgx CopyFrom (binary: int8, numeric, timestamptz)
//	staged -dsn D -mode M FILE   per batch: COPY into a temporary table, then INSERT … ON CONFLICT
//	                             DO UPDATE (M=changed: every row; M=unchanged: WHERE … IS DISTINCT FROM)

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/shopspring/decimal"
	"github.com/tidwall/gjson"
)

// columns are the destination columns of both crmsync's table and the
// references' (the pipeline's 10 fields and 3 expressions).
var columns = []string{"id", "email", "first_name", "last_name", "phone", "state", "zip", "lifecycle", "amount", "updated_at", "full_name", "domain", "stage"}

const refTable = `CREATE TABLE contacts (id bigint PRIMARY KEY, email text, first_name text, last_name text,
	phone text, state text, zip text, lifecycle text, amount numeric, updated_at timestamptz,
	full_name text, domain text, stage text)`

// contact is one line read in one gjson pass (the object, then its
// properties).
type contact struct {
	id                                                       int64
	email, first, last, phone, state, zip, lifecycle, amount string
	updated                                                  time.Time
}

func parseLine(line []byte, c *contact) error {
	*c = contact{}
	var err error
	gjson.ParseBytes(line).ForEach(func(k, v gjson.Result) bool {
		switch k.Str {
		case "id":
			c.id, err = strconv.ParseInt(v.Str, 10, 64)
		case "updatedAt":
			c.updated, err = time.Parse(time.RFC3339Nano, v.Str)
		case "properties":
			v.ForEach(func(k, v gjson.Result) bool {
				switch k.Str {
				case "email":
					c.email = v.Str
				case "firstname":
					c.first = v.Str
				case "lastname":
					c.last = v.Str
				case "phone":
					c.phone = v.Str
				case "state":
					c.state = v.Str
				case "zip":
					c.zip = v.Str
				case "lifecyclestage":
					c.lifecycle = v.Str
				case "amount":
					c.amount = v.Str
				}
				return true
			})
		}
		return err == nil
	})
	return err
}

// lines calls fn with each line of path (reused buffer).
func lines(path string, fn func([]byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	for {
		line, err := r.ReadSlice('\n')
		if len(line) > 1 {
			if err := fn(line); err != nil {
				return err
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// refLimit: read, parse in one pass, run the 3 expressions; with 2
// workers the lines go in chunks of 1,000 to the workers.
func refLimit(args []string) error {
	fs := flag.NewFlagSet("limit", flag.ExitOnError)
	workers := fs.Int("workers", 1, "workers")
	fs.Parse(args)
	src := []string{`trim(first_name + " " + last_name)`, `email contains "@" ? lower(split(email, "@")[1]) : nil`, `upper(lifecycle)`}
	progs := make([]*vm.Program, len(src))
	for i, s := range src {
		p, err := expr.Compile(s, expr.Env(map[string]any{"id": int64(0), "email": "", "first_name": "", "last_name": "",
			"phone": "", "state": "", "zip": "", "lifecycle": "", "amount": "", "updated_at": time.Time{}}))
		if err != nil {
			return err
		}
		progs[i] = p
	}
	work := func(chunk [][]byte) (int, error) {
		var c contact
		env := map[string]any{}
		var vm vm.VM
		for _, line := range chunk {
			if err := parseLine(line, &c); err != nil {
				return 0, err
			}
			env["id"], env["email"], env["first_name"], env["last_name"] = c.id, c.email, c.first, c.last
			env["phone"], env["state"], env["zip"], env["lifecycle"] = c.phone, c.state, c.zip, c.lifecycle
			env["amount"], env["updated_at"] = c.amount, c.updated
			for _, p := range progs {
				if _, err := vm.Run(p, env); err != nil {
					return 0, err
				}
			}
		}
		return len(chunk), nil
	}
	n := 0
	if *workers <= 1 {
		one := make([][]byte, 1)
		err := lines(fs.Arg(0), func(l []byte) error {
			one[0] = l
			_, err := work(one)
			n++
			return err
		})
		fmt.Println(n)
		return err
	}
	chunks := make(chan [][]byte, *workers*2)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var werr error
	for range *workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ch := range chunks {
				k, err := work(ch)
				mu.Lock()
				n += k
				if err != nil && werr == nil {
					werr = err
				}
				mu.Unlock()
			}
		}()
	}
	chunk := make([][]byte, 0, 1000)
	err := lines(fs.Arg(0), func(l []byte) error {
		chunk = append(chunk, append([]byte(nil), l...))
		if len(chunk) == cap(chunk) {
			chunks <- chunk
			chunk = make([][]byte, 0, 1000)
		}
		return nil
	})
	chunks <- chunk
	close(chunks)
	wg.Wait()
	fmt.Println(n)
	return errors.Join(err, werr)
}

// row is c as the destination's typed values (the same conversions and
// expressions as the pipeline, in plain Go).
func row(c *contact) ([]any, error) {
	d, err := decimal.NewFromString(c.amount)
	if err != nil {
		return nil, err
	}
	var domain any
	if _, after, ok := strings.Cut(c.email, "@"); ok {
		domain = strings.ToLower(after)
	}
	return []any{c.id, c.email, c.first, c.last, c.phone, c.state, c.zip, c.lifecycle,
		pgtype.Numeric{Int: d.Coefficient(), Exp: d.Exponent(), Valid: true}, c.updated,
		strings.TrimSpace(c.first + " " + c.last), domain, strings.ToUpper(c.lifecycle)}, nil
}

// copySource streams the lines of a file as rows to CopyFrom, batch rows
// at a time (0: all).
type copySource struct {
	r     *bufio.Reader
	batch int
	n     int
	c     contact
	vals  []any
	err   error
}

func (s *copySource) Next() bool {
	if s.batch > 0 && s.n == s.batch {
		return false
	}
	line, err := s.r.ReadSlice('\n')
	if len(line) <= 1 {
		if err != nil && !errors.Is(err, io.EOF) {
			s.err = err
		}
		return false
	}
	if s.err = parseLine(line, &s.c); s.err != nil {
		return false
	}
	s.vals, s.err = row(&s.c)
	s.n++
	return s.err == nil
}

func (s *copySource) Values() ([]any, error) { return s.vals, s.err }
func (s *copySource) Err() error             { return s.err }

func refCopy(args []string) error {
	fs := flag.NewFlagSet("copy", flag.ExitOnError)
	dsn := fs.String("dsn", "", "database")
	create := fs.Bool("create", true, "create the table first")
	fs.Parse(args)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, *dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	if *create {
		if _, err := conn.Exec(ctx, refTable); err != nil {
			return err
		}
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := conn.CopyFrom(ctx, pgx.Identifier{"contacts"}, columns, &copySource{r: bufio.NewReaderSize(f, 1<<20)})
	fmt.Println(n)
	return err
}

func refStaged(args []string) error {
	fs := flag.NewFlagSet("staged", flag.ExitOnError)
	dsn := fs.String("dsn", "", "database")
	mode := fs.String("mode", "changed", "changed or unchanged")
	batch := fs.Int("batch", 5000, "rows per transaction")
	fs.Parse(args)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, *dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	set := make([]string, 0, len(columns)-1)
	for _, c := range columns[1:] {
		set = append(set, c+" = EXCLUDED."+c)
	}
	upsert := "INSERT INTO contacts SELECT * FROM stage ON CONFLICT (id) DO UPDATE SET " + strings.Join(set, ", ")
	if *mode == "unchanged" {
		cols := strings.Join(columns[1:], ", contacts.")
		ex := strings.Join(columns[1:], ", EXCLUDED.")
		upsert += " WHERE (contacts." + cols + ") IS DISTINCT FROM (EXCLUDED." + ex + ")"
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	src := &copySource{r: bufio.NewReaderSize(f, 1<<20), batch: *batch}
	total, written := int64(0), int64(0)
	for {
		src.n = 0
		tx, err := conn.Begin(ctx)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, "CREATE TEMP TABLE stage (LIKE contacts) ON COMMIT DROP"); err != nil {
			return err
		}
		n, err := tx.CopyFrom(ctx, pgx.Identifier{"stage"}, columns, src)
		if err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, upsert)
		if err != nil {
			return err
		}
		if err := tx.Commit(ctx); err != nil {
			return err
		}
		total += n
		written += tag.RowsAffected()
		if n < int64(*batch) {
			break
		}
	}
	fmt.Println(total, written)
	return nil
}
