package config

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/crmsync/crmsync/engine/diag"
	"go.yaml.in/yaml/v3"
)

// EnvPrefix is the prefix of a pipeline's override variables: the name
// upper-cased with every other character made an underscore, then "_".
func EnvPrefix(name string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(name) {
		if (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String() + "_"
}

// applyOverrides reads <PIPELINE>_<SETTING> variables. Settings of the
// source are written into the tree (so the schema checks them like any
// other value); per-entity settings go to Overrides, which win over the
// entity's own value when the plan is compiled.
func (d *Document) applyOverrides(lookup func(string) (string, bool)) {
	nameNode := Lookup(d.Root, "name")
	if nameNode == nil || nameNode.Kind != yaml.ScalarNode || nameNode.Value == "" {
		return
	}
	prefix := EnvPrefix(nameNode.Value)
	bad := func(v, val, want string) {
		d.findings = append(d.findings, diag.Finding{File: d.File, Line: nameNode.Line, Column: nameNode.Column,
			Severity: diag.Error, Code: "env-override",
			Message: fmt.Sprintf("environment variable %s=%q is invalid: %s", v, val, want)})
	}
	get := func(setting string) (string, string, bool) {
		v, ok := lookup(prefix + setting)
		return prefix + setting, strings.TrimSpace(v), ok && strings.TrimSpace(v) != ""
	}
	if name, v, ok := get("BATCH_SIZE"); ok {
		if n, err := strconv.Atoi(v); err != nil || n < 1 {
			bad(name, v, "want a whole number of at least 1")
		} else {
			d.Overrides.BatchSize = n
		}
	}
	if name, v, ok := get("MAX_RECORDS"); ok {
		if n, err := strconv.Atoi(v); err != nil || n < 0 {
			bad(name, v, "want a whole number, 0 for no limit")
		} else {
			d.Overrides.MaxRecords = &n
		}
	}
	if name, v, ok := get("STRICT_VALIDATION"); ok {
		if b, err := ParseBool(v); err != nil {
			bad(name, v, "want true or false")
		} else {
			d.Overrides.StrictValidation = &b
		}
	}
	if name, v, ok := get("RETRY_ATTEMPTS"); ok {
		if n, err := strconv.Atoi(v); err != nil || n < 1 {
			bad(name, v, "want a whole number of attempts, at least 1 (1 turns retries off)")
		} else {
			d.setSource([]string{"retry", "attempts"}, "!!int", strconv.Itoa(n), nameNode)
		}
	}
	if name, v, ok := get("TIMEOUT"); ok {
		if _, err := ParseDuration(v); err != nil {
			bad(name, v, "want seconds or a duration such as 30s or 5m")
		} else {
			d.setSource([]string{"timeout"}, "!!str", v, nameNode)
		}
	}
	if name, v, ok := get("RATE_LIMIT"); ok {
		if f, err := strconv.ParseFloat(v, 64); err != nil || f <= 0 {
			bad(name, v, "want requests per second, a number above 0")
		} else {
			d.setSource([]string{"rate_limit", "per_second"}, "!!float", v, nameNode)
			if rl := Lookup(Lookup(d.Root, "source"), "rate_limit"); rl != nil {
				removeKeys(rl, "requests", "per") // the variable replaces the file's rate however it is spelled
			}
		}
	}
}

// setSource writes value at source.<keys…>, creating mappings on the way.
// The new nodes point at the pipeline's name, where overrides are reported.
func (d *Document) setSource(keys []string, tag, value string, at *yaml.Node) {
	n := Lookup(d.Root, "source")
	if n == nil || n.Kind != yaml.MappingNode {
		return // the schema reports the missing source
	}
	for i, k := range keys {
		child := Lookup(n, k)
		last := i == len(keys)-1
		if child == nil || (!last && child.Kind != yaml.MappingNode) {
			kn := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k, Line: at.Line, Column: at.Column}
			child = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: at.Line, Column: at.Column}
			if i := indexOfKey(n, k); i >= 0 {
				n.Content[i+1] = child
			} else {
				n.Content = append(n.Content, kn, child)
			}
		}
		if last {
			child.Kind, child.Tag, child.Value, child.Style = yaml.ScalarNode, tag, value, 0
			child.Content = nil
			child.Line, child.Column = at.Line, at.Column
		}
		n = child
	}
}

// removeKeys drops keys from a mapping node.
func removeKeys(n *yaml.Node, keys ...string) {
	for _, k := range keys {
		if i := indexOfKey(n, k); i >= 0 {
			n.Content = append(n.Content[:i], n.Content[i+2:]...)
		}
	}
}

func indexOfKey(n *yaml.Node, key string) int {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return i
		}
	}
	return -1
}

// ParseBool reads true/false, yes/no, y/n, 1/0, on/off in any case.
func ParseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "y", "1", "on", "t":
		return true, nil
	case "false", "no", "n", "0", "off", "f":
		return false, nil
	}
	return false, fmt.Errorf("invalid boolean %q", s)
}
