package validate

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/shopspring/decimal"
)

// trimBlank removes the spaces and tabs a hand-typed CRM value carries
// around it. Line breaks and other control characters stay: they make a
// value invalid rather than sloppy.
func trimBlank(s string) string {
	i, j := 0, len(s)
	for i < j && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	for j > i && (s[j-1] == ' ' || s[j-1] == '\t') {
		j--
	}
	return s[i:j]
}

// textOf renders a non-string scalar as text, for the validators that look
// at characters (regex, one_of, length). It allocates; strings never get
// here.
func textOf(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case int64:
		return strconv.FormatInt(x, 10), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case decimal.Decimal:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	case time.Time:
		return x.Format(time.RFC3339Nano), true
	case int:
		return strconv.Itoa(x), true
	case json.RawMessage:
		return string(x), true
	}
	return "", false
}
