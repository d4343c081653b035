package pipeline

import (
	"strings"

	"github.com/crmsync/crmsync/engine/config"
	"github.com/crmsync/crmsync/engine/diag"
	"github.com/crmsync/crmsync/engine/sink"
)

// MaxIdentifier is PostgreSQL's limit on a name (NAMEDATALEN-1 bytes).
// The server cuts longer names, so two long names can become one table
// or column; the postgres sink refuses them at run time, lint says so
// first. The names crmsync derives itself from a table name (its
// __crmsync_new and __crmsync_seen work tables, _pkey and _parent_idx)
// are shortened by the sink with a hash of the full name and need no
// check here.
const MaxIdentifier = 63

// nameCheck finds the table and column names that would break on a
// destination: longer than PostgreSQL allows, or equal to another one
// but for case (SQLite compares names without case, and so does any tool
// that folds them).
type nameCheck struct {
	d      *config.Document
	tables map[string]nameSeen // lower-cased table name → first writer
}

// systemColumns are the columns the sinks add to every table; a field
// of one of these names (in any case) would collide with them.
var systemColumns = map[string]bool{"_synced_at": true, "_sync_id": true, "_raw": true, "_row_hash": true, "_deleted_at": true}

// reservedTable: the names of crmsync's own state tables and work tables,
// and SQLite's, which no pipeline may write to.
func reservedTable(name string) bool {
	low := strings.ToLower(name)
	switch low {
	case "crmsync_sync_history", "crmsync_state", "crmsync_rejects", "crmsync_locks":
		return true
	}
	return strings.HasPrefix(low, "crmsync_new_") || strings.HasPrefix(low, "crmsync_seen_") || strings.HasPrefix(low, "sqlite_")
}

type nameSeen struct{ name, owner string }

func newNameCheck(d *config.Document) *nameCheck {
	return &nameCheck{d: d, tables: map[string]nameSeen{}}
}

// table checks one table of an entity (or child) at path. explicit: its
// name comes from table:, else it is derived from the pipeline and entity
// names. fieldsPath is where its own fields are; columns not among them
// (a child's parent key, _index) are not reported again.
func (c *nameCheck) table(t *sink.Table, path, owner string, explicit bool, fieldsPath string, own map[string]bool) {
	d := c.d
	if n := len(t.Name); n > MaxIdentifier {
		if explicit {
			d.Addf(path+"/table", diag.Error, "long-name", "table name %q is %d bytes, over PostgreSQL's %d-byte limit for names (it would be cut short): choose a shorter one", t.Name, n, MaxIdentifier)
		} else {
			d.AddKeyf(path, diag.Error, "long-name", "%s writes to table %q by default, %d bytes, over PostgreSQL's %d-byte limit for names: give it a shorter table: name", owner, t.Name, n, MaxIdentifier)
		}
	}
	if reservedTable(t.Name) {
		msg := "%s writes to table %q, a name crmsync or SQLite keeps for its own tables: give it another table: name"
		if explicit {
			d.Addf(path+"/table", diag.Error, "reserved-name", msg, owner, t.Name)
		} else {
			d.AddKeyf(path, diag.Error, "reserved-name", msg, owner, t.Name)
		}
	}
	low := strings.ToLower(t.Name)
	if first, ok := c.tables[low]; ok && first.name != t.Name {
		msg := "%s writes to table %q, which differs from table %q of %s only in case: SQLite (and PostgreSQL, for names it folds) takes them for one table; give one a table: name"
		if explicit {
			d.Addf(path+"/table", diag.Error, "case-collision", msg, owner, t.Name, first.name, first.owner)
		} else {
			d.AddKeyf(path, diag.Error, "case-collision", msg, owner, t.Name, first.name, first.owner)
		}
	} else if !ok {
		c.tables[low] = nameSeen{t.Name, owner}
	}
	cols := map[string]string{}
	for _, col := range t.Columns {
		at := fieldsPath + "/" + config.Escape(col.Name)
		mine := own[col.Name]
		if n := len(col.Name); n > MaxIdentifier && mine {
			d.AddKeyf(at, diag.Error, "long-name", "field %q is %d bytes, over PostgreSQL's %d-byte limit for column names (it would be cut short): choose a shorter name", col.Name, n, MaxIdentifier)
		}
		low := strings.ToLower(col.Name)
		if mine && systemColumns[low] {
			d.AddKeyf(at, diag.Error, "reserved-name", "field %q has the name of a column crmsync adds to every table (_synced_at, _sync_id, _raw, _row_hash, _deleted_at; SQLite ignores case): rename the field", col.Name)
		}
		first, ok := cols[low]
		if !ok {
			cols[low] = col.Name
			continue
		}
		if first == col.Name || !mine {
			continue // the same name twice is reported elsewhere
		}
		d.AddKeyf(at, diag.Error, "case-collision", "field %q differs from column %q of table %q only in case: SQLite (and PostgreSQL, for names it folds) takes them for one column; rename one", col.Name, first, t.Name)
	}
}
