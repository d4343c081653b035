package serve

import (
	"context"
	"fmt"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Watch reloads the folder whenever something in it changes, once the
// folder has been quiet for the debounce delay. It watches the folder,
// not the files: editors that save by writing a new file and renaming it
// over the old one, and Kubernetes ConfigMaps (whose files are symlinks
// through a ..data symlink that is swapped), change entries of the
// folder, and every change leads to a rescan that compares contents.
// Watch returns when ctx ends, or at once with an error when the folder
// cannot be watched (SIGHUP still reloads).
func (s *Scheduler) Watch(ctx context.Context) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watching %q: %w", s.o.Dir, err)
	}
	defer w.Close()
	if err := w.Add(s.o.Dir); err != nil {
		return fmt.Errorf("watching %q: %w", s.o.Dir, err)
	}
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
			quiet.Reset(s.o.Debounce)
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			// An overflow loses events: rescan to be sure.
			s.log.Warn("watching the pipeline folder: "+err.Error()+"; rescanning it", "dir", s.o.Dir)
			quiet.Reset(s.o.Debounce)
		case <-quiet.C:
			s.log.Debug("the pipeline folder changed: rescanning", "dir", s.o.Dir)
			s.Reload(false)
		}
	}
}
