// Package value names the field types of the pipeline language and the Go
// values that carry them along the record path.
//
// A converted value is one of: nil (SQL NULL), string (String, Phone,
// Email, URL), int64 (Integer), decimal.Decimal (Decimal), float64
// (Float), bool (Boolean), time.Time (Date at midnight UTC, Datetime in
// UTC), []string (StringArray), json.RawMessage (JSON).
package value

import "slices"

// Type is a field type.
type Type uint8

const (
	String Type = iota
	Integer
	Decimal
	Float
	Boolean
	Date
	Datetime
	Phone
	Email
	URL
	JSON
	StringArray
)

var names = [...]string{"string", "integer", "decimal", "float", "boolean", "date", "datetime", "phone", "email", "url", "json", "string[]"}

func (t Type) String() string {
	if int(t) < len(names) {
		return names[t]
	}
	return "unknown"
}

// Names lists every type name in the language.
func Names() []string { return append([]string(nil), names[:]...) }

// aliases are the other spellings each type is accepted under.
var aliases = [len(names)][]string{
	String:      {"text"},
	Integer:     {"int", "bigint"},
	Decimal:     {"number", "numeric"},
	Boolean:     {"bool"},
	Datetime:    {"timestamp"},
	StringArray: {"array", "strings"},
}

// Spellings lists every accepted type name, each type's name followed by
// its aliases, for the JSON Schema and the docs.
func Spellings() []string {
	var out []string
	for i, n := range names {
		out = append(out, n)
		out = append(out, aliases[i]...)
	}
	return out
}

// Parse reads a type name; "array" and "strings" are accepted for
// string[], and the other aliases above; "" is string.
func Parse(s string) (Type, bool) {
	if s == "" {
		return String, true
	}
	for i, n := range names {
		if n == s || slices.Contains(aliases[i], s) {
			return Type(i), true
		}
	}
	return 0, false
}
