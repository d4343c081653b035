package main

import (
	"context"
	"fmt"

	"github.com/crmsync/crmsync/engine/serve"
	"github.com/crmsync/crmsync/engine/sink"
	"github.com/crmsync/crmsync/engine/tenant"
)

const tenantsUsage = "a tenants file: run every pipeline file once per tenant listed, each with its own env and schema or table_prefix (see docs/guides/serve-operations.md)"

// openTenants opens the destination of each tenant with a schema of its
// own; the others write into dest. close closes what it opened.
func openTenants(ctx context.Context, set *tenant.Set, dsn string) (ts []serve.Tenant, closeAll func(), err error) {
	closeAll = func() {
		for _, t := range ts {
			if t.Dest != nil {
				t.Dest.Close()
			}
		}
	}
	for _, t := range set.Tenants {
		st := serve.Tenant{Tenant: t}
		if t.Schema != "" {
			tdsn, err := t.DSN(dsn)
			if err != nil {
				closeAll()
				return nil, nil, fmt.Errorf("%s:%d: %w", set.File, t.Line, err)
			}
			if st.Dest, err = sink.Open(ctx, tdsn); err != nil {
				closeAll()
				return nil, nil, fmt.Errorf("tenant %q: %w", t.Name, err)
			}
		}
		ts = append(ts, st)
	}
	return ts, closeAll, nil
}
