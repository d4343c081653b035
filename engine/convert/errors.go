package convert

import "errors"

// Conversion errors. They are values so the record path does not allocate
// one per bad value, and they never hold the value itself.
var (
	errInteger     = errors.New("not a valid integer")
	errFraction    = errors.New("not a whole number")
	errIntRange    = errors.New("integer out of range")
	errDecimal     = errors.New("not a valid decimal")
	errFloat       = errors.New("not a valid float")
	errFloatRange  = errors.New("float out of range")
	errBoolean     = errors.New("not a valid boolean")
	errDate        = errors.New("not a valid date")
	errDatetime    = errors.New("not a valid datetime")
	errImpossible  = errors.New("impossible date")
	errTimeRange   = errors.New("datetime out of range")
	errPhone       = errors.New("not a valid phone number")
	errEmail       = errors.New("not a valid email")
	errURL         = errors.New("not a valid url")
	errURLScheme   = errors.New("url scheme must be http or https")
	errInvalidJSON = errors.New("string holds invalid json")
	errStringArray = errors.New("not a valid string list")
	errUnsupported = errors.New("unsupported value type")
)

// errByType is the error for a value of the wrong kind (an object for an
// integer, a bool for a date), indexed by value.Type.
var errByType = [...]error{
	nil, // string accepts every kind
	errInteger,
	errDecimal,
	errFloat,
	errBoolean,
	errDate,
	errDatetime,
	errPhone,
	errEmail,
	errURL,
	errInvalidJSON,
	errStringArray,
}
