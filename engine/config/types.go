package config

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"
)

// StringList is a list of strings that may be written as one bare string.
type StringList []string

// UnmarshalYAML accepts "a" as well as [a, b].
func (l *StringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		if n.Tag == "!!null" {
			*l = nil
			return nil
		}
		*l = StringList{n.Value}
		return nil
	}
	var s []string
	if err := n.Decode(&s); err != nil {
		return err
	}
	*l = s
	return nil
}

// ParseDuration reads "500ms", "1m30s" or a whole number of seconds.
func ParseDuration(s string) (time.Duration, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("duration %q is negative", s)
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: want a number with a unit such as 500ms, 30s, 15m or 2h", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("duration %q is negative", s)
	}
	return d, nil
}

// UnmarshalYAML reads a duration.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseDuration(n.Value)
	if err != nil {
		return err
	}
	d.Duration, d.Set = v, true
	return nil
}

// Or returns the duration when set, else def.
func (d Duration) Or(def time.Duration) time.Duration {
	if d.Set {
		return d.Duration
	}
	return def
}

const redacted = "[redacted]"

// NewSecret wraps a value.
func NewSecret(v string) Secret { return Secret{value: v} }

// Reveal returns the secret value, for the code that sends it.
func (s Secret) Reveal() string { return s.value }

// IsSet reports whether the secret holds a non-empty value.
func (s Secret) IsSet() bool { return s.value != "" }

func (s Secret) String() string {
	if s.value == "" {
		return ""
	}
	return redacted
}

// GoString redacts under %#v too.
func (s Secret) GoString() string { return s.String() }

// MarshalJSON redacts.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(strconv.Quote(s.String())), nil }

// MarshalText redacts.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// MarshalYAML redacts.
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// UnmarshalYAML reads the value.
func (s *Secret) UnmarshalYAML(n *yaml.Node) error {
	s.value = n.Value
	return nil
}

// Entities keeps entities in the order the file declares them.
type Entities []*Entity

// UnmarshalYAML decodes a mapping of name → entity, in order.
func (es *Entities) UnmarshalYAML(n *yaml.Node) error {
	return decodeOrdered(n, func(name string, v *yaml.Node) error {
		e := &Entity{Name: name, Node: v}
		if err := v.Decode(e); err != nil {
			return err
		}
		*es = append(*es, e)
		return nil
	})
}

// Fields keeps fields in the order the file declares them.
type Fields []*Field

// UnmarshalYAML decodes a mapping of name → field; a bare string is a path.
func (fs *Fields) UnmarshalYAML(n *yaml.Node) error {
	return decodeOrdered(n, func(name string, v *yaml.Node) error {
		f := &Field{Name: name}
		switch v.Kind {
		case yaml.ScalarNode:
			if v.Tag != "!!null" {
				f.Path = v.Value
			}
		case yaml.SequenceNode: // [a, b]: shorthand for {path: [a, b]}
			var paths []string
			if err := v.Decode(&paths); err != nil {
				return err
			}
			if len(paths) > 0 {
				f.Path, f.Fallbacks = paths[0], paths[1:]
			}
		default:
			type plain Field // no UnmarshalYAML: no recursion
			node, fallbacks, err := splitPathList(v)
			if err != nil {
				return err
			}
			if err := node.Decode((*plain)(f)); err != nil {
				return err
			}
			f.Name, f.Fallbacks = name, fallbacks
			if d := Lookup(v, "default"); d != nil && d.Kind == yaml.ScalarNode {
				f.DefaultText = d.Value // 02134 stays 02134 for a text field
			}
		}
		*fs = append(*fs, f)
		return nil
	})
}

// splitPathList reads path: [a, b, …] (the first path that finds a
// non-null value wins): it returns the field's node with path: a, and the
// other paths.
func splitPathList(v *yaml.Node) (*yaml.Node, []string, error) {
	for i := 0; i+1 < len(v.Content); i += 2 {
		pn := v.Content[i+1]
		if v.Content[i].Value != "path" || pn.Kind != yaml.SequenceNode {
			continue
		}
		var paths []string
		if err := pn.Decode(&paths); err != nil {
			return nil, nil, err
		}
		first := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Line: pn.Line, Column: pn.Column}
		if len(paths) > 0 {
			first.Value = paths[0]
			paths = paths[1:]
		}
		cp := *v
		cp.Content = slices.Clone(v.Content)
		cp.Content[i+1] = first
		return &cp, paths, nil
	}
	return v, nil, nil
}

// Children keeps child tables in declaration order.
type Children []*Child

// UnmarshalYAML decodes a mapping of name → child.
func (cs *Children) UnmarshalYAML(n *yaml.Node) error {
	return decodeOrdered(n, func(name string, v *yaml.Node) error {
		c := &Child{Name: name}
		if err := v.Decode(c); err != nil {
			return err
		}
		*cs = append(*cs, c)
		return nil
	})
}

// UnmarshalYAML reads "email", {min_length: 3} or {regex: "…", message: "…"}.
func (v *Validator) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		v.Name = n.Value
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: a validator is a name or a mapping of one name to its argument", n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i].Value, n.Content[i+1]
		if k == "message" {
			v.Message = val.Value
			continue
		}
		v.Name = k
		var arg any
		if err := val.Decode(&arg); err != nil {
			return err
		}
		v.Arg = arg
	}
	return nil
}

func decodeOrdered(n *yaml.Node, each func(name string, v *yaml.Node) error) error {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: want a mapping", n.Line)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if err := each(n.Content[i].Value, n.Content[i+1]); err != nil {
			return err
		}
	}
	return nil
}
