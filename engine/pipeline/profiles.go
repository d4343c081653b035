package pipeline

import (
	"fmt"

	"github.com/crmsync/crmsync/engine/config"
	"github.com/crmsync/crmsync/engine/diag"
	"go.yaml.in/yaml/v3"
)

// Lint is Load for lint: without a chosen profile (o.Profile empty) it
// compiles the file as written and then once with each of its
// environments: profiles applied, so that a problem only a profile has
// (a literal token, a bad time zone under prod:) is found before that
// profile runs. A profile's findings that the file as written does not
// already have are added, their message naming the profile; they sit at
// the profile's own lines when the profile's settings are at fault. The
// plan is the file's as written, nil when any finding is an error.
func Lint(file string, data []byte, o Options) (*Plan, diag.List) {
	plan, all := Load(file, data, o)
	if o.Profile != "" {
		return plan, all
	}
	seen := map[string]bool{}
	key := func(f diag.Finding) string {
		return fmt.Sprintf("%d:%d:%s:%s", f.Line, f.Column, f.Code, f.Message)
	}
	for _, f := range all {
		seen[key(f)] = true
	}
	for _, name := range Profiles(data) {
		po := o
		po.Profile = name
		_, fs := Load(file, data, po)
		for _, f := range fs {
			if seen[key(f)] {
				continue
			}
			seen[key(f)] = true
			f.Message = fmt.Sprintf("environment %q: %s", name, f.Message)
			all = append(all, f)
		}
	}
	all = all.Sort()
	if all.HasErrors() {
		plan = nil
	}
	return plan, all
}

// Profiles lists the names under a file's environments:, in file order.
func Profiles(data []byte) []string {
	var n yaml.Node
	if yaml.Unmarshal(data, &n) != nil || len(n.Content) == 0 {
		return nil
	}
	envs := config.Lookup(n.Content[0], "environments")
	if envs == nil || envs.Kind != yaml.MappingNode {
		return nil
	}
	var out []string
	for i := 0; i+1 < len(envs.Content); i += 2 {
		if envs.Content[i+1].Kind == yaml.MappingNode {
			out = append(out, envs.Content[i].Value)
		}
	}
	return out
}
