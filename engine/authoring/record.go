package authoring

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/crmsync/crmsync/engine/value"
	"github.com/shopspring/decimal"
)

// Outcome is what the record path made of a record, as preview shows it.
type Outcome string

const (
	OK         Outcome = "ok"         // kept, no problem
	Warned     Outcome = "warn"       // kept, with warnings (on_invalid warn or null)
	Rejected   Outcome = "rejected"   // goes to the rejects table
	Filtered   Outcome = "filtered"   // the filter dropped it
	Failed     Outcome = "failed"     // on_invalid fail: the sync would stop here
	Unreadable Outcome = "unreadable" // the source could not read it (a broken CSV row)
)

// Column is a field of the mapped records.
type Column struct {
	Name string
	Type value.Type
}

// Record is one mapped record.
type Record struct {
	Outcome Outcome
	ID      string // the primary key values, comma-separated
	Values  []any  // by column; nil for unreadable records
	Reasons []string
	Raw     string // the source record
	// Children are the child rows made from the record, per child table
	// of the entity (Result.Children), each row by the child's columns.
	Children [][][]any
}

// Line is the record as one line of expected output:
//
//	{"outcome":"warn","id":"19","record":{"id":19,"email":"…",…},"reasons":["field phone: …"]}
//
// Values are written as the destination stores them: decimals with their
// scale, datetimes in UTC, dates as YYYY-MM-DD.
func (r *Record) Line(cols []Column) string { return r.line(cols, nil) }

// line is Line with the record's child rows, when the entity has child
// tables: "children":{"<table>":[{…},…],…} after the record.
func (r *Record) line(cols []Column, kids []ChildTable) string {
	var b bytes.Buffer
	b.WriteString(`{"outcome":`)
	writeString(&b, string(r.Outcome))
	b.WriteString(`,"id":`)
	writeString(&b, r.ID)
	if r.Values != nil {
		b.WriteString(`,"record":{`)
		for i, c := range cols {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(&b, c.Name)
			b.WriteByte(':')
			writeValue(&b, r.Values[i], c.Type)
		}
		b.WriteByte('}')
	}
	if len(kids) > 0 && r.Children != nil {
		b.WriteString(`,"children":{`)
		for i, ct := range kids {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(&b, ct.Name)
			b.WriteString(":[")
			if i < len(r.Children) {
				for j, row := range r.Children[i] {
					if j > 0 {
						b.WriteByte(',')
					}
					writeObject(&b, ct.Columns, row)
				}
			}
			b.WriteByte(']')
		}
		b.WriteByte('}')
	}
	if len(r.Reasons) > 0 {
		b.WriteString(`,"reasons":[`)
		for i, s := range r.Reasons {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(&b, s)
		}
		b.WriteByte(']')
	}
	b.WriteByte('}')
	return b.String()
}

// writeObject writes values as a JSON object of the columns.
func writeObject(b *bytes.Buffer, cols []Column, vals []any) {
	b.WriteByte('{')
	for i, c := range cols {
		if i >= len(vals) {
			break
		}
		if i > 0 {
			b.WriteByte(',')
		}
		writeString(b, c.Name)
		b.WriteByte(':')
		writeValue(b, vals[i], c.Type)
	}
	b.WriteByte('}')
}

func writeString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	b.Truncate(b.Len() - 1) // Encode's newline
}

func writeValue(b *bytes.Buffer, v any, t value.Type) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case string:
		writeString(b, x)
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			writeString(b, strconv.FormatFloat(x, 'g', -1, 64))
		} else {
			b.WriteString(strconv.FormatFloat(x, 'g', -1, 64))
		}
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case decimal.Decimal:
		b.WriteString(decimalText(x))
	case time.Time:
		writeString(b, timeText(x, t))
	case json.RawMessage:
		var c bytes.Buffer
		if json.Compact(&c, x) == nil {
			b.Write(c.Bytes())
		} else {
			writeString(b, string(x))
		}
	case []string:
		b.WriteByte('[')
		for i, s := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(b, s)
		}
		b.WriteByte(']')
	default:
		writeString(b, FormatValue(v, t))
	}
}

// decimalText keeps a decimal's scale: 12500.00 stays 12500.00.
func decimalText(d decimal.Decimal) string {
	if e := d.Exponent(); e < 0 {
		return d.StringFixed(-e)
	}
	return d.String()
}

func timeText(t time.Time, typ value.Type) string {
	if typ == value.Date {
		return t.UTC().Format(time.DateOnly)
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// FormatValue is a value as a table cell shows it; nil is "null".
func FormatValue(v any, t value.Type) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case decimal.Decimal:
		return decimalText(x)
	case time.Time:
		return timeText(x, t)
	case json.RawMessage:
		var c bytes.Buffer
		if json.Compact(&c, x) == nil {
			return c.String()
		}
		return string(x)
	case []string:
		var b bytes.Buffer
		writeValue(&b, x, t)
		return b.String()
	}
	return fmt.Sprint(v)
}
