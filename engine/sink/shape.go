package sink

import "fmt"

// Shape is what a destination makes of a table, known without
// connecting: the schema that holds it and its columns with their SQL
// types, the system columns included. Tools that describe the warehouse
// (crmsync dbt sources) read it.
type Shape struct {
	Schema  string
	Columns []ShapeColumn
}

// ShapeColumn is one column of a Shape.
type ShapeColumn struct {
	Name    string
	SQLType string
	// System columns are crmsync's own (_synced_at, _sync_id, …).
	System bool
}

// ShapeFunc describes a table for one destination DSN.
type ShapeFunc func(dsn string, t *Table) (Shape, error)

var shapes = map[string]ShapeFunc{}

// RegisterShape makes Describe know a DSN scheme's tables.
func RegisterShape(scheme string, f ShapeFunc) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := shapes[scheme]; dup {
		panic("sink: RegisterShape called twice for " + scheme)
	}
	shapes[scheme] = f
}

// Describe says what the destination a DSN names makes of t.
func Describe(dsn string, t *Table) (Shape, error) {
	scheme, err := schemeOf(dsn)
	if err != nil {
		return Shape{}, err
	}
	mu.RLock()
	f, ok := shapes[scheme]
	mu.RUnlock()
	if !ok {
		return Shape{}, fmt.Errorf("destination scheme %q cannot describe its tables", scheme)
	}
	return f(dsn, t)
}
