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
	styles := httpsrc.PagerStyles()
	shared, err := structProps("paginate", reflect.TypeFor[httpsrc.Paginate]())
	if err != nil {
		return err
	}
	all := props(kw("style", S("Pagination style.", enum(styles))))
	for _, k := range shared.Keys() {
		if k != "style" {
			all.Set(k, shared.Get(k))
		}
	}
	var branches []any
	for _, st := range styles {
		desc, t, _ := httpsrc.PagerConfig(st)
		own, err := structProps("paginate style "+st, t)
		if err != nil {
			return err
		}
		keys := props(kw("style", D("Pagination style.", kw("const", st))))
		for _, k := range shared.Keys() {
			if k != "style" {
				keys.Set(k, shared.Get(k))
			}
		}
		for _, k := range own.Keys() {
			if keys.Get(k) != nil {
				return fmt.Errorf("pagination style %s: key %q is one of the shared keys", st, k)
			}
			keys.Set(k, own.Get(k))
			if all.Get(k) == nil {
				all.Set(k, own.Get(k))
			}
		}
		defs.Set("paginate_"+st, O(fmt.Sprintf("Pagination style %s: %s", st, desc), keys))
		branches = append(branches, obj(
			kw("if", obj(kw("properties", obj(kw("style", obj(kw("const", st))))), kw("required", []string{"style"}))),
			kw("then", obj(ref("paginate_"+st)))))
	}
	defs.Set("paginate_any", O("Pagination whose style is not set here, or unknown: every key of every style.", all))
	branches = append(branches, obj(
		kw("if", obj(kw("properties", obj(kw("style", obj(enum(styles))))), kw("required", []string{"style"}))),
		kw("else", obj(ref("paginate_any")))))
	defs.Set("paginate", typed("object", "How to get the next page. style picks the method; each style reads its own settings.",
		kw("properties", props(kw("style", S("Pagination style.", enum(styles))))),
		kw("allOf", branches)))
	return nil
}

var (
	durationType   = reflect.TypeFor[config.Duration]()
	stringListType = reflect.TypeFor[config.StringList]()
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
