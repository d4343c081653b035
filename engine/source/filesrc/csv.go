package filesrc

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/crmsync/crmsync/engine/source"
)

// How a field ended.
const (
	endDelim = iota
	endLine
	endEOF
	endTooLong
)

// csvDecoder is a CSV parser written for this job rather than
// encoding/csv, which cannot keep a quoted "\r\n" as written, read
// CR-only line endings, use a quote other than '"', or build JSON
// without a string per field. It is lenient where RFC 4180 readers are
// (a quote inside an unquoted field is kept as text) and strict where
// data would silently change (text after a closing quote, an
// unterminated quote and a row of the wrong width are rejects).
type csvDecoder struct {
	in                    *input
	file                  string
	delim, quote, comment byte
	stop                  [256]bool // bytes that end an unquoted field

	line      int  // line of the next unread byte
	cr        bool // the last byte counted was '\r' (for "\r\n" split across reads)
	rows      int
	rec       []byte // the current record's fields, back to back
	ends      []int  // end of each field in rec
	bad       string // why the current record is malformed
	quoteLine int

	keys    [][]byte // `"name":` for each column
	pending int      // row of a first data row already read (header: false, no columns); 0 = none
	eof     bool
}

func newCSVDecoder(in *input, f *Format, name string, from Position) (*csvDecoder, error) {
	o := f.csv
	d := &csvDecoder{in: in, file: name, delim: o.delim, quote: o.quote, comment: o.comment, line: 1}
	if !o.delimSet && strings.HasSuffix(strings.TrimSuffix(strings.ToLower(name), ".gz"), ".tsv") {
		d.delim = '\t'
	}
	d.stop['\r'], d.stop['\n'], d.stop[d.delim] = true, true, true
	for range o.skipRows {
		if !d.skipLine() {
			break
		}
	}
	if err := in.readErr(); err != nil {
		return nil, err
	}

	names := o.columns
	if o.header || len(names) == 0 {
		row, err := d.readRecord()
		switch {
		case err == io.EOF:
			if len(f.Required) > 0 {
				return nil, fmt.Errorf("the file is empty: no header with the required columns %s", quoteList(f.Required))
			}
			d.eof = true
			return d, nil
		case err != nil:
			return nil, err
		case d.bad != "":
			return nil, fmt.Errorf("line %d: header: %s", row, d.bad)
		case in.checkUTF8 && !utf8.Valid(d.rec):
			return nil, fmt.Errorf("line %d: the header is not valid UTF-8: set csv.encoding, for example windows-1252", row)
		}
		switch {
		case !o.header:
			// No header and no names: the first row is data; its width names the columns.
			names = make([]string, len(d.ends))
			d.pending = row
		case len(names) > 0:
			if len(d.ends) != len(names) {
				return nil, fmt.Errorf("line %d: the header has %d columns but csv.columns names %d", row, len(d.ends), len(names))
			}
		default:
			names = d.fields()
		}
	}
	if err := d.setColumns(names, f.Required); err != nil {
		return nil, err
	}
	if from.Offset > 0 {
		d.pending = 0
		if err := in.skipTo(from.Offset); err != nil {
			return nil, err
		}
		d.line, d.rows = from.Line, from.Rows
	}
	return d, nil
}

// setColumns names empty headers column_N, refuses duplicates, checks the
// required columns and prepares each `"name":` key once.
func (d *csvDecoder) setColumns(names, required []string) error {
	names = append([]string(nil), names...)
	seen := make(map[string]int, len(names))
	for i, n := range names {
		if n == "" {
			n = "column_" + strconv.Itoa(i+1)
			names[i] = n
		}
		if j, dup := seen[n]; dup {
			return fmt.Errorf("duplicate column %q in the header (columns %d and %d): rename one, or set csv.columns", n, j+1, i+1)
		}
		seen[n] = i
	}
	var missing []string
	for _, r := range required {
		if _, ok := seen[r]; !ok {
			missing = append(missing, r)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("the header lacks the required columns %s (it has %s)", quoteList(missing), quoteList(names))
	}
	d.keys = make([][]byte, len(names))
	for i, n := range names {
		d.keys[i] = append(appendString(nil, []byte(n)), ':')
	}
	return nil
}

func (d *csvDecoder) position() Position {
	return Position{Offset: d.in.offset(), Line: d.line, Rows: d.rows}
}

func (d *csvDecoder) next(dst []byte) ([]byte, int, *source.Reject, error) {
	if d.eof {
		return dst, 0, nil, io.EOF
	}
	row := d.pending
	if row > 0 {
		d.pending = 0
	} else {
		var err error
		if row, err = d.readRecord(); err != nil {
			return dst, 0, nil, err
		}
	}
	d.rows++
	if d.bad != "" {
		return dst, row, reject(d.file, row, d.raw(), "%s", d.bad), nil
	}
	if len(d.ends) != len(d.keys) {
		return dst, row, reject(d.file, row, d.raw(), "row has %d fields, the header has %d", len(d.ends), len(d.keys)), nil
	}
	if d.in.checkUTF8 && !utf8.Valid(d.rec) {
		return dst, row, reject(d.file, row, d.raw(), "%s", d.badUTF8()), nil
	}
	dst = append(dst, '{')
	start := 0
	for i, end := range d.ends {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, d.keys[i]...)
		dst = appendString(dst, d.rec[start:end])
		start = end
	}
	return append(dst, '}'), row, nil, nil
}

// readRecord reads the next record into rec and ends, skipping blank and
// comment lines, and returns the line it starts on.
func (d *csvDecoder) readRecord() (int, error) {
	d.rec, d.ends, d.bad = d.rec[:0], d.ends[:0], ""
	in := d.in
skip:
	for {
		c, ok := in.peek()
		switch {
		case !ok:
			if err := in.readErr(); err != nil {
				return 0, err
			}
			return 0, io.EOF
		case c == '\n' || c == '\r':
			in.pos++
			d.eol(c)
		case c == d.comment && d.comment != 0:
			d.skipLine()
		default:
			break skip
		}
	}
	start := d.line
	for {
		var end int
		if c, ok := in.peek(); ok && c == d.quote && d.quote != 0 {
			in.pos++
			end = d.quoted()
		} else {
			end = d.unquoted()
		}
		d.ends = append(d.ends, len(d.rec))
		switch end {
		case endDelim:
			continue
		case endTooLong:
			return start, fmt.Errorf("line %d: a record longer than %d MiB (an unterminated quote?)", start, maxRecord>>20)
		}
		if err := in.readErr(); err != nil {
			return start, err
		}
		return start, nil
	}
}

// unquoted reads a field up to a delimiter, a line end or the end.
func (d *csvDecoder) unquoted() int {
	in := d.in
	for {
		buf := in.buf[in.pos:in.end]
		i := 0
		for i < len(buf) && !d.stop[buf[i]] {
			i++
		}
		d.rec = append(d.rec, buf[:i]...)
		in.pos += i
		if i < len(buf) {
			c := buf[i]
			in.pos++
			if c == d.delim {
				return endDelim
			}
			d.eol(c)
			return endLine
		}
		if len(d.rec) > maxRecord {
			return endTooLong
		}
		if !in.fill() {
			return endEOF
		}
	}
}

// quoted reads a field after its opening quote. Line ends inside are
// kept as written ("\r\n" stays "\r\n").
func (d *csvDecoder) quoted() int {
	in := d.in
	d.quoteLine = d.line
	for {
		buf := in.buf[in.pos:in.end]
		i := bytes.IndexByte(buf, d.quote)
		seg := buf
		if i >= 0 {
			seg = buf[:i]
		}
		d.countLines(seg)
		d.rec = append(d.rec, seg...)
		if i < 0 {
			in.pos = in.end
			if len(d.rec) > maxRecord {
				return endTooLong
			}
			if !in.fill() {
				d.setBad(fmt.Sprintf("unterminated quoted field %d (its quote opened at line %d)", len(d.ends)+1, d.quoteLine))
				return endEOF
			}
			continue
		}
		in.pos += i + 1
		d.cr = false
		c, ok := in.peek()
		switch {
		case !ok:
			return endEOF
		case c == d.quote: // a doubled quote is one quote
			d.rec = append(d.rec, c)
			in.pos++
		case c == d.delim:
			in.pos++
			return endDelim
		case c == '\n' || c == '\r':
			in.pos++
			d.eol(c)
			return endLine
		default:
			what := "text"
			if c >= 0x20 && c < 0x7f {
				what = strconv.QuoteRune(rune(c))
			}
			d.setBad(fmt.Sprintf("field %d: %s after its closing quote", len(d.ends)+1, what))
			return d.unquoted()
		}
	}
}

// eol ends a line at c, taking the '\n' of a "\r\n".
func (d *csvDecoder) eol(c byte) {
	if c == '\r' {
		if n, ok := d.in.peek(); ok && n == '\n' {
			d.in.pos++
		}
	}
	d.line++
}

// countLines counts the line ends inside quoted text: "\r\n", "\n", "\r".
func (d *csvDecoder) countLines(seg []byte) {
	if bytes.IndexByte(seg, '\n') < 0 && bytes.IndexByte(seg, '\r') < 0 {
		if len(seg) > 0 {
			d.cr = false
		}
		return
	}
	for _, c := range seg {
		switch c {
		case '\r':
			d.line++
			d.cr = true
		case '\n':
			if !d.cr {
				d.line++
			}
			d.cr = false
		default:
			d.cr = false
		}
	}
}

// skipLine drops the rest of a line; false at the end of the text.
func (d *csvDecoder) skipLine() bool {
	in := d.in
	for {
		buf := in.buf[in.pos:in.end]
		if i := bytes.IndexAny(buf, "\r\n"); i >= 0 {
			c := buf[i]
			in.pos += i + 1
			d.eol(c)
			return true
		}
		in.pos = in.end
		if !in.fill() {
			return false
		}
	}
}

func (d *csvDecoder) setBad(why string) {
	if d.bad == "" {
		d.bad = why
	}
}

func (d *csvDecoder) fields() []string {
	out := make([]string, len(d.ends))
	start := 0
	for i, end := range d.ends {
		out[i] = string(d.rec[start:end])
		start = end
	}
	return out
}

// raw writes the current record back as one CSV line, for the rejects store.
func (d *csvDecoder) raw() string {
	var b strings.Builder
	for i, f := range d.fields() {
		if i > 0 {
			b.WriteByte(d.delim)
		}
		if d.quote != 0 && strings.ContainsAny(f, string([]byte{d.delim, d.quote, '\r', '\n'})) {
			q := string(d.quote)
			b.WriteString(q + strings.ReplaceAll(f, q, q+q) + q)
		} else {
			b.WriteString(f)
		}
	}
	return b.String()
}

func (d *csvDecoder) badUTF8() string {
	start := 0
	for i, end := range d.ends {
		f := d.rec[start:end]
		start = end
		if utf8.Valid(f) {
			continue
		}
		at := 0
		for at < len(f) {
			r, n := utf8.DecodeRune(f[at:])
			if r == utf8.RuneError && n == 1 {
				break
			}
			at += n
		}
		return fmt.Sprintf("field %d is not valid UTF-8 (byte 0x%02X): set csv.encoding, for example windows-1252 or latin-1", i+1, f[at])
	}
	return "the row is not valid UTF-8"
}

func quoteList(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}
