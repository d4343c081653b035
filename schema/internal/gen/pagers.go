package gen

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/crmsync/crmsync/engine/config"
	"github.com/crmsync/crmsync/engine/source/httpsrc"
)

// paginateDefs writes paginate, whose style picks paginate_<style> (the
// shared keys and the style's own, from the structs the styles register)
// and paginate_any (every key, for a paginate without a style or with an
// unknown one). Nothing here names a style or a style's key.
func paginateDefs(defs *Obj) error {
	return variantDefs(defs, variants{
		def: "paginate", key: "style", keyDesc: "Pagination style.", what: "pagination style",
		desc:    "How to get the next page. style picks the method; each style reads its own settings.",
		anyDesc: "Pagination whose style is not set here, or unknown: every key of every style.",
		branch:  "Pagination style %s: %s",
		names:   httpsrc.PagerStyles(), config: httpsrc.PagerConfig,
		shared: reflect.TypeFor[httpsrc.Paginate](),
	})
}

// authDefs writes auth the same way: type picks auth_<type>, auth_any
// has every key.
func authDefs(defs *Obj) error {
	return variantDefs(defs, variants{
		def: "auth", key: "type", keyDesc: "Authentication scheme.", what: "auth type", required: true,
		desc:    "How HTTP requests authenticate. type picks the scheme; each scheme reads its own settings.",
		anyDesc: "Authentication whose type is unknown: every key of every type.",
		branch:  "Auth type %s: %s",
		names:   httpsrc.AuthTypes(), config: httpsrc.AuthConfig,
		shared: reflect.TypeFor[httpsrc.Auth](),
	})
}

// variants describes a mapping whose key (style, type) picks which other
// keys it takes: shared has the keys every variant reads, config gives a
// variant's description and the struct of its own keys.
type variants struct {
	def, key, keyDesc, what string
	desc, anyDesc, branch   string
	required                bool // the key must be set
	names                   []string
	config                  func(name string) (string, reflect.Type, bool)
	shared                  reflect.Type
}

// variantDefs writes <def>, narrowed by its key with if/then to
// <def>_<name> (the shared keys and the variant's own), and <def>_any
// (every key, for a mapping whose key is not set or unknown).
func variantDefs(defs *Obj, v variants) error {
	shared, err := structProps(v.def, v.shared)
	if err != nil {
		return err
	}
	all := props(kw(v.key, S(v.keyDesc, enum(v.names))))
	for _, k := range shared.Keys() {
		if k != v.key {
			all.Set(k, shared.Get(k))
		}
	}
	var branches []any
	for _, n := range v.names {
		desc, t, _ := v.config(n)
		own, err := structProps(v.what+" "+n, t)
		if err != nil {
			return err
		}
		keys := props(kw(v.key, D(v.keyDesc, kw("const", n))))
		for _, k := range shared.Keys() {
			if k != v.key {
				keys.Set(k, shared.Get(k))
			}
		}
		for _, k := range own.Keys() {
			if keys.Get(k) != nil {
				return fmt.Errorf("%s %s: key %q is one of the shared keys", v.what, n, k)
			}
			keys.Set(k, own.Get(k))
			if all.Get(k) == nil {
				all.Set(k, own.Get(k))
			}
		}
		defs.Set(v.def+"_"+n, O(fmt.Sprintf(v.branch, n, desc), keys))
		branches = append(branches, obj(
			kw("if", obj(kw("properties", obj(kw(v.key, obj(kw("const", n))))), kw("required", []string{v.key}))),
			kw("then", obj(ref(v.def+"_"+n)))))
	}
	defs.Set(v.def+"_any", O(v.anyDesc, all))
	branches = append(branches, obj(
		kw("if", obj(kw("properties", obj(kw(v.key, obj(enum(v.names))))), kw("required", []string{v.key}))),
		kw("else", obj(ref(v.def+"_any")))))
	d := typed("object", v.desc,
		kw("properties", props(kw(v.key, S(v.keyDesc, enum(v.names))))),
		kw("allOf", branches))
	if v.required {
		d.Set("required", []string{v.key})
	}
	defs.Set(v.def, d)
	return nil
}

var (
	durationType   = reflect.TypeFor[config.Duration]()
	stringListType = reflect.TypeFor[config.StringList]()
	secretType     = reflect.TypeFor[config.Secret]()
)

// structProps describes a settings struct from its tags: yaml (the key),
// desc (required), and minimum, maximum and enum (comma-separated).
func structProps(what string, t reflect.Type) (*Obj, error) {
	out := props()
	for i := range t.NumField() {
		f := t.Field(i)
		key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if key == "-" || key == "" {
			continue
		}
		desc := f.Tag.Get("desc")
		if desc == "" {
			return nil, fmt.Errorf("%s: key %q has no desc tag", what, key)
		}
		var kws []kv
		for _, c := range []string{"minimum", "maximum"} {
			if v := f.Tag.Get(c); v != "" {
				n, err := strconv.Atoi(v)
				if err != nil {
					return nil, fmt.Errorf("%s: key %q: %s tag %q is not a number", what, key, c, v)
				}
				kws = append(kws, kw(c, n))
			}
		}
		if v := f.Tag.Get("enum"); v != "" {
			kws = append(kws, enum(strings.Split(v, ",")))
		}
		ft := f.Type
		if ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		switch {
		case ft == durationType:
			out.Set(key, dur(desc))
		case ft == stringListType:
			out.Set(key, strlist(desc))
		case ft == secretType:
			out.Set(key, secret(desc))
		case ft.Kind() == reflect.Map && ft.Key().Kind() == reflect.String && ft.Elem() == secretType:
			out.Set(key, secretmap(desc))
		case ft.Kind() == reflect.Map && ft.Key().Kind() == reflect.String && ft.Elem().Kind() == reflect.String:
			out.Set(key, strmap(desc))
		case ft.Kind() == reflect.String:
			out.Set(key, S(desc, kws...))
		case ft.Kind() == reflect.Int || ft.Kind() == reflect.Int64:
			out.Set(key, I(desc, kws...))
		case ft.Kind() == reflect.Bool:
			out.Set(key, B(desc))
		case ft.Kind() == reflect.Float64:
			out.Set(key, N(desc, kws...))
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.String:
			out.Set(key, strarray(desc))
		default:
			return nil, fmt.Errorf("%s: key %q: no schema for Go type %s", what, key, f.Type)
		}
	}
	return out, nil
}
