package pipeline_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/engine/config"
	"github.com/crmsync/crmsync/engine/exprfn"
	"github.com/crmsync/crmsync/engine/pipeline"
	"github.com/crmsync/crmsync/engine/source/httpsrc"
	"github.com/crmsync/crmsync/engine/validate"
	"github.com/crmsync/crmsync/engine/value"
	"github.com/crmsync/crmsync/schema"
	"go.yaml.in/yaml/v3"

	_ "github.com/crmsync/crmsync/engine/source/filesrc"
	_ "github.com/crmsync/crmsync/engine/source/githubsrc"
	_ "github.com/crmsync/crmsync/engine/source/httpsrc"
	_ "github.com/crmsync/crmsync/engine/source/sqlsrc"
)

var update = flag.Bool("update", false, "rewrite golden files")

const root = "../.."

// envOf reads "# env: NAME=value" lines at the top of a test file: each
// golden case sees only the variables it declares.
func envOf(data []byte) func(string) (string, bool) {
	env := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, "# env: ")
		if !ok {
			break
		}
		k, v, _ := strings.Cut(rest, "=")
		env[k] = v
	}
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

// TestLintGolden checks every broken pipeline under testdata/lint against
// its expected findings, word for word.
func TestLintGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/lint/*.yaml")
	if len(files) < 30 {
		t.Fatalf("want at least 30 broken pipelines under testdata/lint, found %d", len(files))
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(strings.TrimSuffix(name, ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			plan, findings := pipeline.Lint(name, data, pipeline.Options{LookupEnv: envOf(data)})
			if len(findings) == 0 {
				t.Fatal("no findings: a file under testdata/lint must have a problem")
			}
			if findings.HasErrors() != (plan == nil) {
				t.Fatalf("plan returned = %v with errors = %v", plan != nil, findings.HasErrors())
			}
			seen := map[string]bool{}
			for _, f := range findings {
				k := fmt.Sprintf("%d|%s|%s", f.Line, f.Code, f.Message)
				if seen[k] {
					t.Errorf("the same problem is reported twice: %s", f)
				}
				seen[k] = true
			}
			var got bytes.Buffer
			findings.WriteText(&got)
			golden := strings.TrimSuffix(f, ".yaml") + ".golden"
			if *update {
				os.WriteFile(golden, got.Bytes(), 0o644)
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("missing golden file (run go test ./engine/pipeline -update): %v", err)
			}
			if got.String() != string(want) {
				t.Errorf("findings differ\n--- got\n%s--- want\n%s", got.String(), want)
			}
		})
	}
}

// validFiles are the pipeline files that must lint clean.
func validFiles(t testing.TB) []string {
	var out []string
	for _, pat := range []string{"pipelines/*.yaml", "examples/*/*.yaml", "engine/pipeline/testdata/valid/*.yaml"} {
		m, _ := filepath.Glob(filepath.Join(root, pat))
		out = append(out, m...)
	}
	if len(out) == 0 {
		t.Fatal("no valid pipeline files found")
	}
	return out
}

// TestValidFilesLintClean: every shipped pipeline compiles without an error.
func TestValidFilesLintClean(t *testing.T) {
	for _, f := range validFiles(t) {
		plan, findings := pipeline.LoadFile(f, pipeline.Options{})
		if findings.HasErrors() || plan == nil {
			t.Errorf("%s does not lint clean:\n%s", f, findings.Error())
		}
		data, _ := os.ReadFile(f)
		if _, findings := pipeline.Lint(f, data, pipeline.Options{}); findings.HasErrors() {
			t.Errorf("%s does not lint clean with its profiles:\n%s", f, findings.Error())
		}
	}
}

// yamlToJSON gives the schema the file as an editor's language server
// would: no interpolation, no profiles.
func yamlToJSON(t *testing.T, data []byte) any {
	d := config.Parse("x.yaml", data, config.Options{LookupEnv: func(string) (string, bool) { return "", false }})
	if d.Root == nil {
		return nil
	}
	return d.Value()
}

// TestSchemaAcceptsValidFiles: the published schema validates every valid file.
func TestSchemaAcceptsValidFiles(t *testing.T) {
	sch, err := schema.Compiled()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range validFiles(t) {
		data, _ := os.ReadFile(f)
		if err := sch.Validate(yamlToJSON(t, data)); err != nil {
			t.Errorf("%s: schema rejects a valid file: %v", f, err)
		}
	}
}

// schemaCodes are the finding codes that come from the JSON Schema.
var schemaCodes = []string{"unknown-key", "wrong-type", "missing-required", "invalid-value", "bad-duration", "invalid-name", "wrong-source-setting"}

// TestSchemaRejectsSchemaErrors: every golden-broken file whose problem is
// a schema problem is rejected by the schema alone, as an editor shows it.
func TestSchemaRejectsSchemaErrors(t *testing.T) {
	sch, _ := schema.Compiled()
	files, _ := filepath.Glob("testdata/lint/*.golden")
	checked := 0
	for _, g := range files {
		want, _ := os.ReadFile(g)
		isSchema := false
		for _, line := range strings.Split(string(want), "\n") {
			for _, c := range schemaCodes {
				// invalid-value is also what source kinds say of a value
				// the schema cannot judge (a DSN's form); the schema's own
				// say "is not allowed", "must be" or give a bound.
				if strings.HasSuffix(line, "["+c+"]") && (c != "invalid-value" ||
					strings.Contains(line, "is not allowed") || strings.Contains(line, "must be") || strings.Contains(line, "want ")) {
					isSchema = true
				}
			}
		}
		if !isSchema || bytes.Contains(want, []byte("[env-override]")) {
			continue
		}
		data, _ := os.ReadFile(strings.TrimSuffix(g, ".golden") + ".yaml")
		var n yaml.Node
		if yaml.Unmarshal(data, &n) != nil {
			continue
		}
		checked++
		if err := sch.Validate(yamlToJSON(t, data)); err == nil {
			t.Errorf("%s: the schema accepts a file with a schema problem:\n%s", filepath.Base(g), want)
		}
	}
	if checked < 10 {
		t.Fatalf("only %d schema cases checked", checked)
	}
}

// TestSecretsNeverPrint: secrets interpolated into a plan are redacted
// wherever they could be printed.
func TestSecretsNeverPrint(t *testing.T) {
	src := []byte(`version: 1
name: demo
source:
  type: http
  base_url: http://127.0.0.1:1
  auth: {type: api_key, headers: {X-Auth-Key: "${env:KEY}"}, query: {api_key: "${file:secret.txt}"}}
entities:
  e:
    request: {path: /e}
    primary_key: id
    fields: {id: id}
`)
	env := func(k string) (string, bool) { return "key-SECRET-1", k == "KEY" }
	read := func(string) ([]byte, error) { return []byte("file-SECRET-2\n"), nil }
	plan, findings := pipeline.Load("demo.yaml", src, pipeline.Options{LookupEnv: env, ReadFile: read})
	if plan == nil {
		t.Fatal(findings)
	}
	msg := plan.Redact("GET /e?api_key=file-SECRET-2 with X-Auth-Key key-SECRET-1")
	if strings.Contains(msg, "SECRET") {
		t.Fatalf("secret survived redaction: %s", msg)
	}
	// The forms a secret takes on its way out: URL-escaped, JSON-escaped.
	tricky := "k+y/V=1&\"q"
	env2 := func(k string) (string, bool) { return tricky, k == "KEY" }
	plan2, _ := pipeline.Load("demo.yaml", src, pipeline.Options{LookupEnv: env2, ReadFile: read})
	for _, form := range []string{tricky, "k%2By%2FV%3D1%26%22q", `k+y/V=1&\"q`} {
		if got := plan2.Redact("echo: " + form + " end"); got != "echo: [redacted] end" {
			t.Errorf("form %q: redacted to %q", form, got)
		}
	}
	var dump bytes.Buffer
	auth := plan.Source.Settings.(*httpsrc.SourceConfig).Auth
	secrets := map[string]config.Secret{}
	config.WalkSecrets(auth, "/auth", func(p string, s config.Secret) { secrets[p] = s })
	for _, s := range []any{secrets["/auth/headers/X-Auth-Key"], secrets["/auth/query/api_key"], auth, *auth} {
		dump.WriteString(fmtAll(s))
	}
	if j, err := json.Marshal(auth); err != nil || strings.Contains(string(j), "SECRET") {
		t.Fatalf("auth as JSON: %s, %v", j, err)
	}
	if strings.Contains(dump.String(), "SECRET") {
		t.Fatalf("a secret prints: %s", dump.String())
	}
	if got := secrets["/auth/headers/X-Auth-Key"].Reveal(); got != "key-SECRET-1" {
		t.Fatalf("Reveal = %q", got)
	}
}

// TestOverridesAndProfiles: <PIPELINE>_<SETTING> variables and --env
// profiles reach the plan, command-line values win.
func TestOverridesAndProfiles(t *testing.T) {
	src := []byte(`version: 1
name: hubspot
source: {type: http, base_url: "http://x", timeout: 10s}
defaults: {batch_size: 100}
environments:
  development: {defaults: {batch_size: 50}}
entities:
  contacts:
    request: {path: /c}
    primary_key: id
    fields: {id: id}
`)
	cases := []struct {
		env     map[string]string
		profile string
		cli     int
		want    int
	}{
		{nil, "", 0, 100},
		{nil, "development", 0, 50},
		{map[string]string{"HUBSPOT_BATCH_SIZE": "25"}, "development", 0, 25},
		{map[string]string{"HUBSPOT_BATCH_SIZE": "25"}, "", 7, 7},
	}
	for _, c := range cases {
		plan, f := pipeline.Load("h.yaml", src, pipeline.Options{Profile: c.profile, BatchSize: c.cli,
			LookupEnv: func(k string) (string, bool) { v, ok := c.env[k]; return v, ok }})
		if plan == nil {
			t.Fatal(f)
		}
		if got := plan.Entities[0].BatchSize; got != c.want {
			t.Errorf("env %v profile %q cli %d: batch size %d, want %d", c.env, c.profile, c.cli, got, c.want)
		}
	}
	_, f := pipeline.Load("h.yaml", src, pipeline.Options{Profile: "prod"})
	if !slices.ContainsFunc(f, func(x diagFinding) bool { return x.Code == "unknown-profile" }) {
		t.Fatalf("unknown profile not reported: %v", f)
	}
	plan, _ := pipeline.Load("h.yaml", src, pipeline.Options{LookupEnv: func(k string) (string, bool) { return "45s", k == "HUBSPOT_TIMEOUT" }})
	if plan.Source.Settings.(*httpsrc.SourceConfig).Timeout.Duration.Seconds() != 45 {
		t.Fatalf("HUBSPOT_TIMEOUT not applied: %v", plan.Source.Settings.(*httpsrc.SourceConfig).Timeout)
	}
}

// FuzzLoad: no input may panic or hang the loader.
func FuzzLoad(f *testing.F) {
	for _, file := range validFiles(f) {
		data, _ := os.ReadFile(file)
		f.Add(data)
	}
	broken, _ := filepath.Glob("testdata/lint/*.yaml")
	for _, file := range broken {
		data, _ := os.ReadFile(file)
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pipeline.Load("fuzz.yaml", data, pipeline.Options{
			LookupEnv: func(string) (string, bool) { return "", false },
			ReadFile:  func(string) ([]byte, error) { return nil, os.ErrNotExist },
		})
	})
}

// TestInterpolatedTypes: "${env:…}" gives a number where a number goes and
// text where text goes, quoted or not.
func TestInterpolatedTypes(t *testing.T) {
	src := []byte(`version: 1
name: x
source:
  type: http
  base_url: http://x
  auth: {type: bearer, token: "${env:TOK}"}
  rate_limit: {per_second: "${env:RATE:-4}"}
entities:
  e:
    request: {path: /e}
    primary_key: id
    batch_size: ${env:BS:-50}
    fields: {id: id}
`)
	env := func(k string) (string, bool) { return "12345", k == "TOK" }
	plan, f := pipeline.Load("x.yaml", src, pipeline.Options{LookupEnv: env})
	if plan == nil {
		t.Fatal(f)
	}
	var got string
	config.WalkSecrets(plan.Source.Settings.(*httpsrc.SourceConfig).Auth, "/auth", func(p string, s config.Secret) {
		if p == "/auth/token" {
			got = s.Reveal()
		}
	})
	if got != "12345" {
		t.Errorf("token %q, want the text 12345", got)
	}
	if plan.Source.Settings.(*httpsrc.SourceConfig).RateLimit.PerSecond != 4 || plan.Entities[0].BatchSize != 50 {
		t.Errorf("rate %v batch %d", plan.Source.Settings.(*httpsrc.SourceConfig).RateLimit.PerSecond, plan.Entities[0].BatchSize)
	}
}

// TestSchemaKnowsTheRegistries: the schema's lists of validators and
// functions (for editors) are the ones built into the binary. The schema
// is generated from them (schema/internal/gen); this catches a stale
// embedded copy from the side of the package that reads it.
func TestSchemaKnowsTheRegistries(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(schema.JSON, &doc); err != nil {
		t.Fatal(err)
	}
	defs := doc["$defs"].(map[string]any)
	byName := defs["validator"].(map[string]any)["anyOf"].([]any)[0].(map[string]any)["enum"].([]any)
	var inSchema []string
	for _, v := range byName {
		inSchema = append(inSchema, v.(string))
	}
	if want := validate.Names(); !slices.Equal(inSchema, want) {
		t.Errorf("schema validators %v, registry %v: run go generate ./schema/", inSchema, want)
	}
	exprDoc := defs["field"].(map[string]any)["properties"].(map[string]any)["expr"].(map[string]any)["description"].(string)
	for _, fn := range exprfn.Names() {
		if !strings.Contains(exprDoc, fn) {
			t.Errorf("function %s is not listed in the schema's expr description", fn)
		}
	}
	types := defs["field"].(map[string]any)["properties"].(map[string]any)["type"].(map[string]any)["enum"].([]any)
	for _, tn := range value.Names() {
		if !slices.Contains(types, any(tn)) {
			t.Errorf("type %s missing from the schema", tn)
		}
	}
}

// TestReadmeExamples: every complete pipeline in the README and in docs/
// (a yaml block with version: 1) compiles without an error.
func TestReadmeExamples(t *testing.T) {
	files := []string{filepath.Join(root, "README.md")}
	filepath.WalkDir(filepath.Join(root, "docs"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".md") {
			files = append(files, p)
		}
		return nil
	})
	blocks := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, f)
		for i, part := range strings.Split(string(data), "```yaml\n")[1:] {
			block, _, _ := strings.Cut(part, "```")
			if !strings.Contains(block, "version: 1") {
				continue
			}
			blocks++
			name := fmt.Sprintf("%s, yaml block %d", filepath.ToSlash(rel), i+1)
			env := func(string) (string, bool) { return "", false }
			_, findings := pipeline.Load(name, []byte(block), pipeline.Options{LookupEnv: env,
				ReadFile: func(string) ([]byte, error) { return []byte("x"), nil }})
			if findings.HasErrors() {
				t.Errorf("%s does not compile:\n%s\n%s", name, findings.Errors().Error(), block)
			}
		}
	}
	if blocks < 5 {
		t.Fatalf("only %d complete pipelines found in README.md and docs/", blocks)
	}
}
