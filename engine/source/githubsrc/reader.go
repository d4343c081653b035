package githubsrc

import (
	"context"
	"errors"
	"log/slog"
	"path"
	"sort"
	"strings"

	"github.com/crmsync/crmsync/engine/source"
	"github.com/crmsync/crmsync/engine/source/filesrc"
)

type reader struct {
	*settings
	client *client
	log    *slog.Logger
}

var (
	_ source.Reader        = (*reader)(nil)
	_ source.StatsReporter = (*reader)(nil)
)

// Stats counts API calls, retries and time spent waiting for rate limits.
func (r *reader) Stats() source.Stats {
	r.client.mu.Lock()
	defer r.client.mu.Unlock()
	return r.client.stats
}

// Read lists the files, skips those whose blob sha is the one already
// read to the end, resumes one read part way at its last committed row,
// and reads the others from the start.
func (r *reader) Read(ctx context.Context, st source.ReadState, emit func(source.Page) error) error {
	old, err := filesrc.ParseState(st.Resume)
	if err != nil {
		r.log.Warn("github source: the checkpoint is unreadable; reading every file from its start", "error", err)
	}
	files, err := r.list(ctx)
	if err != nil {
		return err
	}
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.Name
	}
	state := old.Keep(names)
	pg := filesrc.NewPager(r.batch, emit, state, st.Resume)
	var fileErrs []error
	for _, f := range files {
		var from filesrc.Position
		if prev := state.Get(f.Name); prev != nil && prev.SHA == f.SHA {
			if prev.Done {
				r.log.Debug("github source: unchanged, not downloaded", "file", f.Path, "sha", f.SHA)
				continue
			}
			from = prev.Position
		}
		fs := &filesrc.FileState{Name: f.Name, Size: f.Size, SHA: f.SHA, Position: from}
		state.Put(fs)
		err := r.readFile(ctx, pg, f, fs)
		var fe *filesrc.FileError
		if errors.As(err, &fe) {
			r.log.Error("github source: a file could not be read to its end", "file", f.Path, "error", fe.Err)
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
	return filesrc.JoinFileErrors(fileErrs)
}

// readFile downloads and parses one file. A download cut short is sent
// again and read on from the last record taken.
func (r *reader) readFile(ctx context.Context, pg *filesrc.Pager, f entry, fs *filesrc.FileState) error {
	for attempt := 1; ; attempt++ {
		body, err := r.client.download(ctx, f)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return &filesrc.FileError{File: f.Name, Err: err}
		}
		err = pg.ReadFile(ctx, r.format, f.Name, body, fs)
		body.Close()
		var re *filesrc.ReadError
		if errors.As(err, &re) && attempt < r.attempts && ctx.Err() == nil {
			r.log.Warn("github source: download cut short; downloading again", "file", f.Path, "line", fs.Line, "error", r.client.redact(re.Err.Error()))
			if err := r.client.pause(ctx, attempt); err != nil {
				return err
			}
			continue
		}
		return err
	}
}

// list finds the files of the path: one file, the files of a folder, or
// the files of a folder whose names match the last part's pattern.
func (r *reader) list(ctx context.Context) ([]entry, error) {
	dir, name := splitPath(r.format.Path)
	ents, err := r.client.listDir(ctx, dir)
	var nf *NotFoundError
	if errors.As(err, &nf) {
		// Name the path the user wrote, not its folder.
		return nil, r.client.notFound(r.format.Path)
	}
	if err != nil {
		return nil, err
	}
	var out []entry
	switch {
	case strings.ContainsAny(name, "*?["):
		for _, e := range ents {
			if ok, _ := path.Match(name, e.Name); ok && e.Type == "file" {
				out = append(out, e)
			}
		}
		if len(out) == 0 {
			r.log.Warn("github source: no file matches the path", "repo", r.owner+"/"+r.repo, "path", r.format.Path)
		}
	case name == "":
		out = files(ents)
	default:
		for _, e := range ents {
			if e.Name != name {
				continue
			}
			switch e.Type {
			case "file":
				out = []entry{e}
			case "dir":
				sub, err := r.client.listDir(ctx, e.Path)
				if err != nil {
					return nil, err
				}
				out = files(sub)
			default:
				return nil, r.client.notFound(r.format.Path)
			}
		}
		if out == nil {
			return nil, r.client.notFound(r.format.Path)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func files(ents []entry) []entry {
	var out []entry
	for _, e := range ents {
		if e.Type == "file" {
			out = append(out, e)
		}
	}
	if out == nil {
		out = []entry{}
	}
	return out
}
