package sqlite

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/crmsync/crmsync/engine/value"
	"github.com/shopspring/decimal"
)

// Declared column types. SQLite picks a column's affinity from its
// declared type name ("INT" → integer, "TEXT" → text, "REAL" → real, else
// numeric), so every name here is chosen for its affinity: decimals and
// JSON must keep text affinity, or SQLite would turn "1.10" into 1.1, a
// 30-digit decimal into a float, and the JSON text "12" into 12. Dates and
// times are declared DATE and DATETIME, the names tools read as dates (Go's
// SQLite drivers return time.Time for them, DBeaver, Metabase and
// Datasette show dates) so models need no cast: their affinity is numeric,
// but the values are ISO 8601 text that never reads as a number, so SQLite
// stores them as text, unchanged. PRAGMA table_info shows these names.
const (
	sqlText      = "TEXT"            // string, phone, email, url
	sqlInteger   = "BIGINT"          // integer; not INTEGER, which would alias the rowid
	sqlDecimal   = "DECIMAL_TEXT"    // exact decimal string, scale kept ("1.10")
	sqlFloat     = "REAL"            // float
	sqlBoolean   = "BOOLEAN"         // 0 or 1 (numeric affinity stores them as integers)
	sqlDate      = "DATE"            // YYYY-MM-DD, stored as text
	sqlDatetime  = "DATETIME"        // YYYY-MM-DDTHH:MM:SS.ffffffZ, UTC, stored as text, sorts as text
	sqlJSON      = "JSON_TEXT"       // JSON text as received
	sqlJSONArray = "JSON_ARRAY_TEXT" // string[] as a JSON array
)

// formerTypes are names earlier releases declared for the same values:
// tables made then keep them and still match.
var formerTypes = map[string]string{sqlDate: "DATE_TEXT", sqlDatetime: "DATETIME_TEXT"}

// sameType reports whether a column declared have holds what want does.
func sameType(have, want string) bool {
	former, ok := formerTypes[want]
	return strings.EqualFold(have, want) || ok && strings.EqualFold(have, former)
}

// timeLayout has fixed fractional digits so stored times sort as text;
// microseconds, like PostgreSQL's timestamptz.
const timeLayout = "2006-01-02T15:04:05.000000Z"

func sqlType(t value.Type) string {
	switch t {
	case value.Integer:
		return sqlInteger
	case value.Decimal:
		return sqlDecimal
	case value.Float:
		return sqlFloat
	case value.Boolean:
		return sqlBoolean
	case value.Date:
		return sqlDate
	case value.Datetime:
		return sqlDatetime
	case value.JSON:
		return sqlJSON
	case value.StringArray:
		return sqlJSONArray
	}
	return sqlText
}

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func parseTime(s string) (time.Time, error) { return time.Parse(time.RFC3339Nano, s) }

// bindValue turns a field's Go value (see package value) into the value
// stored for it: nil, string, int64 or float64.
func bindValue(t value.Type, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch t {
	case value.String, value.Phone, value.Email, value.URL:
		if s, ok := v.(string); ok {
			return s, nil
		}
	case value.Integer:
		switch x := v.(type) {
		case int64:
			return x, nil
		case int:
			return int64(x), nil
		}
	case value.Decimal:
		switch x := v.(type) {
		case decimal.Decimal:
			// StringFixed at the value's own scale: exact, keeps "1.10",
			// never scientific notation, independent of package settings.
			places := -x.Exponent()
			if places < 0 {
				places = 0
			}
			return x.StringFixed(places), nil
		case string:
			d, err := decimal.NewFromString(x)
			if err != nil {
				return nil, fmt.Errorf("decimal %q: %w", x, err)
			}
			return bindValue(t, d)
		}
	case value.Float:
		switch x := v.(type) {
		case float64:
			return x, nil
		case float32:
			return float64(x), nil
		}
	case value.Boolean:
		if b, ok := v.(bool); ok {
			if b {
				return int64(1), nil
			}
			return int64(0), nil
		}
	case value.Date:
		if x, ok := v.(time.Time); ok {
			return x.Format(time.DateOnly), nil
		}
	case value.Datetime:
		if x, ok := v.(time.Time); ok {
			return formatTime(x), nil
		}
	case value.JSON:
		switch x := v.(type) {
		case json.RawMessage:
			if len(x) == 0 {
				return nil, nil
			}
			return string(x), nil
		case string:
			return x, nil
		}
	case value.StringArray:
		if x, ok := v.([]string); ok {
			if x == nil {
				x = []string{}
			}
			b, err := json.Marshal(x)
			if err != nil {
				return nil, err
			}
			return string(b), nil
		}
	}
	return nil, fmt.Errorf("%s field holds a Go %T", t, v)
}
