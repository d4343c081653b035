package exprfn

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
)

func init() {
	register("kv", kvFn, new(func(any, string, string) map[string]any))
	register("kv_get", kvGetFn, new(func(any, string, string, string, ...string) any))
	register("json_parse", jsonParseFn, new(func(any) any))
	register("json_string", jsonStringFn, new(func(any) any))
	register("json_get", jsonGetFn, new(func(any, string) any))
}

// eachPair walks a list of {keyField, valueField} objects — a []any of
// maps, or JSON text of such an array — or the entries of a map, and
// calls yield with each key as text. Items without a key are skipped.
// It reports false for nil and blank text.
func eachPair(fn string, v any, keyField, valueField string, yield func(key string, val any)) (bool, error) {
	switch x := v.(type) {
	case nil:
		return false, nil
	case string:
		return eachJSONPair(fn, x, keyField, valueField, yield)
	case []byte:
		return eachJSONPair(fn, string(x), keyField, valueField, yield)
	case json.RawMessage:
		return eachJSONPair(fn, string(x), keyField, valueField, yield)
	case map[string]any:
		for k, val := range x {
			yield(k, val)
		}
		return true, nil
	case []map[string]any:
		for _, item := range x {
			if k, ok := text(item[keyField]); ok {
				yield(k, item[valueField])
			}
		}
		return true, nil
	case []any:
		for _, item := range x {
			m, ok := item.(map[string]any)
			if !ok {
				if item == nil {
					continue
				}
				return false, fmt.Errorf("%s: want a list of objects, found %T in it", fn, item)
			}
			if k, ok := text(m[keyField]); ok {
				yield(k, m[valueField])
			}
		}
		return true, nil
	}
	return false, fmt.Errorf("%s: want a list of objects or JSON text, got %T", fn, v)
}

func eachJSONPair(fn, s, keyField, valueField string, yield func(key string, val any)) (bool, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return false, nil
	}
	if !gjson.Valid(s) {
		return false, fmt.Errorf("%s: text is not valid JSON", fn)
	}
	r := gjson.Parse(s)
	switch {
	case r.IsArray():
		r.ForEach(func(_, item gjson.Result) bool {
			if k := item.Get(keyField); k.Exists() && k.Type != gjson.Null && k.Type != gjson.JSON {
				yield(k.String(), jsonValue(item.Get(valueField)))
			}
			return true
		})
	case r.IsObject():
		r.ForEach(func(k, val gjson.Result) bool {
			yield(k.Str, jsonValue(val))
			return true
		})
	case r.Type == gjson.Null:
		return false, nil
	default:
		return false, fmt.Errorf("%s: JSON text is neither an array nor an object", fn)
	}
	return true, nil
}

// kvFn: kv(list, keyField, valueField) builds a map from a list of
// {key, value} objects, with keys put through normalize_key; the last of
// two equal keys wins.
func kvFn(args ...any) (any, error) {
	keyField, valueField, err := fieldArgs("kv", args)
	if err != nil {
		return nil, err
	}
	out := make(map[string]any)
	ok, err := eachPair("kv", args[0], keyField, valueField, func(k string, v any) {
		if k = normalizeKey(k); k != "" {
			out[k] = v
		}
	})
	if !ok || err != nil {
		return nil, err
	}
	return out, nil
}

// kvGetFn: kv_get(list, keyField, valueField, name, ...) gives the value
// of the first name (in the order given) found with a non-blank value,
// keys and names compared after normalize_key. This reads form answers
// whose titles drift: "Appointment Result", "Appointment Result ",
// "Result".
func kvGetFn(args ...any) (any, error) {
	keyField, valueField, err := fieldArgs("kv_get", args)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(args)-3)
	for _, a := range args[3:] {
		n, err := stringArg("kv_get", a)
		if err != nil {
			return nil, err
		}
		names = append(names, normalizeKey(n))
	}
	found := make([]any, len(names))
	var buf [128]byte
	_, err = eachPair("kv_get", args[0], keyField, valueField, func(k string, v any) {
		if isBlank(v) {
			return
		}
		key := appendKey(buf[:0], k)
		for i, n := range names {
			if string(key) == n {
				found[i] = v
			}
		}
	})
	if err != nil {
		return nil, err
	}
	for _, v := range found {
		if v != nil {
			return v, nil
		}
	}
	return nil, nil
}

func fieldArgs(fn string, args []any) (string, string, error) {
	k, err := stringArg(fn, args[1])
	if err != nil {
		return "", "", err
	}
	v, err := stringArg(fn, args[2])
	return k, v, err
}

// jsonValue turns a gjson value into expr-friendly Go: whole numbers that
// fit become int, other numbers float64, objects map[string]any, arrays
// []any.
func jsonValue(r gjson.Result) any {
	switch r.Type {
	case gjson.String:
		return r.Str
	case gjson.Number:
		if n, err := strconv.ParseInt(r.Raw, 10, 0); err == nil {
			return int(n)
		}
		return r.Num
	case gjson.True:
		return true
	case gjson.False:
		return false
	case gjson.JSON:
		if r.IsArray() {
			out := make([]any, 0, 4)
			r.ForEach(func(_, v gjson.Result) bool {
				out = append(out, jsonValue(v))
				return true
			})
			return out
		}
		out := make(map[string]any)
		r.ForEach(func(k, v gjson.Result) bool {
			out[k.Str] = jsonValue(v)
			return true
		})
		return out
	}
	return nil
}

// jsonText reads JSON given as text; isNil for nil and blank text.
func jsonText(fn string, v any) (r gjson.Result, isNil bool, err error) {
	var s string
	switch x := v.(type) {
	case nil:
		return r, true, nil
	case string:
		s = x
	case []byte:
		s = string(x)
	case json.RawMessage:
		s = string(x)
	default:
		b, err := marshal(v)
		if err != nil {
			return r, false, fmt.Errorf("%s: %w", fn, err)
		}
		s = string(b)
	}
	if strings.TrimSpace(s) == "" {
		return r, true, nil
	}
	if !gjson.Valid(s) {
		return r, false, fmt.Errorf("%s: text is not valid JSON", fn)
	}
	return gjson.Parse(s), false, nil
}

// jsonParseFn decodes JSON text; a value that is already a map or list is
// returned as is.
func jsonParseFn(args ...any) (any, error) {
	switch args[0].(type) {
	case map[string]any, []any:
		return args[0], nil
	}
	r, isNil, err := jsonText("json_parse", args[0])
	if isNil || err != nil {
		return nil, err
	}
	return jsonValue(r), nil
}

// jsonGetFn reads one value from JSON text (or a map or list) by a gjson
// path: json_get(lead_results, "0.value"), json_get(s, "address.zip").
func jsonGetFn(args ...any) (any, error) {
	path, err := stringArg("json_get", args[1])
	if err != nil {
		return nil, err
	}
	r, isNil, err := jsonText("json_get", args[0])
	if isNil || err != nil {
		return nil, err
	}
	return jsonValue(r.Get(path)), nil
}

func jsonStringFn(args ...any) (any, error) {
	if args[0] == nil {
		return nil, nil
	}
	b, err := marshal(args[0])
	if err != nil {
		return nil, fmt.Errorf("json_string: %w", err)
	}
	return string(b), nil
}

// marshal writes compact JSON without HTML escaping (a URL keeps its &).
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}
