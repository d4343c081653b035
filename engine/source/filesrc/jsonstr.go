package filesrc

import "github.com/crmsync/crmsync/engine/jsontext"

// appendString appends s as a JSON string (see jsontext.AppendString).
func appendString(dst, s []byte) []byte { return jsontext.AppendString(dst, s) }
