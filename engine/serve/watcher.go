package serve

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// resolveEvery (a variable for tests) is how often Watch checks where the folder's path leads,
// for symlinks that the watched folders cannot see change (one further up
// the path than the folder's own parent).
var resolveEvery = 5 * time.Second

// Watch reloads the folder whenever something in it changes, once the
// folder has been quiet for the debounce delay. It watches the folder,
// not the files: editors that save by writing a new file and renaming it
// over the old one, and Kubernetes ConfigMaps (whose files are symlinks
// through a ..data symlink that is swapped), change entries of the
// folder, and every change leads to a rescan that compares contents.
//
// A folder reached through a symlink (--dir cur, cur -> releases/42) is
// watched where it really is, and the symlink's own folder is watched
// too: re-pointing the symlink (ln -sfn releases/43 cur) moves the watch
// to the new folder and rescans, without SIGHUP. The path is also
// resolved again every few seconds, for symlinks higher up.
// Watch returns when ctx ends, or at once with an error when the folder
// cannot be watched (SIGHUP still reloads).
func (s *Scheduler) Watch(ctx context.Context) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watching %q: %w", s.o.Dir, err)
	}
	defer w.Close()
	real, err := filepath.EvalSymlinks(s.o.Dir)
	if err != nil {
		return fmt.Errorf("watching %q: %w", s.o.Dir, err)
	}
	if err := w.Add(real); err != nil {
		return fmt.Errorf("watching %q: %w", s.o.Dir, err)
	}
	// The folder holding the symlink, when --dir is one: its events
	// include the symlink being replaced.
	link := ""
	if st, err := os.Lstat(s.o.Dir); err == nil && st.Mode()&os.ModeSymlink != 0 {
		if abs, err := filepath.Abs(s.o.Dir); err == nil {
			if parent := filepath.Dir(abs); w.Add(parent) == nil && parent != real {
				link = parent
			}
		}
	}
	// follow re-resolves the folder's path; when it leads elsewhere now,
	// the watch moves there and true asks for a rescan.
	follow := func() bool {
		now, err := filepath.EvalSymlinks(s.o.Dir)
		if err != nil || now == real {
			return false // dangling for a moment (unlink, then symlink), or unchanged
		}
		if real != link {
			w.Remove(real) // it may be gone already
		}
		if err := w.Add(now); err != nil {
			s.log.Warn("watching the pipeline folder where it leads now: "+err.Error(), "dir", s.o.Dir, "path", now)
			return false
		}
		s.log.Info("The pipeline folder now leads to "+now+": rescanning it", "dir", s.o.Dir, "path", now, "previous_path", real)
		real = now
		return true
	}
	tick := time.NewTicker(resolveEvery)
	defer tick.Stop()
	quiet := time.NewTimer(time.Hour)
	quiet.Stop()
	defer quiet.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if ev.Op == fsnotify.Chmod {
				continue // touch, chmod: the content is what matters
			}
			if link != "" && filepath.Dir(ev.Name) == link {
				// Something beside the symlink: only the symlink itself
				// (or a path through it) matters.
				if follow() {
					quiet.Reset(s.o.Debounce)
				}
				continue
			}
			quiet.Reset(s.o.Debounce)
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			// An overflow loses events: rescan to be sure.
			s.log.Warn("watching the pipeline folder: "+err.Error()+"; rescanning it", "dir", s.o.Dir)
			follow()
			quiet.Reset(s.o.Debounce)
		case <-tick.C:
			if follow() {
				quiet.Reset(s.o.Debounce)
			}
		case <-quiet.C:
			s.log.Debug("the pipeline folder changed: rescanning", "dir", s.o.Dir)
			s.Reload(false)
		}
	}
}
