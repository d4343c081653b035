package sqlsrc

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// The pages of a read go through the MySQL driver's own rows inside
// sql.Conn.Raw: database/sql's Rows would lock, convert and copy every
// value once more (a sixth of the sync's CPU on a 42-column table). The
// values' text is what database/sql's Scan into RawBytes gives.

// eachQuerier is a dbConn that can hand a result over while fn runs
// only. started is false when the statement itself failed.
type eachQuerier interface {
	each(ctx context.Context, sql string, args []any, fn func(dbRows) error) (started bool, err error)
}

var _ eachQuerier = (*myConn)(nil)

func (m *myConn) each(ctx context.Context, q string, args []any, fn func(dbRows) error) (started bool, err error) {
	err = m.c.Raw(func(dc any) error {
		rows, err := m.rawQuery(ctx, dc, q, args)
		if err != nil {
			return err
		}
		started = true
		r, err := newMyRawRows(rows)
		if err != nil {
			_ = rows.Close()
			return err
		}
		defer r.close()
		return fn(r)
	})
	return started, err
}

// rawQuery runs q on the driver's connection: in one round trip when
// there are no values or the driver binds them (interpolateParams),
// else through a statement prepared once per read.
func (m *myConn) rawQuery(ctx context.Context, dc any, q string, args []any) (driver.Rows, error) {
	nvs := make([]driver.NamedValue, len(args))
	for i, a := range args {
		nvs[i] = driver.NamedValue{Ordinal: i + 1, Value: a}
		if c, ok := dc.(driver.NamedValueChecker); ok {
			if err := c.CheckNamedValue(&nvs[i]); err != nil {
				return nil, fmt.Errorf("binding parameter %d: %w", i+1, err)
			}
		} else if v, err := driver.DefaultParameterConverter.ConvertValue(a); err == nil {
			nvs[i].Value = v
		} else {
			return nil, fmt.Errorf("binding parameter %d: %w", i+1, err)
		}
	}
	if len(args) == 0 || m.interpolate {
		if qc, ok := dc.(driver.QueryerContext); ok {
			rows, err := qc.QueryContext(ctx, q, nvs)
			if !errors.Is(err, driver.ErrSkip) {
				return rows, err
			}
		}
	}
	st := m.raw[q]
	if st == nil {
		pc, ok := dc.(driver.ConnPrepareContext)
		if !ok {
			return nil, errors.New("the MySQL driver cannot prepare statements")
		}
		var err error
		if st, err = pc.PrepareContext(ctx, q); err != nil {
			return nil, err
		}
		m.raw[q] = st
	}
	sq, ok := st.(driver.StmtQueryContext)
	if !ok {
		return nil, errors.New("the MySQL driver cannot run a prepared statement")
	}
	return sq.QueryContext(ctx, nvs)
}

// closeRaw closes the statements prepared on the driver's connection.
func (m *myConn) closeRaw() {
	if len(m.raw) == 0 {
		return
	}
	_ = m.c.Raw(func(any) error {
		for _, st := range m.raw {
			_ = st.Close()
		}
		return nil
	})
	m.raw = nil
}

// myRawRows reads a driver result as text. vals hold the driver's bytes
// or, for values it decoded (binary rows: numbers), their text in nums.
type myRawRows struct {
	rows driver.Rows
	cols []column
	dest []driver.Value
	vals [][]byte
	nums [][]byte
	e    error
	done bool
}

func newMyRawRows(rows driver.Rows) (*myRawRows, error) {
	names := rows.Columns()
	tn, ok := rows.(driver.RowsColumnTypeDatabaseTypeName)
	if !ok {
		return nil, errors.New("the MySQL driver does not name column types")
	}
	r := &myRawRows{rows: rows, cols: make([]column, len(names)), dest: make([]driver.Value, len(names)),
		vals: make([][]byte, len(names)), nums: make([][]byte, len(names))}
	for i, name := range names {
		t := tn.ColumnTypeDatabaseTypeName(i)
		r.cols[i] = column{name: name, kind: myKind(t), dbType: t}
	}
	return r, nil
}

func (r *myRawRows) columns() []column { return r.cols }

func (r *myRawRows) next() bool {
	if r.done {
		return false
	}
	if err := r.rows.Next(r.dest); err != nil {
		if err != io.EOF {
			r.e = err
		}
		r.done = true
		return false
	}
	for i, v := range r.dest {
		b, ok := r.text(i, v)
		if !ok {
			r.e = fmt.Errorf("column %q: the driver gave a %T", r.cols[i].name, v)
			r.done = true
			return false
		}
		r.vals[i] = b
	}
	return true
}

// text is v as database/sql's Scan into RawBytes writes it.
func (r *myRawRows) text(i int, v driver.Value) ([]byte, bool) {
	switch x := v.(type) {
	case nil:
		return nil, true
	case []byte:
		return x, true
	case int64:
		r.nums[i] = strconv.AppendInt(r.nums[i][:0], x, 10)
	case uint64:
		r.nums[i] = strconv.AppendUint(r.nums[i][:0], x, 10)
	case float64:
		r.nums[i] = strconv.AppendFloat(r.nums[i][:0], x, 'g', -1, 64)
	case float32:
		r.nums[i] = strconv.AppendFloat(r.nums[i][:0], float64(x), 'g', -1, 32)
	case bool:
		r.nums[i] = strconv.AppendBool(r.nums[i][:0], x)
	case string:
		r.nums[i] = append(r.nums[i][:0], x...)
	case time.Time:
		r.nums[i] = x.AppendFormat(r.nums[i][:0], time.RFC3339Nano)
	default:
		return nil, false
	}
	return r.nums[i], true
}

func (r *myRawRows) values() [][]byte { return r.vals }
func (r *myRawRows) err() error       { return r.e }

func (r *myRawRows) close() {
	if r.rows != nil {
		if err := r.rows.Close(); err != nil && r.e == nil {
			r.e = err
		}
		r.rows = nil
	}
	r.done = true
}
