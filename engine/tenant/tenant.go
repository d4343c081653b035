// Package tenant runs one pipeline file for many accounts: a tenants file
// lists them, each with its own environment (inline env:, an env_file in
// KEY=VALUE form, or both) and its own PostgreSQL schema or table prefix.
//
//	tenants:
//	  - name: acme
//	    env_file: acme.env        # relative to the tenants file
//	    schema: crm_acme
//	  - name: globex
//	    env: {CRM_TOKEN: "…", CRM_BASE_URL: "https://globex.example.com"}
//	    table_prefix: globex_
//
// Each tenant is its own pipeline instance, named <pipeline>@<tenant>: its
// own checkpoints, claims, history and rejects rows and metrics labels.
//
// A variable that any tenant sets is that tenant's alone: a tenant that
// does not set it sees it unset (never the process's or another tenant's
// value). Variables no tenant sets come from the process environment.
package tenant

import (
	"bytes"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/joho/godotenv"
	"go.yaml.in/yaml/v3"

	"github.com/crmsync/crmsync/engine/pipeline"
	"github.com/crmsync/crmsync/engine/sink"
)

// Tenant is one account.
type Tenant struct {
	Name        string            `yaml:"name"`
	Env         map[string]string `yaml:"env"`
	EnvFile     string            `yaml:"env_file"`
	Schema      string            `yaml:"schema"`
	TablePrefix string            `yaml:"table_prefix"`

	// Line is where the tenant starts in its file.
	Line int `yaml:"-"`
	env  map[string]string
	own  map[string]bool // every name some tenant of the file sets
}

// Set is the tenants of one file.
type Set struct {
	File    string
	Tenants []*Tenant
}

var (
	nameRE   = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)
	identRE  = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)
	prefixRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,30}$`)
	// unknownRE reads yaml's "line 1: field tenant not found in type …".
	unknownRE = regexp.MustCompile(`^line (\d+): field (\S+) not found`)
)

// Load reads a tenants file. Errors name the file and line.
func Load(path string) (*Set, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tenants file: %w", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	var file struct {
		Tenants []yaml.Node `yaml:"tenants"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil {
		if te, ok := err.(*yaml.TypeError); ok && len(te.Errors) > 0 {
			if m := unknownRE.FindStringSubmatch(te.Errors[0]); m != nil {
				return nil, fmt.Errorf("%s:%s: unknown key %q: a tenants file has one key, tenants:", path, m[1], m[2])
			}
			return nil, fmt.Errorf("%s: %s", path, te.Errors[0])
		}
		return nil, fmt.Errorf("%s: %v", path, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if len(file.Tenants) == 0 {
		return nil, fmt.Errorf("%s:1: no tenants: want a list under tenants:", path)
	}
	set := &Set{File: path}
	seen := map[string]int{}
	schemas := map[string]int{}
	own := map[string]bool{}
	for i := range file.Tenants {
		n := &file.Tenants[i]
		t := &Tenant{Line: n.Line}
		if err := n.Decode(t); err != nil {
			return nil, fmt.Errorf("%s:%d: tenant %d: %v", path, n.Line, i+1, strings.TrimPrefix(err.Error(), "yaml: "))
		}
		if err := decodeStrict(n); err != nil {
			return nil, fmt.Errorf("%s:%d: tenant %d: %v", path, n.Line, i+1, err)
		}
		where := fmt.Sprintf("%s:%d: tenant %q", path, n.Line, t.Name)
		switch {
		case !nameRE.MatchString(t.Name):
			return nil, fmt.Errorf("%s: name: want 1-32 lower-case letters, digits, _ or - (it names the pipeline instance <pipeline>@<name>)", where)
		case seen[t.Name] != 0:
			return nil, fmt.Errorf("%s: the name is already used at line %d", where, seen[t.Name])
		case t.Schema == "" && t.TablePrefix == "":
			return nil, fmt.Errorf("%s: needs schema: or table_prefix:, so that its tables are its own", where)
		case t.Schema != "" && !identRE.MatchString(t.Schema):
			return nil, fmt.Errorf("%s: schema %q: want a lower-case identifier of at most 63 bytes", where, t.Schema)
		case t.TablePrefix != "" && !prefixRE.MatchString(t.TablePrefix):
			return nil, fmt.Errorf("%s: table_prefix %q: want lower-case letters, digits and _ (at most 31)", where, t.TablePrefix)
		}
		if t.Schema != "" {
			if at := schemas[t.Schema]; at != 0 && t.TablePrefix == "" {
				return nil, fmt.Errorf("%s: schema %q is already the schema of the tenant at line %d; give one of them a table_prefix", where, t.Schema, at)
			}
			schemas[t.Schema] = n.Line
		}
		seen[t.Name] = n.Line
		t.env = map[string]string{}
		if t.EnvFile != "" {
			f := t.EnvFile
			if !filepath.IsAbs(f) {
				f = filepath.Join(filepath.Dir(path), f)
			}
			vals, err := godotenv.Read(f)
			if err != nil {
				return nil, fmt.Errorf("%s: env_file: %v", where, err)
			}
			for k, v := range vals {
				t.env[k] = v
			}
		}
		for k, v := range t.Env { // inline env wins over the file
			t.env[k] = v
		}
		for k := range t.env {
			own[k] = true
		}
		set.Tenants = append(set.Tenants, t)
	}
	for _, t := range set.Tenants {
		t.own = own
	}
	return set, nil
}

// decodeStrict reports unknown keys of a tenant (Decode on a node does
// not check them).
func decodeStrict(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("want a mapping with name, env or env_file, and schema or table_prefix")
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		switch k := n.Content[i].Value; k {
		case "name", "env", "env_file", "schema", "table_prefix":
		default:
			return fmt.Errorf("line %d: unknown key %q (want name, env, env_file, schema, table_prefix)", n.Content[i].Line, k)
		}
	}
	return nil
}

// LookupEnv is the tenant's environment: its own variables; unset for a
// variable another tenant sets; else the process's.
func (t *Tenant) LookupEnv(name string) (string, bool) {
	if v, ok := t.env[name]; ok {
		return v, true
	}
	if t.own[name] {
		return "", false
	}
	return os.LookupEnv(name)
}

// Instance is the name of the tenant's instance of a pipeline.
func (t *Tenant) Instance(pipeline string) string { return pipeline + "@" + t.Name }

// Options are o with the tenant's environment.
func (t *Tenant) Options(o pipeline.Options) pipeline.Options {
	o.LookupEnv = t.LookupEnv
	return o
}

// Apply makes a plan compiled with Options the tenant's instance: its
// name and its table prefix.
func (t *Tenant) Apply(p *pipeline.Plan) {
	p.Name = t.Instance(p.Name)
	if t.TablePrefix == "" {
		return
	}
	done := map[*sink.Table]bool{}
	var prefix func(tb *sink.Table)
	prefix = func(tb *sink.Table) {
		if tb == nil || done[tb] {
			return
		}
		done[tb] = true
		tb.Name = t.TablePrefix + tb.Name
		for _, c := range tb.Children {
			prefix(c)
		}
	}
	for _, e := range p.Entities {
		prefix(e.Table)
		for _, c := range e.Children {
			prefix(c.Table)
		}
	}
}

// DSN is the destination of a tenant with a schema: the PostgreSQL DSN
// with its schema parameter set; other tenants use dsn as it is.
func (t *Tenant) DSN(dsn string) (string, error) {
	if t.Schema == "" {
		return dsn, nil
	}
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return "", fmt.Errorf("tenant %q: schema: needs a postgres:// destination (use table_prefix: with SQLite)", t.Name)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", fmt.Errorf("tenant %q: the destination is not a URL", t.Name) // not echoed: it may hold a password
	}
	q := u.Query()
	q.Set("schema", t.Schema)
	u.RawQuery = q.Encode()
	return u.String(), nil
}
