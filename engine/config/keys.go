package config

import (
	"reflect"
	"strings"
)

// YAMLKeys lists the keys a settings struct decodes, in field order:
// its yaml tags, with inline structs flattened and "-" left out.
func YAMLKeys(v any) []string {
	return yamlKeys(reflect.TypeOf(v))
}

func yamlKeys(t reflect.Type) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		switch {
		case name == "-":
		case strings.Contains(opts, "inline"):
			out = append(out, yamlKeys(f.Type)...)
		case name != "":
			out = append(out, name)
		case f.IsExported():
			out = append(out, strings.ToLower(f.Name))
		}
	}
	return out
}
