// Package value names the field types of the pipeline language and the Go
// values that carry them along the record path.
//
// A converted value is one of: nil (SQL NULL), string (String, Phone,
// Email, URL), int64 (Integer), decimal.Decimal (Decimal), float64
// (Float), bool (Boolean), time.Time (Date at midnight UTC, Datetime in
// UTC), []string (StringArray), json.RawMessage (JSON).
package value

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

// Parse reads a type name; "array" and "strings" are accepted for string[].
func Parse(s string) (Type, bool) {
	switch s {
	case "", "text":
		return String, true
	case "int", "bigint":
		return Integer, true
	case "number", "numeric":
		return Decimal, true
	case "bool":
		return Boolean, true
	case "timestamp":
		return Datetime, true
	case "array", "strings":
		return StringArray, true
	}
	for i, n := range names {
		if n == s {
			return Type(i), true
		}
	}
	return 0, false
}
