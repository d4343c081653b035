package pipeline

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/crmsync/crmsync/engine/config"
	"github.com/crmsync/crmsync/engine/diag"
	"github.com/crmsync/crmsync/engine/validate"
	"github.com/crmsync/crmsync/schema"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"go.yaml.in/yaml/v3"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// checkSchema validates the document against the embedded JSON Schema and
// turns every failure into a finding at the offending node. It returns
// the JSON pointers that had errors, so compile can skip what is broken.
func checkSchema(d *config.Document) (bad []string) {
	sch, err := schema.Compiled()
	if err != nil {
		d.Addf("", diag.Error, "internal", "%v", err)
		return []string{""}
	}
	err = sch.Validate(d.Value())
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return nil
	}
	all := leaves(ve)
	misspelt := map[string]bool{} // "path\x00key" of required keys written with a typo
	for _, leaf := range all {
		if k, ok := leaf.ErrorKind.(*kind.AdditionalProperties); ok {
			allowed := allowedKeys(leaf.SchemaURL)
			for _, p := range k.Properties {
				if s := diag.Suggest(p, allowed); s != "" {
					misspelt[pointer(leaf.InstanceLocation)+"\x00"+s] = true
				}
			}
		}
	}
	for _, leaf := range all {
		path := pointer(leaf.InstanceLocation)
		if k, ok := leaf.ErrorKind.(*kind.Type); ok && d.Interpolated[path] && fitsType(d.Node(path), k.Want) {
			continue // an interpolated value whose text is what the setting wants
		}
		if k, ok := leaf.ErrorKind.(*kind.Required); ok {
			var rest []string
			for _, m := range k.Missing {
				if !misspelt[path+"\x00"+m] {
					rest = append(rest, m)
				}
			}
			if len(rest) == 0 {
				bad = append(bad, path)
				continue
			}
			leaf.ErrorKind = &kind.Required{Missing: rest}
		}
		reportSchemaError(d, leaf, path)
		// An unknown key or validator name leaves the rest sound enough
		// to compile (compile reports the same validator again, and the
		// duplicate is dropped); anything else stops what it is in.
		if !nonBlocking(d, leaf, path) {
			bad = append(bad, path)
		}
	}
	return bad
}

// leaves flattens the error tree to the errors that say something
// concrete. A failed duration anyOf is one leaf: its branches would only
// repeat it three ways.
func leaves(e *jsonschema.ValidationError) []*jsonschema.ValidationError {
	if _, ok := e.ErrorKind.(*kind.AnyOf); ok && strings.HasSuffix(e.SchemaURL, "/$defs/duration") {
		return []*jsonschema.ValidationError{e}
	}
	if _, ok := e.ErrorKind.(*kind.AnyOf); ok && strings.HasSuffix(e.SchemaURL, "/$defs/validator") {
		return validatorLeaves(e)
	}
	if _, ok := e.ErrorKind.(*kind.PropertyNames); ok || len(e.Causes) == 0 {
		return []*jsonschema.ValidationError{e}
	}
	var out []*jsonschema.ValidationError
	for _, c := range e.Causes {
		out = append(out, leaves(c)...)
	}
	return out
}

// validatorLeaves: a validator is a name or a mapping (two anyOf
// branches). Only the branch of the form written says something; when the
// value is neither form, one type error names both.
func validatorLeaves(e *jsonschema.ValidationError) []*jsonschema.ValidationError {
	var out []*jsonschema.ValidationError
	wrong := &kind.Type{}
	for _, c := range e.Causes {
		if t, ok := c.ErrorKind.(*kind.Type); ok {
			wrong.Got = t.Got
			wrong.Want = append(wrong.Want, t.Want...)
			continue
		}
		out = append(out, leaves(c)...)
	}
	if len(out) == 0 {
		leaf := *e
		leaf.ErrorKind, leaf.Causes = wrong, nil
		out = append(out, &leaf)
	}
	return out
}

// kindDef matches the schema location of a source type's own keys,
// $defs/source_<type> or $defs/entity_<type>.
var kindDef = regexp.MustCompile(`/\$defs/(source|entity)_([a-z0-9_]+)(/additionalProperties)?$`)

// otherKindKey reports whether key, unknown where it is, is a key of
// another source type, and names the type in force.
func otherKindKey(schemaURL, key string) (typ string, ok bool) {
	m := kindDef.FindStringSubmatch(schemaURL)
	if m == nil || m[2] == "any" {
		return "", false
	}
	union := "#/$defs/entity"
	if m[1] == "source" {
		union = "#/$defs/source_any"
	}
	return m[2], slices.Contains(allowedKeys(union), key)
}

// variantDef matches the schema location of the keys of a pagination
// style (paginate_<style>) or of an auth type (auth_<type>).
var variantDef = regexp.MustCompile(`/\$defs/(paginate|auth)_([a-z0-9_]+)(/additionalProperties)?$`)

// otherVariantKey reports whether key, unknown where it is, is a key of
// another pagination style or auth type, and names the mapping (paginate
// or auth) and the variant in force.
func otherVariantKey(schemaURL, key string) (def, variant string, ok bool) {
	m := variantDef.FindStringSubmatch(schemaURL)
	if m == nil || m[2] == "any" {
		return "", "", false
	}
	return m[1], m[2], slices.Contains(allowedKeys("#/$defs/"+m[1]+"_any"), key)
}

func pointer(loc []string) string {
	var b strings.Builder
	for _, t := range loc {
		b.WriteByte('/')
		b.WriteString(config.Escape(t))
	}
	return b.String()
}

func reportSchemaError(d *config.Document, e *jsonschema.ValidationError, path string) {
	what := describe(path)
	switch k := e.ErrorKind.(type) {
	case *kind.AdditionalProperties:
		allowed := allowedKeys(e.SchemaURL)
		for _, p := range k.Properties {
			if def, v, ok := otherVariantKey(e.SchemaURL, p); ok {
				if def == "auth" {
					d.AddKeyf(path+"/"+config.Escape(p), diag.Error, "wrong-auth-setting", "setting %q of %s does not belong to auth type %s", p, what, v)
				} else {
					d.AddKeyf(path+"/"+config.Escape(p), diag.Error, "wrong-style-setting", "setting %q of %s does not belong to pagination style %s", p, what, v)
				}
				continue
			}
			if typ, ok := otherKindKey(e.SchemaURL, p); ok {
				msg := fmt.Sprintf("setting %q of %s does not belong to a source of type %s", p, what, typ)
				if what == "source" {
					msg = fmt.Sprintf("setting %q does not belong to a source of type %s", p, typ)
				}
				d.AddKeyf(path+"/"+config.Escape(p), diag.Error, "wrong-source-setting", "%s", msg)
				continue
			}
			msg := fmt.Sprintf("unknown key %q in %s", p, what)
			if s := diag.Suggest(p, allowed); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			d.AddKeyf(path+"/"+config.Escape(p), diag.Error, "unknown-key", "%s", msg)
		}
	case *kind.FalseSchema:
		loc := e.InstanceLocation
		key := loc[len(loc)-1]
		d.AddKeyf(path, diag.Error, "wrong-source-setting", "setting %q does not belong to a source of type %s", key, sourceType(d))
	case *kind.Required:
		for _, m := range k.Missing {
			d.AddKeyf(path, diag.Error, "missing-required", "%s is missing the required setting %q", what, m)
		}
	case *kind.Type:
		d.Addf(path, diag.Error, "wrong-type", "%s must be %s, not %s", what, joinOr(k.Want), article(k.Got))
	case *kind.Enum:
		if m := validatorPath.FindStringSubmatch(path); m != nil {
			got := fmt.Sprint(k.Got)
			msg := fmt.Sprintf("field %q: unknown validator %q", m[1], got)
			if sug := diag.Suggest(got, validate.Names()); sug != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", sug)
			}
			d.Addf(path, diag.Error, "unknown-validator", "%s", msg)
			return
		}
		var want []string
		for _, w := range k.Want {
			want = append(want, fmt.Sprint(w))
		}
		got := fmt.Sprint(k.Got)
		msg := fmt.Sprintf("%s: %q is not allowed", what, got)
		if s := diag.Suggest(got, want); s != "" {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
		msg += " (one of: " + strings.Join(want, ", ") + ")"
		d.Addf(path, diag.Error, "invalid-value", "%s", msg)
	case *kind.Const:
		d.Addf(path, diag.Error, "invalid-value", "%s must be %v, not %v", what, k.Want, k.Got)
	case *kind.AnyOf:
		d.Addf(path, diag.Error, "bad-duration", "%s: invalid duration %v: write a number with a unit (500ms, 30s, 15m, 2h) or a whole number of seconds", what, valueAt(d, path))
	case *kind.Pattern:
		d.Addf(path, diag.Error, "invalid-value", "%s: %q %s", what, k.Got, patternHint(k.Want))
	case *kind.PropertyNames:
		// jsonschema v6 reports a propertyNames failure with an instance
		// location it has since overwritten; find the key ourselves.
		p := findNameKey(d, d.Root, "", k.Property)
		item := strings.TrimSuffix(p, "/"+config.Escape(k.Property))
		if m := validatorPath.FindStringSubmatch(item); m != nil {
			msg := fmt.Sprintf("field %q: unknown validator %q", m[1], k.Property)
			if sug := diag.Suggest(k.Property, validate.Names()); sug != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", sug)
			}
			// At the chain link, where compile reports it too: one finding.
			d.Addf(item, diag.Error, "unknown-validator", "%s", msg)
			return
		}
		if p != "" {
			path, what = p, describe(strings.TrimSuffix(p, "/"+config.Escape(k.Property)))
		}
		d.AddKeyf(path, diag.Error, "invalid-name",
			"%s: name %q must start with a letter or _ and hold only letters, digits and _ (it becomes a column or table name)", what, k.Property)
	case *kind.MinProperties:
		d.Addf(path, diag.Error, "missing-required", "%s is empty: it needs at least one entry", what)
	case *kind.MaxProperties:
		d.Addf(path, diag.Error, "wrong-type", "%s: a validator is one name mapped to its argument, plus an optional message", what)
	case *kind.Minimum, *kind.Maximum, *kind.ExclusiveMinimum, *kind.ExclusiveMaximum, *kind.MinLength, *kind.MaxLength:
		d.Addf(path, diag.Error, "invalid-value", "%s: %s", what, e.ErrorKind.LocalizedString(printer))
	default:
		d.Addf(path, diag.Error, "schema", "%s: %s", what, e.ErrorKind.LocalizedString(printer))
	}
}

func valueAt(d *config.Document, path string) string {
	v := d.Value()
	for _, t := range strings.Split(strings.TrimPrefix(path, "/"), "/") {
		if t == "" {
			continue
		}
		m, ok := v.(map[string]any)
		if !ok {
			return "value"
		}
		v = m[strings.NewReplacer("~1", "/", "~0", "~").Replace(t)]
	}
	return fmt.Sprintf("%q", fmt.Sprint(v))
}

func sourceType(d *config.Document) string {
	if t := config.Lookup(config.Lookup(d.Root, "source"), "type"); t != nil {
		return t.Value
	}
	return "(unset)"
}

func patternHint(p string) string {
	switch p {
	case "^[a-z][a-z0-9_]*$":
		return "must start with a lower-case letter and hold only lower-case letters, digits and _"
	case "^[A-Za-z_][A-Za-z0-9_]*$":
		return "must start with a letter or _ and hold only letters, digits and _"
	case "^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$":
		return "must be owner/name"
	}
	return "does not match " + p
}

func article(t string) string {
	switch t {
	case "object":
		return "a mapping"
	case "array":
		return "a list"
	case "null":
		return "empty"
	case "integer":
		return "an integer"
	}
	return "a " + t
}

func joinOr(want []string) string {
	var ws []string
	for _, w := range want {
		ws = append(ws, article(w))
	}
	sort.Strings(ws)
	return strings.Join(ws, " or ")
}

// describe names the thing at a JSON pointer in words a user knows.
func describe(path string) string {
	t := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if path == "" {
		return "the pipeline"
	}
	n := len(t)
	switch {
	case t[0] == "entities" && n == 1:
		return "entities"
	case t[0] == "entities" && n == 2:
		return fmt.Sprintf("entity %q", t[1])
	case t[0] == "entities" && n >= 4 && t[2] == "fields":
		s := fmt.Sprintf("field %q of entity %q", t[3], t[1])
		if n > 4 {
			s = strings.Join(t[4:], ".") + " of " + s
		}
		return s
	case t[0] == "entities" && n == 4 && t[2] == "children":
		return fmt.Sprintf("child %q of entity %q", t[3], t[1])
	case t[0] == "entities" && n >= 4 && t[2] == "children":
		return fmt.Sprintf("%s of child %q of entity %q", strings.Join(t[4:], "."), t[3], t[1])
	case t[0] == "entities":
		return fmt.Sprintf("%s of entity %q", strings.Join(t[2:], "."), t[1])
	case t[0] == "environments" && n >= 2:
		if n == 2 {
			return fmt.Sprintf("environment %q", t[1])
		}
		return fmt.Sprintf("%s of environment %q", strings.Join(t[2:], "."), t[1])
	}
	return strings.Join(t, ".")
}

// allowedKeys reads the property names the schema location allows, for
// did-you-mean hints. The location is that of additionalProperties.
func allowedKeys(schemaURL string) []string {
	_, frag, _ := strings.Cut(schemaURL, "#")
	frag = strings.TrimSuffix(frag, "/additionalProperties")
	v := schema.Doc()
	for _, t := range strings.Split(strings.TrimPrefix(frag, "/"), "/") {
		if t == "" {
			continue
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[t]
	}
	m, _ := v.(map[string]any)
	props, _ := m["properties"].(map[string]any)
	var out []string
	for k := range props {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// validatorPath matches a link of a validator chain: …/fields/<f>/validate/<n>.
var validatorPath = regexp.MustCompile(`/fields/([^/]+)/validate/\d+$`)

var printer = message.NewPrinter(language.English)

// findNameKey finds a key named name in a mapping of names (entities,
// fields, children, environments) and returns its JSON pointer.
func findNameKey(d *config.Document, n *yaml.Node, path, name string) string {
	switch n.Kind {
	case yaml.MappingNode:
		last := path[strings.LastIndexByte(path, '/')+1:]
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := path + "/" + config.Escape(n.Content[i].Value)
			if n.Content[i].Value == name && (last == "entities" || last == "fields" || last == "children" || last == "environments" || validatorPath.MatchString(path)) {
				return p
			}
			if found := findNameKey(d, n.Content[i+1], p, name); found != "" {
				return found
			}
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			if found := findNameKey(d, c, fmt.Sprintf("%s/%d", path, i), name); found != "" {
				return found
			}
		}
	}
	return ""
}

// nonBlocking: errors that leave the entity sound enough to compile.
func nonBlocking(d *config.Document, e *jsonschema.ValidationError, path string) bool {
	switch k := e.ErrorKind.(type) {
	case *kind.AdditionalProperties:
		return true
	case *kind.Enum:
		return validatorPath.MatchString(path)
	case *kind.PropertyNames:
		p := findNameKey(d, d.Root, "", k.Property)
		return validatorPath.MatchString(strings.TrimSuffix(p, "/"+config.Escape(k.Property)))
	}
	return false
}

// fitsType reports whether a scalar's text reads as one of the wanted
// JSON types.
func fitsType(n *yaml.Node, want []string) bool {
	if n == nil || n.Kind != yaml.ScalarNode {
		return false
	}
	for _, w := range want {
		switch w {
		case "string":
			return true
		case "integer":
			if _, err := strconv.ParseInt(n.Value, 10, 64); err == nil {
				return true
			}
		case "number":
			if _, err := strconv.ParseFloat(n.Value, 64); err == nil {
				return true
			}
		case "boolean":
			if _, err := config.ParseBool(n.Value); err == nil {
				return true
			}
		}
	}
	return false
}
