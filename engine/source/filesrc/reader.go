// Package filesrc reads records from local files (type: file): CSV, JSON
// lines and JSON arrays, plain or gzipped, one file or a glob. Its parsing
// and checkpointing (Format, Pager, State) also serve the github source.
package filesrc

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/crmsync/crmsync/engine/source"
)

func init() {
	source.Register(source.Kind{Name: "file", Source: (*SourceConfig)(nil), Entity: (*EntityConfig)(nil), Compile: Compile})
}

// Compile checks an entity's file settings; it does no I/O.
func Compile(spec *source.Spec) (source.Opener, []source.Problem) {
	src, _ := spec.Source.Settings.(*SourceConfig)
	f, probs := CompileFormat(spec, src)
	for _, p := range probs {
		if !p.Warning {
			return nil, probs
		}
	}
	return &opener{format: f, baseDir: spec.BaseDir, batch: spec.BatchSize}, probs
}

type opener struct {
	format  *Format
	baseDir string
	batch   int
}

func (o *opener) Open(_ context.Context, env *source.Env) (source.Reader, error) {
	log := slog.New(slog.DiscardHandler)
	if env != nil && env.Logger != nil {
		log = env.Logger
	}
	return &reader{opener: o, log: log}, nil
}

type reader struct {
	*opener
	log *slog.Logger
}

var _ source.Reader = (*reader)(nil)

// Read reads the files in name order. An unchanged file (same size and
// fingerprint, and for files over 128 KiB the same modification time,
// read to its end before) is skipped; a file that only grew is read from
// its last committed record; a rewritten one from its start.
func (r *reader) Read(ctx context.Context, st source.ReadState, emit func(source.Page) error) error {
	old, err := ParseState(st.Resume)
	if err != nil {
		r.log.Warn("file source: the checkpoint is unreadable; reading every file from its start", "error", err)
	}
	files, err := listFiles(r.baseDir, r.format.Path)
	switch {
	case err != nil:
		return err
	case len(files) == 0:
		r.log.Warn("file source: no file matches the path", "path", r.format.Path)
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.name
	}
	// Entries of files not read yet this run are kept, so a kill half way
	// through does not forget them.
	state := old.Keep(names)
	pg := NewPager(r.batch, emit, state, st.Resume)
	var fileErrs []error
	for _, f := range files {
		err := r.readFile(ctx, pg, state, f)
		var fe *FileError
		if errors.As(err, &fe) {
			// A warning: the other files are still read, and the sync fails at
			// the end with every broken file in its one ERROR line.
			r.log.Warn("file source: a file could not be read to its end", "file", fe.File, "error", fe.Err)
			fileErrs = append(fileErrs, err)
			continue
		}
		if err != nil {
			return err
		}
	}
	if err := pg.Finish(); err != nil {
		return err
	}
	return JoinFileErrors(fileErrs)
}

func (r *reader) readFile(ctx context.Context, pg *Pager, state *State, ref fileRef) error {
	fh, err := os.Open(ref.path)
	if err != nil {
		return &FileError{File: ref.name, Err: err}
	}
	defer fh.Close()
	info, err := fh.Stat()
	if err != nil {
		return &FileError{File: ref.name, Err: err}
	}
	size := info.Size()
	hash, err := Fingerprint(fh, size)
	if err != nil {
		return &FileError{File: ref.name, Err: err}
	}
	mtime := info.ModTime().UTC().Format(time.RFC3339Nano)
	var from Position
	if prev := state.Get(ref.name); prev != nil && size >= prev.Size {
		same := hash == prev.Hash
		if size > prev.Size {
			h, err := Fingerprint(fh, prev.Size)
			if err != nil {
				return &FileError{File: ref.name, Err: err}
			}
			same = h == prev.Hash
		} else if size > 2*sample && mtime != prev.MTime {
			// The fingerprint of a big file samples its ends; a same-size
			// edit in the middle shows only in the modification time.
			same = false
		}
		switch {
		case same && size == prev.Size && prev.Done:
			r.log.Debug("file source: unchanged, skipped", "file", ref.name)
			return nil
		case same:
			from = prev.Position
			r.log.Debug("file source: resuming", "file", ref.name, "line", from.Line)
		}
	}
	fs := &FileState{Name: ref.name, Size: size, MTime: mtime, Hash: hash, Position: from}
	state.Put(fs)
	// Read only the bytes fingerprinted, so the checkpoint describes
	// exactly what was read even if the file grows meanwhile.
	return pg.ReadFile(ctx, r.format, ref.name, io.NewSectionReader(fh, 0, size), fs)
}

// Local implements source.Local: a file source reads local files only.
func (o *opener) Local() bool { return true }
