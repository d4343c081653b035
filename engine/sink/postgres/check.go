package postgres

import (
	"errors"
	"fmt"

	"github.com/crmsync/crmsync/engine/sink"
	"github.com/crmsync/crmsync/engine/value"
)

// check validates a table definition before any SQL is built from it.
func check(t *sink.Table) error {
	if t == nil {
		return errors.New("no table")
	}
	if err := checkName("table", t.Name); err != nil {
		return err
	}
	where := fmt.Sprintf("table %q", t.Name)
	seen := map[string]value.Type{}
	for _, c := range t.Columns {
		if err := checkName("column", c.Name); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		if systemColumns[c.Name] {
			return fmt.Errorf("%s: column %q clashes with a column crmsync adds itself; rename the field", where, c.Name)
		}
		if _, dup := seen[c.Name]; dup {
			return fmt.Errorf("%s: column %q is declared twice", where, c.Name)
		}
		if _, err := typeOf(c.Type); err != nil {
			return fmt.Errorf("%s: column %q: %w", where, c.Name, err)
		}
		seen[c.Name] = c.Type
	}
	keys := func(what string, names []string) error {
		for _, k := range names {
			typ, ok := seen[k]
			if !ok {
				return fmt.Errorf("%s: %s column %q is not one of its fields", where, what, k)
			}
			if sqlTypes[typ].arrayOID == 0 {
				return fmt.Errorf("%s: %s column %q has type %s, which cannot be a key", where, what, k, typ)
			}
		}
		return nil
	}
	if err := keys("primary key", t.PrimaryKey); err != nil {
		return err
	}
	if err := keys("parent key", t.ParentKey); err != nil {
		return err
	}
	switch writeMode(t) {
	case sink.Upsert:
		if len(t.PrimaryKey) == 0 {
			return fmt.Errorf("%s: write %q needs a primary_key (or use write: append)", where, sink.Upsert)
		}
	case sink.Append, sink.Replace:
	default:
		return fmt.Errorf("%s: unknown write mode %q (want upsert, append or replace)", where, t.Write)
	}
	switch t.DeleteMissing {
	case "":
	case sink.DeleteSoft, sink.DeleteHard:
		if writeMode(t) != sink.Upsert {
			return fmt.Errorf("%s: delete_missing works with write: upsert only (replace already drops missing rows)", where)
		}
	default:
		return fmt.Errorf("%s: unknown delete_missing %q (want soft or hard)", where, t.DeleteMissing)
	}
	return nil
}
