package filesrc

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/crmsync/crmsync/engine/source"
)

// FileError is a file that could not be read to its end: a header
// without the required columns, a duplicate column, a broken JSON array,
// an unreadable file. The other files of the run are still read; Read
// returns the FileErrors (joined) after the last page, so the runner can
// record a partial sync. Records of the file emitted before the error
// stay committed.
type FileError struct {
	File string
	Err  error
}

func (e *FileError) Error() string { return fmt.Sprintf("file %q: %v", e.File, e.Err) }
func (e *FileError) Unwrap() error { return e.Err }

// maxPageBytes bounds a page by its records' bytes, beside the batch of
// records: the pages read ahead, the one being transformed and those the
// rows of unwritten batches point into are all in memory, so pages of
// batch_size wide records (50,000 of them at 330 bytes: 16 MiB each) would
// hold hundreds of MiB.
const maxPageBytes = 1 << 20

// Pager turns the records of a run's files into pages of at most a batch
// of records (rejects count too) or maxPageBytes, each carrying the run's
// State as its Resume. One Pager serves one Read.
type Pager struct {
	batch   int
	emit    func(source.Page) error
	state   *State
	last    string // Resume of the last page emitted, or the one the read began from
	number  int
	buf     []byte // the page's JSON records, back to back
	recs    []span
	rejects []source.Reject
}

type span struct {
	start, end int
	file       string
	row        int
}

// NewPager starts a read whose checkpoint is state; resumed is the
// Resume the read began from, so an unchanged state emits no page.
func NewPager(batch int, emit func(source.Page) error, state *State, resumed string) *Pager {
	if batch < 1 {
		batch = 1000
	}
	return &Pager{batch: batch, emit: emit, state: state, last: resumed,
		buf: make([]byte, 0, 64<<10), recs: make([]span, 0, batch)}
}

// ReadFile decodes one file's bytes from fs.Position on and adds its
// records to pages, moving fs (an entry of the pager's state) along.
// At the end of the file it marks fs done. A problem with the file comes
// back as a *FileError; an error of emit or ctx as it is.
func (p *Pager) ReadFile(ctx context.Context, f *Format, name string, raw io.Reader, fs *FileState) error {
	dec, err := f.open(raw, name, fs.Position)
	if err != nil {
		return &FileError{File: name, Err: err}
	}
	for n := 0; ; n++ {
		if n&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		start := len(p.buf)
		out, row, rej, err := dec.next(p.buf)
		if err == io.EOF {
			fs.Position, fs.Done = dec.position(), true
			return nil
		}
		if err != nil {
			return &FileError{File: name, Err: err}
		}
		if rej != nil {
			p.rejects = append(p.rejects, *rej)
		} else {
			p.buf = out
			p.recs = append(p.recs, span{start, len(out), name, row})
		}
		fs.Position = dec.position()
		if len(p.recs)+len(p.rejects) >= p.batch || len(p.buf) >= maxPageBytes {
			if err := p.flush(); err != nil {
				return err
			}
		}
	}
}

// Finish emits the records still pending, or an empty page when only
// the checkpoint changed (a file finished, appeared or went away).
func (p *Pager) Finish() error {
	if len(p.recs) > 0 || len(p.rejects) > 0 || p.state.encode() != p.last && (len(p.state.Files) > 0 || p.last != "") {
		return p.flush()
	}
	return nil
}

func (p *Pager) flush() error {
	// One string for the page, sliced per record: one allocation a page.
	all := string(p.buf)
	recs := make([]source.Record, len(p.recs))
	for i, r := range p.recs {
		recs[i] = source.Record{JSON: all[r.start:r.end], File: r.file, Row: r.row}
	}
	resume := p.state.encode()
	p.number++
	page := source.Page{Number: p.number, Records: recs, Resume: resume, Total: -1, Rejects: p.rejects}
	p.buf, p.recs, p.rejects = p.buf[:0], p.recs[:0], nil
	if err := p.emit(page); err != nil {
		return err
	}
	p.last = resume
	return nil
}

// JoinFileErrors returns nil, the one error, or the errors joined.
func JoinFileErrors(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}
