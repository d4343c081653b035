package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// tenantCRM serves two contacts named after its tenant and records the
// Authorization header of every request; failing ones answer 500.
type tenantCRM struct {
	*httptest.Server
	mu    sync.Mutex
	auths map[string]int
}

func newTenantCRM(t *testing.T, name string, failing bool) *tenantCRM {
	c := &tenantCRM{auths: map[string]int{}}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.auths[r.Header.Get("Authorization")]++
		c.mu.Unlock()
		if failing {
			http.Error(w, `{"message":"down for maintenance"}`, http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, `{"items":[{"id":1,"name":"%s one"},{"id":2,"name":"%s two"}]}`, name, name)
	}))
	t.Cleanup(c.Close)
	return c
}

func (c *tenantCRM) seen() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for k, v := range c.auths {
		out[k] = v
	}
	return out
}

const tenantPipeline = `version: 1
name: crm
source:
  type: http
  base_url: ${env:CRM_BASE_URL}
  auth: {type: bearer, token: "${env:CRM_TOKEN}"}
  retry: {attempts: 1}
  records: items
entities:
  contacts:
    request: {path: /contacts}
    primary_key: id
    fields:
      id: {path: id, type: integer}
      name: name
`

func schemaOf(t *testing.T, dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("schema")
}

// TestTenants: one pipeline file for three tenants against three CRMs
// into one PostgreSQL, with run and with serve --once: acme and globex
// (inline env and an env file) land in their own schemas, initech (a table
// prefix) fails without stopping them; each CRM sees only its tenant's
// token (never the process's), and no token reaches the output.
func TestTenants(t *testing.T) {
	for _, verb := range []string{"run", "serve"} {
		t.Run(verb, func(t *testing.T) {
			t.Setenv("CRM_TOKEN", "process-token-must-not-leak")
			dsn := pgSchemaDSN(t)
			acmeSchema, globexSchema := schemaOf(t, pgSchemaDSN(t)), schemaOf(t, pgSchemaDSN(t))
			acme, globex, initech := newTenantCRM(t, "acme", false), newTenantCRM(t, "globex", false), newTenantCRM(t, "initech", true)
			dir := t.TempDir()
			pipes := filepath.Join(dir, "pipelines")
			os.Mkdir(pipes, 0o755)
			os.WriteFile(filepath.Join(pipes, "crm.yaml"), []byte(tenantPipeline), 0o644)
			os.WriteFile(filepath.Join(dir, "globex.env"), []byte("CRM_BASE_URL="+globex.URL+"\nCRM_TOKEN=tok-globex-SECRET\n"), 0o600)
			tenants := filepath.Join(dir, "tenants.yaml")
			os.WriteFile(tenants, []byte(fmt.Sprintf(`tenants:
  - name: acme
    env: {CRM_BASE_URL: %q, CRM_TOKEN: tok-acme-SECRET}
    schema: %s
  - name: globex
    env_file: globex.env
    schema: %s
  - name: initech
    env: {CRM_BASE_URL: %q, CRM_TOKEN: tok-initech-SECRET}
    table_prefix: initech_
`, acme.URL, acmeSchema, globexSchema, initech.URL)), 0o644)

			if code, out, errs := auRun("lint", "--tenants", tenants, pipes); code != 0 {
				t.Fatalf("lint --tenants: %d\n%s%s", code, out, errs)
			}
			args := []string{"run", "--dest", dsn, "--tenants", tenants, "--no-progress", pipes}
			if verb == "serve" {
				args = []string{"serve", "--once", "--dest", dsn, "--tenants", tenants, "--dir", pipes}
			}
			code, out, errs := auRun(args...)
			if code != exitFailed {
				t.Fatalf("%s: exit %d, want 1 (initech failed)\n%s%s", verb, code, out, errs)
			}
			for _, want := range []string{"crm@acme", "crm@globex", "crm@initech"} {
				if !strings.Contains(out, want) {
					t.Errorf("summary lacks %s:\n%s", want, out)
				}
			}
			for _, secret := range []string{"SECRET", "process-token"} {
				if strings.Contains(out+errs, secret) {
					t.Errorf("a token (%s) reached the output:\n%s%s", secret, out, errs)
				}
			}
			for name, c := range map[string]*tenantCRM{"acme": acme, "globex": globex, "initech": initech} {
				seen := c.seen()
				if len(seen) != 1 || seen["Bearer tok-"+name+"-SECRET"] == 0 {
					t.Errorf("%s's CRM saw Authorization %v, want only its own token", name, seen)
				}
			}

			db, err := sql.Open("pgx", baseOf(dsn))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			q := func(query string) string {
				var v string
				if err := db.QueryRowContext(context.Background(), query).Scan(&v); err != nil {
					t.Fatalf("%s: %v", query, err)
				}
				return v
			}
			for name, schema := range map[string]string{"acme": acmeSchema, "globex": globexSchema} {
				got := q(`SELECT string_agg(name, ',' ORDER BY id) FROM "` + schema + `".crm_contacts`)
				if want := name + " one," + name + " two"; got != want {
					t.Errorf("%s.contacts: %q, want %q", schema, got, want)
				}
				if got := q(`SELECT string_agg(pipeline || ' ' || status, ',') FROM "` + schema + `".crmsync_sync_history`); got != "crm@"+name+" success" {
					t.Errorf("%s history: %q", schema, got)
				}
			}
			main := schemaOf(t, dsn)
			if got := q(`SELECT string_agg(pipeline || ' ' || status, ',') FROM "` + main + `".crmsync_sync_history`); got != "crm@initech failed" {
				t.Errorf("main schema history: %q, want initech's failed sync only", got)
			}
			if got := q(`SELECT count(*)::text FROM information_schema.tables WHERE table_schema = '` + main + `' AND table_name = 'crm_contacts'`); got != "0" {
				t.Errorf("an unprefixed crm_contacts table in the main schema: %s", got)
			}
			if got := q(`SELECT count(*)::text FROM "` + main + `".initech_crm_contacts`); got != "0" {
				t.Errorf("initech_crm_contacts: %s rows, want 0 (its CRM failed)", got)
			}
		})
	}
}

// baseOf is the DSN without its schema parameter.
func baseOf(dsn string) string {
	u, _ := url.Parse(dsn)
	q := u.Query()
	q.Del("schema")
	u.RawQuery = q.Encode()
	return u.String()
}
