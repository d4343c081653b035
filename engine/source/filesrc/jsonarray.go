package filesrc

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/crmsync/crmsync/engine/source"
)

// jsonDecoder streams the elements of a JSON array with a json.Decoder
// (Token and More), one element in memory at a time. A file holding one
// object is one record. The row of an element is its index + 1.
type jsonDecoder struct {
	in     *input
	file   string
	dec    *json.Decoder
	base   int64 // decoded offset of the decoder's first byte
	rows   int
	off    int64 // after the last element
	raw    json.RawMessage
	single bool
	done   bool
}

func newJSONDecoder(in *input, name string, from Position) (*jsonDecoder, error) {
	d := &jsonDecoder{in: in, file: name, rows: from.Rows, off: from.Offset}
	if from.Offset > 0 {
		// Resume between two elements: drop the comma and give the
		// decoder a "[" in its place, so it is inside an array again.
		if err := in.skipTo(from.Offset); err != nil {
			return nil, err
		}
		c, ok := d.skipSpace()
		switch {
		case !ok || c == ']':
			d.done = true
			return d, in.readErr()
		case c != ',':
			return nil, fmt.Errorf("checkpoint offset %d is not between two elements of the array", from.Offset)
		}
		in.pos++
		d.base = in.offset() - 1
		d.dec = json.NewDecoder(io.MultiReader(strings.NewReader("["), in))
	} else {
		c, ok := d.skipSpace()
		switch {
		case !ok:
			d.done = true // an empty file
			return d, in.readErr()
		case c == '{':
			d.single = true
		case c != '[':
			return nil, fmt.Errorf("the file is not a JSON array of objects (it starts with %q)", c)
		}
		d.base = in.offset()
		d.dec = json.NewDecoder(in)
	}
	if !d.single {
		if _, err := d.dec.Token(); err != nil {
			return nil, d.wrap(err)
		}
	}
	return d, nil
}

func (d *jsonDecoder) position() Position {
	return Position{Offset: d.off, Line: 1, Rows: d.rows}
}

func (d *jsonDecoder) next(dst []byte) ([]byte, int, *source.Reject, error) {
	if d.done {
		return dst, 0, nil, io.EOF
	}
	if d.single {
		d.done = true
	} else if !d.dec.More() {
		d.done = true
		if _, err := d.dec.Token(); err != nil { // the closing ]
			return dst, 0, nil, d.wrap(err)
		}
		return dst, 0, nil, io.EOF
	}
	d.raw = d.raw[:0]
	if err := d.dec.Decode(&d.raw); err != nil {
		return dst, 0, nil, d.wrap(err)
	}
	d.rows++
	d.off = d.base + d.dec.InputOffset()
	row := d.rows
	switch {
	case d.raw[0] != '{':
		return dst, row, reject(d.file, row, string(d.raw), "element %d is not a JSON object", row), nil
	case d.in.checkUTF8 && !utf8.Valid(d.raw):
		return dst, row, reject(d.file, row, string(d.raw), "element %d is not valid UTF-8", row), nil
	}
	return append(dst, d.raw...), row, nil, nil
}

// wrap says which element a decoding error is in, and where.
func (d *jsonDecoder) wrap(err error) error {
	var re *ReadError
	if errors.As(err, &re) {
		return err
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	// The decoder's offsets inside a failed value are not reliable; the
	// value's start is.
	return fmt.Errorf("element %d (at byte %d): %w", d.rows+1, d.base+d.dec.InputOffset(), err)
}

func (d *jsonDecoder) skipSpace() (byte, bool) {
	for {
		c, ok := d.in.peek()
		if !ok || (c != ' ' && c != '\t' && c != '\r' && c != '\n') {
			return c, ok
		}
		d.in.pos++
	}
}
