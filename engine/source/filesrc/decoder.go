package filesrc

import (
	"fmt"
	"io"
	"strings"

	"github.com/crmsync/crmsync/engine/source"
)

// maxRecord bounds one record (a CSV row, a JSON line), so that a stray
// quote cannot make a whole file one field held in memory.
const maxRecord = 64 << 20

// Position is where the reading of one file stands: the decoded byte
// offset after the last record handed out, the line the next one starts
// on, and the number of records (rejects included) read so far.
type Position struct {
	Offset int64 `json:"offset"`
	Line   int   `json:"line"`
	Rows   int   `json:"rows"`
}

// decoder turns one file's text into records.
type decoder interface {
	// next appends the next record's JSON to dst and returns it with the
	// record's row. A malformed record comes back as a reject, dst
	// unchanged. io.EOF ends the file; any other error stops it.
	next(dst []byte) (out []byte, row int, rej *source.Reject, err error)
	// position is the place after the last record returned.
	position() Position
}

// open starts decoding one file's bytes at a position (the zero Position
// for its start). The CSV header is always read from the file's start.
func (f *Format) open(raw io.Reader, name string, from Position) (decoder, error) {
	kind, err := f.kindFor(name)
	if err != nil {
		return nil, err
	}
	enc := "utf-8"
	if kind == CSV {
		enc = f.csv.encoding
	}
	in, err := newInput(raw, name, enc)
	if err != nil {
		return nil, err
	}
	if from.Line < 1 {
		from.Line = 1
	}
	switch kind {
	case CSV:
		return newCSVDecoder(in, f, name, from)
	case JSONL:
		return newJSONLDecoder(in, name, from)
	default:
		return newJSONDecoder(in, name, from)
	}
}

// reject builds a reject whose reason starts with file:line.
func reject(file string, row int, raw, format string, args ...any) *source.Reject {
	const maxRaw = 4096
	if len(raw) > maxRaw {
		raw = raw[:maxRaw] + "…"
	}
	raw = strings.ToValidUTF8(raw, "\uFFFD")
	return &source.Reject{Raw: raw, File: file, Row: row,
		Reason: fmt.Sprintf("%s:%d: ", file, row) + fmt.Sprintf(format, args...)}
}
