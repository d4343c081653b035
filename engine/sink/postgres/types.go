package postgres

import (
	"fmt"

	"github.com/crmsync/crmsync/engine/value"
)

// PostgreSQL type OIDs of the column types crmsync creates.
const (
	oidBool        = 16
	oidBytea       = 17
	oidInt8        = 20
	oidText        = 25
	oidFloat8      = 701
	oidDate        = 1082
	oidTimestamptz = 1184
	oidNumeric     = 1700
	oidJSONB       = 3802

	oidBoolArray        = 1000
	oidTextArray        = 1009
	oidInt8Array        = 1016
	oidFloat8Array      = 1022
	oidDateArray        = 1182
	oidTimestamptzArray = 1185
	oidNumericArray     = 1231
	oidJSONBArray       = 3807
)

// sqlType is how one value.Type is stored.
type sqlType struct {
	name     string // as written in DDL
	format   string // as format_type() prints it, to compare with the catalog
	oid      uint32
	arrayOID uint32 // 0 when the type cannot be a key
}

var sqlTypes = map[value.Type]sqlType{
	value.String:      {"text", "text", oidText, oidTextArray},
	value.Phone:       {"text", "text", oidText, oidTextArray},
	value.Email:       {"text", "text", oidText, oidTextArray},
	value.URL:         {"text", "text", oidText, oidTextArray},
	value.Integer:     {"bigint", "bigint", oidInt8, oidInt8Array},
	value.Decimal:     {"numeric", "numeric", oidNumeric, oidNumericArray},
	value.Float:       {"double precision", "double precision", oidFloat8, oidFloat8Array},
	value.Boolean:     {"boolean", "boolean", oidBool, oidBoolArray},
	value.Date:        {"date", "date", oidDate, oidDateArray},
	value.Datetime:    {"timestamptz", "timestamp with time zone", oidTimestamptz, oidTimestamptzArray},
	value.JSON:        {"jsonb", "jsonb", oidJSONB, oidJSONBArray},
	value.StringArray: {"text[]", "text[]", oidTextArray, 0},
}

func typeOf(t value.Type) (sqlType, error) {
	st, ok := sqlTypes[t]
	if !ok {
		return sqlType{}, fmt.Errorf("type %q has no PostgreSQL column type", t)
	}
	return st, nil
}

// shortType turns format_type() output back into the DDL spelling for
// messages ("timestamp with time zone" → "timestamptz").
func shortType(format string) string {
	for _, st := range sqlTypes {
		if st.format == format {
			return st.name
		}
	}
	return format
}
