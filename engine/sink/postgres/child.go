package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/crmsync/crmsync/engine/sink"
)

// childWork is one ChildRows, encoded before the transaction.
type childWork struct {
	p       *plan
	fr      *fullRun
	e       *encoded
	parents [][]byte // one array parameter per parent key column
	name    string
}

func (d *DB) prepareChild(ctx context.Context, c sink.ChildRows, syncID int64) (childWork, error) {
	if c.Table == nil {
		return childWork{}, errors.New("child rows have no table")
	}
	k := childWork{name: c.Table.Name}
	where := fmt.Sprintf("child table %q", c.Table.Name)
	var err error
	if k.p, k.fr, err = d.target(ctx, c.Table); err != nil {
		return k, fmt.Errorf("%s: %w", where, err)
	}
	k.e = getEncoded()
	if err := k.e.encode(k.p, c.Rows, syncID); err != nil {
		return k, fmt.Errorf("%s: %w", where, err)
	}
	if len(c.Parents) == 0 {
		return k, nil
	}
	if len(k.p.parent) == 0 {
		return k, fmt.Errorf("%s: parents are listed but the table has no parent key", where)
	}
	for j, col := range k.p.parent {
		c0 := &k.p.cols[col]
		a := arrayHeader(nil, c0.st.arrayOID, len(c.Parents))
		for i, par := range c.Parents {
			if len(par) != len(k.p.parent) {
				return k, fmt.Errorf("%s: parent %d has %d key values for %d parent key columns", where, i+1, len(par), len(k.p.parent))
			}
			if par[j] == nil {
				return k, fmt.Errorf("%s: parent %d: key column %q is null", where, i+1, c0.name)
			}
			if a, err = c0.enc(a, par[j]); err != nil {
				return k, fmt.Errorf("%s: parent %d: key column %q: %w", where, i+1, c0.name, err)
			}
		}
		k.parents = append(k.parents, a)
	}
	return k, nil
}

// writeChild replaces the children of the listed parents.
func (d *DB) writeChild(ctx context.Context, pc *pgconn.PgConn, k childWork, staged *[]string, lockFn string) error {
	if _, err := pc.Exec(ctx, fmt.Sprintf("SELECT %s(%d)", lockFn, k.p.lockKey)).ReadAll(); err != nil {
		return fmt.Errorf("child table %q: locking: %w", k.name, err)
	}
	if len(k.parents) > 0 {
		if err := execParams(ctx, pc, k.p.deleteChildrenSQL, k.parents, k.p.parentOIDs); err != nil {
			return fmt.Errorf("child table %q: deleting the children of re-synced parents: %w", k.name, err)
		}
	}
	if _, err := d.load(ctx, pc, k.p, k.fr, k.e, nil, staged); err != nil {
		return fmt.Errorf("child table %q: %w", k.name, err)
	}
	return nil
}
