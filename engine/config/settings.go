package config

import (
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// DecodeSettings decodes the kind's own settings of the source and of
// every entity into new values of the given struct types (the source
// kind's registered types), and adds every Secret in them to d.Secrets.
// Like Decode it fills what it can: the first error is returned for the
// caller to weigh against the schema findings.
func (d *Document) DecodeSettings(p *Pipeline, src, ent reflect.Type) error {
	var first error
	decode := func(n *yaml.Node, t reflect.Type, path string) any {
		v := reflect.New(t)
		if n != nil {
			if err := n.Decode(v.Interface()); err != nil && first == nil {
				first = err
			}
		}
		WalkSecrets(v.Interface(), path, func(_ string, s Secret) {
			if s.IsSet() {
				d.Secrets = append(d.Secrets, s.Reveal())
			}
		})
		return v.Interface()
	}
	p.Source.Settings = decode(p.Source.Node, src, "/source")
	for _, e := range p.Entities {
		e.Settings = decode(e.Node, ent, "/entities/"+escape(e.Name))
	}
	return first
}

var secretType = reflect.TypeFor[Secret]()

// Variants is a settings type whose mapping decodes into one of several
// types, picked by a key in it (http auth's type). A key below it is a
// secret when it is one in any of them: over-redacting never leaks.
type Variants interface {
	SettingsVariants() []reflect.Type
}

// Decoded is a settings value holding what its mapping decoded into
// (the Variants value of its type), for WalkSecrets.
type Decoded interface {
	SettingsValues() []any
}

var variantsType = reflect.TypeFor[Variants]()

// SecretAt reports whether the keys below a settings struct of type t
// lead to a Secret: a Secret field, or a value of a map of them.
func SecretAt(t reflect.Type, keys []string) bool {
	for i, k := range keys {
		for t != nil && t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t == nil {
			return false
		}
		if reflect.PointerTo(t).Implements(variantsType) {
			for _, v := range reflect.New(t).Interface().(Variants).SettingsVariants() {
				if SecretAt(v, keys[i:]) {
					return true
				}
			}
		}
		switch t.Kind() {
		case reflect.Struct:
			f, ok := fieldByKey(t, k)
			if !ok {
				return false
			}
			t = f
		case reflect.Map:
			t = t.Elem()
		case reflect.Slice:
			t = t.Elem()
		default:
			return false
		}
	}
	return t == secretType
}

// fieldByKey finds the type of the field a yaml key decodes into,
// through inline structs.
func fieldByKey(t reflect.Type, key string) (reflect.Type, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		switch {
		case name == "-":
		case strings.Contains(opts, "inline"):
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				if found, ok := fieldByKey(ft, key); ok {
					return found, true
				}
			}
		case name == key, name == "" && f.IsExported() && strings.ToLower(f.Name) == key:
			return f.Type, true
		}
	}
	return nil, false
}

// WalkSecrets calls fn with the JSON pointer (below path) and value of
// every Secret in a settings value: fields, map values, list items.
func WalkSecrets(v any, path string, fn func(path string, s Secret)) {
	walkSecrets(reflect.ValueOf(v), path, fn)
}

func walkSecrets(v reflect.Value, path string, fn func(string, Secret)) {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	if v.Type() == secretType {
		fn(path, v.Interface().(Secret))
		return
	}
	if v.CanAddr() {
		if dv, ok := v.Addr().Interface().(Decoded); ok {
			for _, x := range dv.SettingsValues() {
				walkSecrets(reflect.ValueOf(x), path, fn)
			}
		}
	}
	switch v.Kind() {
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			switch {
			case name == "-":
			case strings.Contains(opts, "inline"):
				walkSecrets(v.Field(i), path, fn)
			default:
				if name == "" {
					name = strings.ToLower(f.Name)
				}
				walkSecrets(v.Field(i), path+"/"+escape(name), fn)
			}
		}
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return
		}
		for _, k := range v.MapKeys() {
			walkSecrets(v.MapIndex(k), path+"/"+escape(k.String()), fn)
		}
	case reflect.Slice:
		for i := range v.Len() {
			walkSecrets(v.Index(i), path+"/"+strconv.Itoa(i), fn)
		}
	}
}
