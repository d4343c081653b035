package pipelines_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/crmsync/crmsync/engine/config"
	"github.com/crmsync/crmsync/engine/pipeline"
	"github.com/crmsync/crmsync/engine/source/httpsrc"
)

// TestShippedRateLimitsAreOverridable: every rate budget of a shipped
// pipeline can be changed from the environment, and the header comment
// names the variable. The source's rate_limit by <PIPELINE>_RATE_LIMIT (the
// generic override); an entity's own rate_limit only by reading
// ${env:…} in the file, so a hard-coded one fails here.
func TestShippedRateLimitsAreOverridable(t *testing.T) {
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no shipped pipelines: %v", err)
	}
	envRef := regexp.MustCompile(`\$\{env:([A-Za-z0-9_]+)`)
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var doc yaml.Node
			if err := yaml.Unmarshal(data, &doc); err != nil || len(doc.Content) == 0 {
				t.Fatalf("parsing: %v", err)
			}
			root := doc.Content[0]
			name := config.Lookup(root, "name").Value
			header := headerComment(string(data))
			want := map[string]string{} // variable → the value set below
			sourceLimit := config.Lookup(config.Lookup(root, "source"), "rate_limit") != nil
			if sourceLimit {
				v := config.EnvPrefix(name) + "RATE_LIMIT"
				want[v] = "123"
			}
			entityVars := map[string]string{} // entity → its rate variable
			found := strings.Count(string(data), "rate_limit:")
			seen := 0
			if sourceLimit {
				seen++
			}
			if ents := config.Lookup(root, "entities"); ents != nil {
				for i := 0; i+1 < len(ents.Content); i += 2 {
					rl := config.Lookup(ents.Content[i+1], "rate_limit")
					if rl == nil {
						continue
					}
					seen++
					ent := ents.Content[i].Value
					raw := ""
					for _, k := range []string{"per_second", "requests"} {
						if n := config.Lookup(rl, k); n != nil {
							raw = n.Value
						}
					}
					m := envRef.FindStringSubmatch(raw)
					if m == nil {
						t.Errorf("line %d: entity %s's rate_limit %q is hard-coded; read it from ${env:<NAME>:-default}", rl.Line, ent, raw)
						continue
					}
					entityVars[ent] = m[1]
					want[m[1]] = "77"
				}
			}
			if seen != found {
				t.Fatalf("%d rate_limit settings in the file, %d of them at source or entity level; this test does not check the others", found, seen)
			}
			for v := range want {
				if !strings.Contains(header, v) {
					t.Errorf("the header comment does not name %s, which sets a rate limit", v)
				}
			}
			plan, findings := pipeline.LoadFile(file, pipeline.Options{LookupEnv: func(k string) (string, bool) {
				v, ok := want[k]
				return v, ok
			}})
			if plan == nil {
				t.Fatalf("loading: %v", findings)
			}
			if sourceLimit {
				if rl := plan.Source.Settings.(*httpsrc.SourceConfig).RateLimit; rl == nil || rl.PerSecond != 123 {
					t.Errorf("%sRATE_LIMIT=123 gives the source rate_limit %+v", config.EnvPrefix(name), rl)
				}
			}
			for _, e := range plan.Entities {
				v, ok := entityVars[e.Name]
				if !ok {
					continue
				}
				if rl := e.Config.Settings.(*httpsrc.EntityConfig).RateLimit; rl == nil || rl.PerSecond != 77 {
					t.Errorf("%s=77 gives entity %s the rate_limit %+v", v, e.Name, rl)
				}
			}
		})
	}
}

// headerComment is the comment lines at the top of a pipeline file.
func headerComment(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			break
		}
		b.WriteString(l + "\n")
	}
	return b.String()
}
