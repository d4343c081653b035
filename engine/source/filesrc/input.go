package filesrc

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

const bufSize = 256 << 10

// ReadError is a failure to read a file's bytes (as opposed to bytes
// that do not parse). The github source retries a download on it.
type ReadError struct{ Err error }

func (e *ReadError) Error() string { return "reading: " + e.Err.Error() }
func (e *ReadError) Unwrap() error { return e.Err }

// input is a buffered reader over a file's text, decoded to UTF-8, that
// knows the offset of every byte it hands out, so a position can be
// stored in a checkpoint and resumed later.
type input struct {
	src      io.Reader
	buf      []byte
	pos, end int
	base     int64 // offset of buf[0] in the decoded text
	err      error // sticky; io.EOF at the end

	// raw is the file itself when decoded offsets are raw offsets minus
	// skip (no gzip, no transcoding): resuming seeks instead of reading.
	raw  io.ReadSeeker
	skip int64
	// checkUTF8 is set when the text is not transcoded, so it may hold
	// invalid UTF-8 that must not reach a JSON record.
	checkUTF8 bool
}

// newInput opens a file's bytes: gunzips a name ending in .gz, strips a
// byte order mark, and decodes UTF-16 (by its BOM, always) or the given
// single-byte encoding to UTF-8.
func newInput(raw io.Reader, name, enc string) (*input, error) {
	in := &input{buf: make([]byte, bufSize)}
	r := raw
	seeker, _ := raw.(io.ReadSeeker)
	if strings.HasSuffix(strings.ToLower(name), ".gz") {
		gz, err := gzip.NewReader(raw)
		if err != nil {
			return nil, &ReadError{fmt.Errorf("opening gzip: %w", err)}
		}
		r, seeker = gz, nil
	}
	var head [3]byte
	n, err := io.ReadFull(r, head[:])
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, &ReadError{err}
	}
	bom := 0
	var dec *encoding.Decoder
	switch {
	case n >= 3 && bytes.Equal(head[:3], []byte{0xEF, 0xBB, 0xBF}):
		bom = 3
	case n >= 2 && head[0] == 0xFF && head[1] == 0xFE:
		bom, dec = 2, unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM).NewDecoder()
	case n >= 2 && head[0] == 0xFE && head[1] == 0xFF:
		bom, dec = 2, unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM).NewDecoder()
	default:
		switch enc {
		case "utf-16", "utf-16le":
			dec = unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM).NewDecoder()
		case "utf-16be":
			dec = unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM).NewDecoder()
		case "windows-1252":
			dec = charmap.Windows1252.NewDecoder()
		case "latin-1":
			dec = charmap.ISO8859_1.NewDecoder()
		case "iso-8859-15":
			dec = charmap.ISO8859_15.NewDecoder()
		}
	}
	in.src = io.MultiReader(bytes.NewReader(head[bom:n]), r)
	if dec != nil {
		in.src = transform.NewReader(in.src, dec)
	} else {
		in.checkUTF8 = true
		if seeker != nil {
			in.raw, in.skip = seeker, int64(bom)
		}
	}
	return in, nil
}

// offset is the decoded offset of the next unread byte.
func (in *input) offset() int64 { return in.base + int64(in.pos) }

// fill keeps the unread bytes and reads more; false when none came.
func (in *input) fill() bool {
	if in.err != nil {
		return false
	}
	if in.pos > 0 {
		in.end = copy(in.buf, in.buf[in.pos:in.end])
		in.base += int64(in.pos)
		in.pos = 0
	}
	if in.end == len(in.buf) {
		return true // full of unread bytes already
	}
	for range 100 {
		n, err := in.src.Read(in.buf[in.end:])
		in.end += n
		if err != nil {
			in.err = err
		}
		if n > 0 || err != nil {
			return n > 0
		}
	}
	in.err = io.ErrNoProgress
	return false
}

// peek returns the next byte without consuming it.
func (in *input) peek() (byte, bool) {
	if in.pos < in.end || in.fill() {
		return in.buf[in.pos], true
	}
	return 0, false
}

// readErr is the error that ended the input: nil at a clean end.
func (in *input) readErr() error {
	if in.err == nil || in.err == io.EOF {
		return nil
	}
	return &ReadError{in.err}
}

// Read lets a json.Decoder consume the buffered text.
func (in *input) Read(p []byte) (int, error) {
	if in.pos == in.end && !in.fill() {
		if err := in.readErr(); err != nil {
			return 0, err
		}
		return 0, io.EOF
	}
	n := copy(p, in.buf[in.pos:in.end])
	in.pos += n
	return n, nil
}

// skipTo moves forward to a decoded offset: by seeking the file when it
// can, else by reading and dropping the bytes in between.
func (in *input) skipTo(off int64) error {
	cur := in.offset()
	switch {
	case off < cur:
		return fmt.Errorf("checkpoint offset %d is before the header's end %d", off, cur)
	case off <= in.base+int64(in.end):
		in.pos = int(off - in.base)
		return nil
	case in.raw != nil:
		if _, err := in.raw.Seek(in.skip+off, io.SeekStart); err != nil {
			return &ReadError{err}
		}
		in.src, in.base, in.pos, in.end, in.err = in.raw, off, 0, 0, nil
		return nil
	}
	for in.offset() < off {
		in.pos = in.end
		if !in.fill() {
			if err := in.readErr(); err != nil {
				return err
			}
			return errors.New("the file is shorter than its checkpoint")
		}
		if need := off - in.base; need <= int64(in.end) {
			in.pos = int(need)
		}
	}
	return nil
}
