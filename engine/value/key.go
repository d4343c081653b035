package value

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"
)

// AppendKey appends v, type-tagged, to a map key being built: values
// equal as stored keys encode the same (times to the microsecond, as
// PostgreSQL keeps them), and no two values of different types collide.
func AppendKey(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, 'n')
	case string:
		b = append(b, 's')
		b = binary.AppendUvarint(b, uint64(len(x)))
		return append(b, x...)
	case int64:
		b = append(b, 'i')
		return binary.LittleEndian.AppendUint64(b, uint64(x))
	case float64:
		b = append(b, 'f')
		return binary.LittleEndian.AppendUint64(b, math.Float64bits(x))
	case bool:
		if x {
			return append(b, 'b', 1)
		}
		return append(b, 'b', 0)
	case time.Time:
		b = append(b, 't')
		return binary.LittleEndian.AppendUint64(b, uint64(x.UnixMicro()))
	default:
		str := fmt.Sprint(x)
		b = append(b, 'x')
		b = binary.AppendUvarint(b, uint64(len(str)))
		return append(b, str...)
	}
}
