package jsontext

import (
	"sort"
	"strings"

	"github.com/tidwall/gjson"
)

// Kind names the JSON type of a value for messages: "an object", "an
// array", "a string", "a number", "null", "a boolean".
func Kind(r gjson.Result) string {
	switch {
	case r.IsObject():
		return "an object"
	case r.IsArray():
		return "an array"
	case r.Type == gjson.String:
		return "a string"
	case r.Type == gjson.Number:
		return "a number"
	case r.Type == gjson.Null:
		return "null"
	}
	return "a boolean"
}

// TopKeys lists an object's keys, sorted, at most 50, for "path not
// found" messages.
func TopKeys(r gjson.Result) string {
	if !r.IsObject() {
		return "none: the body is " + Kind(r)
	}
	var keys []string
	r.ForEach(func(k, _ gjson.Result) bool {
		keys = append(keys, k.String())
		return len(keys) < 50
	})
	sort.Strings(keys)
	if len(keys) == 0 {
		return "none: the object is empty"
	}
	return strings.Join(keys, ", ")
}
