package config

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/crmsync/crmsync/engine/diag"
	"go.yaml.in/yaml/v3"
)

// checkDuplicates reports keys given twice in one mapping: YAML parsers
// disagree on which wins, so the file must say it once.
func (d *Document) checkDuplicates(n *yaml.Node, path string) {
	switch n.Kind {
	case yaml.MappingNode:
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if first, ok := seen[k.Value]; ok {
				d.findings = append(d.findings, diag.Finding{File: d.File, Line: k.Line, Column: k.Column,
					Severity: diag.Error, Code: "duplicate-key",
					Message: fmt.Sprintf("%s %q is defined twice (first at line %d)", describeKey(path), k.Value, first)})
			} else {
				seen[k.Value] = k.Line
			}
			d.checkDuplicates(n.Content[i+1], path+"/"+escape(k.Value))
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			d.checkDuplicates(c, path+"/"+strconv.Itoa(i))
		}
	}
}

func describeKey(parent string) string {
	switch {
	case parent == "/entities":
		return "entity"
	case strings.HasSuffix(parent, "/fields"):
		return "field"
	case strings.HasSuffix(parent, "/children"):
		return "child table"
	case parent == "/environments":
		return "environment"
	}
	return "key"
}

// resolveAliases replaces alias nodes by copies of what they point at, so
// that positions and merges work on plain trees.
func resolveAliases(n *yaml.Node) {
	for i, c := range n.Content {
		if c.Kind == yaml.AliasNode && c.Alias != nil {
			cp := *c.Alias
			n.Content[i] = &cp
			c = &cp
		}
		resolveAliases(c)
	}
	// Merge keys (<<: *base) become ordinary keys, explicit keys winning.
	if n.Kind == yaml.MappingNode {
		var out []*yaml.Node
		var merged []*yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Tag == "!!merge" || (n.Content[i].Value == "<<" && n.Content[i].Style == 0) {
				src := n.Content[i+1]
				if src.Kind == yaml.MappingNode {
					merged = append(merged, src.Content...)
				}
				continue
			}
			out = append(out, n.Content[i], n.Content[i+1])
		}
		if merged != nil {
			have := map[string]bool{}
			for i := 0; i < len(out); i += 2 {
				have[out[i].Value] = true
			}
			for i := 0; i+1 < len(merged); i += 2 {
				if !have[merged[i].Value] {
					out = append(out, merged[i], merged[i+1])
					have[merged[i].Value] = true
				}
			}
			n.Content = out
		}
	}
}

// Lookup returns the child of a mapping node by key.
func Lookup(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// applyProfile merges environments.<profile> over the document.
func (d *Document) applyProfile(profile string) {
	if profile == "" {
		return
	}
	envs := Lookup(d.Root, "environments")
	prof := Lookup(envs, profile)
	if prof == nil {
		var names []string
		if envs != nil && envs.Kind == yaml.MappingNode {
			for i := 0; i < len(envs.Content); i += 2 {
				names = append(names, envs.Content[i].Value)
			}
		}
		at := d.Root
		if envs != nil {
			at = envs
		}
		msg := fmt.Sprintf("environment profile %q is not defined", profile)
		if len(names) > 0 {
			msg += "; defined: " + strings.Join(names, ", ")
		} else {
			msg += "; the file has no environments: section"
		}
		d.findings = append(d.findings, diag.Finding{File: d.File, Line: at.Line, Column: at.Column,
			Severity: diag.Error, Code: "unknown-profile", Message: msg})
		return
	}
	if prof.Kind == yaml.MappingNode {
		mergeInto(d.Root, prof)
	}
}

// mergeInto overlays src onto dst: mappings merge key by key, anything
// else replaces. The overlay's nodes keep their own positions.
func mergeInto(dst, src *yaml.Node) {
	for i := 0; i+1 < len(src.Content); i += 2 {
		k, v := src.Content[i], src.Content[i+1]
		found := false
		for j := 0; j+1 < len(dst.Content); j += 2 {
			if dst.Content[j].Value == k.Value {
				found = true
				if v.Kind == yaml.MappingNode && dst.Content[j+1].Kind == yaml.MappingNode {
					mergeInto(dst.Content[j+1], v)
				} else {
					dst.Content[j+1] = v
				}
				break
			}
		}
		if !found {
			dst.Content = append(dst.Content, k, v)
		}
	}
}
