package tenant

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLoadErrors: a bad tenants file is refused naming the file, line
// and tenant.
func TestLoadErrors(t *testing.T) {
	for _, tc := range []struct{ name, file, want string }{
		{"empty", "tenants: []\n", "tenants.yaml:1: no tenants"},
		{"unknown key", "tenants:\n  - name: a\n    schema: a\n    shema: b\n", "tenants.yaml:2: tenant 1: line 4: unknown key \"shema\""},
		{"top-level key", "tenant:\n  - name: a\n", `tenants.yaml:1: unknown key "tenant"`},
		{"bad name", "tenants:\n  - name: Acme Inc\n    schema: a\n", `tenants.yaml:2: tenant "Acme Inc": name: want`},
		{"duplicate", "tenants:\n  - name: a\n    schema: a\n  - name: a\n    schema: b\n", `tenants.yaml:4: tenant "a": the name is already used at line 2`},
		{"no tables", "tenants:\n  - name: a\n    env: {X: y}\n", `tenants.yaml:2: tenant "a": needs schema: or table_prefix:`},
		{"shared schema", "tenants:\n  - name: a\n    schema: s\n  - name: b\n    schema: s\n", `tenants.yaml:4: tenant "b": schema "s" is already the schema of the tenant at line 2`},
		{"bad prefix", "tenants:\n  - name: a\n    table_prefix: A-\n", `tenant "a": table_prefix "A-"`},
		{"missing env file", "tenants:\n  - name: a\n    schema: a\n    env_file: nope.env\n", `tenants.yaml:2: tenant "a": env_file: open`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := write(t, t.TempDir(), "tenants.yaml", tc.file)
			_, err := Load(p)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// TestLookupEnv: a tenant sees its own variables (the inline env over
// its env file), never another tenant's nor the process's value of a
// name some tenant sets; other names come from the process.
func TestLookupEnv(t *testing.T) {
	t.Setenv("TOKEN", "process")
	t.Setenv("SHARED", "from-process")
	dir := t.TempDir()
	write(t, dir, "b.env", "# b's secrets\nTOKEN=b-file\nURL='https://b.example.com'\n")
	set, err := Load(write(t, dir, "tenants.yaml", "tenants:\n  - name: a\n    env: {TOKEN: a-inline}\n    schema: a\n"+
		"  - name: b\n    env_file: b.env\n    env: {URL: https://b2.example.com}\n    table_prefix: b_\n  - name: c\n    table_prefix: c_\n"))
	if err != nil {
		t.Fatal(err)
	}
	a, b, c := set.Tenants[0], set.Tenants[1], set.Tenants[2]
	for _, tc := range []struct {
		t          *Tenant
		name, want string
		ok         bool
	}{
		{a, "TOKEN", "a-inline", true},
		{a, "URL", "", false}, // b sets it: not the process's either
		{b, "TOKEN", "b-file", true},
		{b, "URL", "https://b2.example.com", true},
		{c, "TOKEN", "", false},
		{c, "SHARED", "from-process", true},
	} {
		if v, ok := tc.t.LookupEnv(tc.name); v != tc.want || ok != tc.ok {
			t.Errorf("%s: %s = %q %v, want %q %v", tc.t.Name, tc.name, v, ok, tc.want, tc.ok)
		}
	}
	if dsn, err := a.DSN("postgres://u@h/db?sslmode=disable&schema=main"); err != nil || !strings.Contains(dsn, "schema=a") || strings.Contains(dsn, "main") {
		t.Errorf("DSN: %q %v", dsn, err)
	}
	if _, err := a.DSN("sqlite:x.db"); err == nil || !strings.Contains(err.Error(), "table_prefix") {
		t.Errorf("schema on SQLite: %v", err)
	}
}
