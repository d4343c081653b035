package filesrc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/crmsync/crmsync/engine/jsontext"
	"github.com/crmsync/crmsync/engine/source"
)

// jsonlDecoder reads one JSON object a line. Blank lines are skipped; a
// line that is not a JSON object is a reject.
type jsonlDecoder struct {
	in   *input
	file string
	line int // line of the next unread byte
	rows int
	buf  []byte // a line that spans reads
}

func newJSONLDecoder(in *input, name string, from Position) (*jsonlDecoder, error) {
	d := &jsonlDecoder{in: in, file: name, line: from.Line, rows: from.Rows}
	if from.Offset > 0 {
		if err := in.skipTo(from.Offset); err != nil {
			return nil, err
		}
	}
	return d, nil
}

func (d *jsonlDecoder) position() Position {
	return Position{Offset: d.in.offset(), Line: d.line, Rows: d.rows}
}

func (d *jsonlDecoder) next(dst []byte) ([]byte, int, *source.Reject, error) {
	for {
		ln, ok, err := d.readLine()
		if err != nil {
			return dst, 0, nil, err
		}
		if !ok {
			return dst, 0, nil, io.EOF
		}
		row := d.line
		d.line++
		t := bytes.TrimSpace(ln)
		if len(t) == 0 {
			continue
		}
		d.rows++
		switch {
		case t[0] != '{':
			return dst, row, reject(d.file, row, string(t), "the line is not a JSON object"), nil
		case d.in.checkUTF8 && !utf8.Valid(t):
			return dst, row, reject(d.file, row, string(t), "the line is not valid UTF-8"), nil
		}
		// One linear depth pass, then gjson's validator: encoding/json's
		// json.Valid here cost a third of a file load's CPU.
		if deep, at := jsontext.TooDeep(t, jsontext.MaxDepth); deep {
			return dst, row, reject(d.file, row, string(t[:min(len(t), 200)]), "the line nests arrays and objects more than %d levels deep (at byte %d); not parsed", jsontext.MaxDepth, at), nil
		}
		if !gjson.ValidBytes(t) {
			err := json.Unmarshal(t, new(json.RawMessage)) // only to say what is wrong
			return dst, row, reject(d.file, row, string(t), "invalid JSON: %v", err), nil
		}
		return append(dst, t...), row, nil, nil
	}
}

// readLine returns the next line without its "\n"; the slice is valid
// until the next call.
func (d *jsonlDecoder) readLine() ([]byte, bool, error) {
	in := d.in
	d.buf = d.buf[:0]
	for {
		buf := in.buf[in.pos:in.end]
		if i := bytes.IndexByte(buf, '\n'); i >= 0 {
			in.pos += i + 1
			if len(d.buf) == 0 {
				return buf[:i], true, nil
			}
			d.buf = append(d.buf, buf[:i]...)
			return d.buf, true, nil
		}
		d.buf = append(d.buf, buf...)
		in.pos = in.end
		if len(d.buf) > maxRecord {
			return nil, false, fmt.Errorf("line %d: a line longer than %d MiB", d.line, maxRecord>>20)
		}
		if !in.fill() {
			if err := in.readErr(); err != nil {
				return nil, false, err
			}
			return d.buf, len(d.buf) > 0, nil
		}
	}
}
