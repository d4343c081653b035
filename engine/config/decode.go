package config

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// Value converts the document to plain JSON values (maps, slices,
// strings, json.Number, bools, nil) for the schema check.
func (d *Document) Value() any { return toValue(d.Root) }

func toValue(n *yaml.Node) any {
	switch n.Kind {
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			if _, dup := m[n.Content[i].Value]; dup {
				continue
			}
			m[n.Content[i].Value] = toValue(n.Content[i+1])
		}
		return m
	case yaml.SequenceNode:
		s := make([]any, len(n.Content))
		for i, c := range n.Content {
			s[i] = toValue(c)
		}
		return s
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return nil
		case "!!bool":
			var b bool
			if err := n.Decode(&b); err == nil {
				return b
			}
		case "!!int":
			var i int64
			if err := n.Decode(&i); err == nil {
				return json.Number(strconv.FormatInt(i, 10))
			}
		case "!!float":
			var f float64
			if err := n.Decode(&f); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
				return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
			}
		}
		return n.Value
	}
	return nil
}

// Decode fills a Pipeline's skeleton from the document. It assumes the
// schema check passed; a decode error here is reported as a position-less
// error. The kind's own settings are decoded by DecodeSettings.
func (d *Document) Decode() (*Pipeline, error) {
	var p Pipeline
	if err := d.Root.Decode(&p); err != nil {
		// yaml.v3 fills what it can; the caller decides whether the
		// schema findings already cover the error.
		return &p, fmt.Errorf("decoding %s: %w", d.File, err)
	}
	for _, e := range p.Entities {
		if e.Incremental != nil && e.Incremental.Field == "" {
			e.Incremental = nil
		}
	}
	return &p, nil
}
