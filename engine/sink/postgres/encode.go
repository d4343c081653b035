package postgres

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/crmsync/crmsync/engine/value"
)

// The binary wire format of every column type crmsync writes, appended
// as one COPY field (int32 length, then the bytes; -1 is NULL). Writing it
// here instead of through pgtype keeps the per-value path free of
// reflection and lets the row hash cover exactly the bytes PostgreSQL
// stores.

// encoder appends v as one binary field.
type encoder func(buf []byte, v any) ([]byte, error)

func encoderFor(t value.Type) encoder {
	switch t {
	case value.Integer:
		return encodeInt8
	case value.Decimal:
		return encodeNumeric
	case value.Float:
		return encodeFloat8
	case value.Boolean:
		return encodeBool
	case value.Date:
		return encodeDate
	case value.Datetime:
		return encodeTimestamptz
	case value.JSON:
		return encodeJSONB
	case value.StringArray:
		return encodeTextArray
	default:
		return encodeText
	}
}

func appendNull(buf []byte) []byte { return binary.BigEndian.AppendUint32(buf, math.MaxUint32) }

func appendLen(buf []byte, n int) []byte { return binary.BigEndian.AppendUint32(buf, uint32(n)) }

func wrongType(v any, want string) error {
	return fmt.Errorf("got a Go %T, want %s", v, want)
}

func checkText(s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("text contains a NUL byte, which PostgreSQL cannot store")
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("text is not valid UTF-8")
	}
	return nil
}

func encodeText(buf []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return appendNull(buf), nil
	case string:
		if err := checkText(x); err != nil {
			return buf, err
		}
		return append(appendLen(buf, len(x)), x...), nil
	}
	return buf, wrongType(v, "string")
}

func encodeInt8(buf []byte, v any) ([]byte, error) {
	var n int64
	switch x := v.(type) {
	case nil:
		return appendNull(buf), nil
	case int64:
		n = x
	case int:
		n = int64(x)
	case int32:
		n = int64(x)
	default:
		return buf, wrongType(v, "int64")
	}
	return binary.BigEndian.AppendUint64(appendLen(buf, 8), uint64(n)), nil
}

func encodeFloat8(buf []byte, v any) ([]byte, error) {
	var f float64
	switch x := v.(type) {
	case nil:
		return appendNull(buf), nil
	case float64:
		f = x
	case int64:
		f = float64(x)
	default:
		return buf, wrongType(v, "float64")
	}
	return binary.BigEndian.AppendUint64(appendLen(buf, 8), math.Float64bits(f)), nil
}

func encodeBool(buf []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return appendNull(buf), nil
	case bool:
		b := byte(0)
		if x {
			b = 1
		}
		return append(appendLen(buf, 1), b), nil
	}
	return buf, wrongType(v, "bool")
}

// PostgreSQL counts dates and times from 2000-01-01 UTC.
const (
	pgEpochUnix  = 946684800
	pgEpochMicro = pgEpochUnix * 1_000_000
)

func encodeDate(buf []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return appendNull(buf), nil
	case time.Time:
		y, m, d := x.Date()
		days := (time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() - pgEpochUnix) / 86400
		return binary.BigEndian.AppendUint32(appendLen(buf, 4), uint32(int32(days))), nil
	}
	return buf, wrongType(v, "time.Time")
}

func encodeTimestamptz(buf []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return appendNull(buf), nil
	case time.Time:
		return binary.BigEndian.AppendUint64(appendLen(buf, 8), uint64(x.UnixMicro()-pgEpochMicro)), nil
	}
	return buf, wrongType(v, "time.Time")
}

func encodeJSONB(buf []byte, v any) ([]byte, error) {
	var s []byte
	switch x := v.(type) {
	case nil:
		return appendNull(buf), nil
	case json.RawMessage:
		s = x
	case []byte:
		s = x
	case string:
		return encodeJSONBString(buf, x)
	default:
		return buf, wrongType(v, "json.RawMessage")
	}
	if len(s) == 0 {
		return appendNull(buf), nil
	}
	buf = appendLen(buf, len(s)+1)
	buf = append(buf, 1) // jsonb binary format version
	return append(buf, s...), nil
}

func encodeJSONBString(buf []byte, s string) ([]byte, error) {
	if s == "" {
		return appendNull(buf), nil
	}
	buf = appendLen(buf, len(s)+1)
	buf = append(buf, 1)
	return append(buf, s...), nil
}

func encodeTextArray(buf []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return appendNull(buf), nil
	case []string:
		size := 12
		if len(x) > 0 {
			size += 8
		}
		for _, s := range x {
			if err := checkText(s); err != nil {
				return buf, err
			}
			size += 4 + len(s)
		}
		buf = appendLen(buf, size)
		if len(x) == 0 {
			buf = binary.BigEndian.AppendUint32(buf, 0) // no dimensions
			buf = binary.BigEndian.AppendUint32(buf, 0) // no nulls
			return binary.BigEndian.AppendUint32(buf, oidText), nil
		}
		buf = binary.BigEndian.AppendUint32(buf, 1)
		buf = binary.BigEndian.AppendUint32(buf, 0)
		buf = binary.BigEndian.AppendUint32(buf, oidText)
		buf = binary.BigEndian.AppendUint32(buf, uint32(len(x)))
		buf = binary.BigEndian.AppendUint32(buf, 1) // lower bound
		for _, s := range x {
			buf = append(appendLen(buf, len(s)), s...)
		}
		return buf, nil
	}
	return buf, wrongType(v, "[]string")
}
