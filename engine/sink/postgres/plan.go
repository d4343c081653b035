package postgres

import (
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/crmsync/crmsync/engine/sink"
	"github.com/crmsync/crmsync/engine/value"
)

// column is a declared column with its wire encoder.
type column struct {
	name string
	typ  value.Type
	st   sqlType
	enc  encoder
}

// plan is everything Write needs for one physical table, built once when
// the table is prepared: the COPY tuple layout and every SQL statement.
//
// A COPY tuple is the declared columns, then _raw (keep_raw), _row_hash
// (keyed tables) and _sync_id; _synced_at takes its default, now().
type plan struct {
	table    *sink.Table
	sig      string
	physical string
	ident    string
	cols     []column
	pk       []int // positions of the primary key in cols
	parent   []int // positions of the parent key in cols
	keyed    bool  // merged on the primary key; rows carry _row_hash
	// fresh: the table was empty when prepared and no batch has met a key
	// it already held, so batches COPY straight in without the key lookup
	// (a first sync, a replace's new table). A batch whose COPY meets an
	// existing key rolls back, clears fresh, and is written again the
	// usual way.
	fresh   atomic.Bool
	keepRaw bool
	// deletedAt: the table has _deleted_at (soft deletes, now or before),
	// so a row seen again is undeleted.
	deletedAt bool
	nfields   uint16
	lockKey   int64
	copySQL   string

	lookupSQL    string // keyed: which keys exist, with their hash
	keyOIDs      []uint32
	stage        string // keyed: temp table the changed rows are copied to
	stageDDL     string
	stageCopySQL string
	updateSQL    string

	deleteChildrenSQL string // parent key: delete the children of listed parents
	parentOIDs        []uint32
}

// signature identifies a table definition, to notice a Write with a
// definition other than the prepared one.
func signature(t *sink.Table) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%s|%v|%s|%v|%v|", t.Name, writeMode(t), t.KeepRaw, t.DeleteMissing, t.PrimaryKey, t.ParentKey)
	for _, c := range t.Columns {
		fmt.Fprintf(&b, "%s:%d,", c.Name, c.Type)
	}
	return b.String()
}

func (d *DB) compile(t *sink.Table, physical string, existing map[string]string) *plan {
	p := &plan{
		table:     t,
		sig:       signature(t),
		physical:  physical,
		ident:     d.ident(physical),
		keyed:     hasKey(t),
		keepRaw:   t.KeepRaw,
		lockKey:   hash64("crmsync table", d.schema, physical),
		deletedAt: existing[colDeletedAt] != "",
	}
	names := make([]string, 0, len(t.Columns)+3)
	var ddl strings.Builder
	for _, c := range t.Columns {
		st := sqlTypes[c.Type]
		p.cols = append(p.cols, column{name: c.Name, typ: c.Type, st: st, enc: encoderFor(c.Type)})
		names = append(names, c.Name)
		fmt.Fprintf(&ddl, "%s %s, ", quote(c.Name), st.name)
	}
	pos := func(keys []string) []int {
		var out []int
		for _, k := range keys {
			out = append(out, slices.Index(names, k))
		}
		return out
	}
	p.parent = pos(t.ParentKey)
	if p.keepRaw {
		names = append(names, colRaw)
		ddl.WriteString(quote(colRaw) + " jsonb, ")
	}
	if p.keyed {
		p.pk = pos(t.PrimaryKey)
		names = append(names, colRowHash)
		ddl.WriteString(quote(colRowHash) + " bytea, ")
	}
	names = append(names, colSyncID)
	ddl.WriteString(quote(colSyncID) + " bigint")
	p.nfields = uint16(len(names))
	cols := quoteList("", names)
	p.copySQL = fmt.Sprintf("COPY %s (%s) FROM STDIN BINARY", p.ident, cols)

	if len(p.parent) > 0 {
		var using, on []string
		for i, k := range p.parent {
			c := p.cols[k]
			using = append(using, fmt.Sprintf("$%d::%s[]", i+1, c.st.name))
			on = append(on, fmt.Sprintf("c.%s = p.k%d", quote(c.name), i))
			p.parentOIDs = append(p.parentOIDs, c.st.arrayOID)
		}
		p.deleteChildrenSQL = fmt.Sprintf("DELETE FROM %s c USING unnest(%s) AS p(%s) WHERE %s",
			p.ident, strings.Join(using, ", "), keyAliases(len(p.parent)), strings.Join(on, " AND "))
	}
	if !p.keyed {
		return p
	}

	var args, on, stageOn []string
	for i, k := range p.pk {
		c := p.cols[k]
		args = append(args, fmt.Sprintf("$%d::%s[]", i+1, c.st.name))
		on = append(on, fmt.Sprintf("t.%s = k.k%d", quote(c.name), i))
		stageOn = append(stageOn, fmt.Sprintf("t.%[1]s = s.%[1]s", quote(c.name)))
		p.keyOIDs = append(p.keyOIDs, c.st.arrayOID)
	}
	deleted := "false"
	if p.deletedAt {
		deleted = "t." + quote(colDeletedAt) + " IS NOT NULL"
	}
	p.lookupSQL = fmt.Sprintf("SELECT k.n, t.%s, %s FROM unnest(%s) WITH ORDINALITY AS k(%s, n) JOIN %s t ON %s",
		quote(colRowHash), deleted, strings.Join(args, ", "), keyAliases(len(p.pk)), p.ident, strings.Join(on, " AND "))

	// The staging table lives for the session and is emptied at each
	// commit; its name follows the shape, so an evolved table gets a new one.
	p.stage = fmt.Sprintf("crmsync_stage_%016x", uint64(hash64(p.ident, ddl.String())))
	stage := "pg_temp." + quote(p.stage)
	p.stageDDL = fmt.Sprintf("CREATE TEMP TABLE IF NOT EXISTS %s (%s) ON COMMIT DELETE ROWS", quote(p.stage), ddl.String())
	p.stageCopySQL = fmt.Sprintf("COPY %s (%s) FROM STDIN BINARY", stage, cols)
	var set []string
	for _, n := range names {
		if !slices.Contains(t.PrimaryKey, n) {
			set = append(set, fmt.Sprintf("%[1]s = s.%[1]s", quote(n)))
		}
	}
	set = append(set, quote(colSyncedAt)+" = now()")
	if p.deletedAt {
		set = append(set, quote(colDeletedAt)+" = NULL")
	}
	p.updateSQL = fmt.Sprintf("UPDATE %s t SET %s FROM %s s WHERE %s",
		p.ident, strings.Join(set, ", "), stage, strings.Join(stageOn, " AND "))
	return p
}

func keyAliases(n int) string {
	a := make([]string, n)
	for i := range a {
		a[i] = fmt.Sprintf("k%d", i)
	}
	return strings.Join(a, ", ")
}
