package serve

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReloadSymlinkedDirSwap: --dir is a symlink to a folder, and a
// deploy swaps the whole folder by re-pointing it (ln -sfn new cur: a new
// symlink renamed over the old one). No event happens inside the folder
// being watched; the swap must still be picked up without SIGHUP, and
// edits inside the new folder after it.
func TestReloadSymlinkedDirSwap(t *testing.T) {
	base := t.TempDir()
	alpha := httpPipeline("alpha", "http://127.0.0.1:1", "", "items")
	for _, v := range []string{"v1", "v2"} {
		must(t, os.Mkdir(filepath.Join(base, v), 0o755))
	}
	must(t, os.WriteFile(filepath.Join(base, "v1", "a.yaml"), []byte(alpha), 0o644))
	alpha2 := strings.Replace(alpha, "name: name", "name: {path: name, type: string}", 1)
	must(t, os.WriteFile(filepath.Join(base, "v2", "a.yaml"), []byte(alpha2), 0o644))
	must(t, os.WriteFile(filepath.Join(base, "v2", "b.yaml"), []byte(httpPipeline("beta", "http://127.0.0.1:1", "", "items")), 0o644))
	cur := filepath.Join(base, "cur")
	must(t, os.Symlink("v1", cur))

	s, log := newScheduler(t, cur, Options{Debounce: 50 * time.Millisecond})
	if problems := s.Reload(true); len(problems) != 0 {
		t.Fatal(problems)
	}
	h1 := pipelineHash(s, "alpha")
	if h1 == "" {
		t.Fatal("alpha not loaded through the symlinked folder")
	}
	startWatch(t, s, log)
	// startWatch removes its probe file: let that rescan pass, so that it
	// cannot be the one that finds the swap.
	n := log.count("rescanning")
	eventually(t, 5*time.Second, "the probe's removal is not rescanned", func() bool { return log.count("rescanning") > n })

	// ln -sfn v2 cur
	must(t, os.Symlink("v2", filepath.Join(base, ".cur.tmp")))
	must(t, os.Rename(filepath.Join(base, ".cur.tmp"), cur))
	eventually(t, 5*time.Second, "the re-pointed folder symlink is not picked up", func() bool {
		h := pipelineHash(s, "alpha")
		return h != "" && h != h1 && pipelineHash(s, "beta") != ""
	})
	if st := s.Status(); len(st.Files) != 2 || st.Files[0].File != filepath.Join(cur, "a.yaml") {
		t.Fatalf("files %+v: want a.yaml and b.yaml named through %s", st.Files, cur)
	}

	// The watch follows the swap: an edit in the new folder is seen, and
	// one in the old folder is not ours any more.
	h2 := pipelineHash(s, "alpha")
	must(t, os.WriteFile(filepath.Join(base, "v1", "c.yaml"), []byte(httpPipeline("gamma", "http://127.0.0.1:1", "", "items")), 0o644))
	writeAtomic(t, filepath.Join(base, "v2", "a.yaml"), strings.Replace(alpha2, "      name:", "      email: email\n      name:", 1))
	eventually(t, 5*time.Second, "an edit in the new folder is not picked up", func() bool {
		h := pipelineHash(s, "alpha")
		return h != "" && h != h2
	})
	if pipelineHash(s, "gamma") != "" {
		t.Fatal("a file of the old folder was loaded after the swap")
	}
}

// TestReloadSymlinkFurtherUp: the symlink that is re-pointed is not --dir
// itself but a folder above it (--dir current/pipelines, current ->
// releases/1). No watched folder sees it change; the periodic resolve of
// the path does.
func TestReloadSymlinkFurtherUp(t *testing.T) {
	defer func(d time.Duration) { resolveEvery = d }(resolveEvery)
	resolveEvery = 100 * time.Millisecond
	base := t.TempDir()
	alpha := httpPipeline("alpha", "http://127.0.0.1:1", "", "items")
	for _, v := range []string{"r1", "r2"} {
		must(t, os.MkdirAll(filepath.Join(base, v, "pipelines"), 0o755))
	}
	must(t, os.WriteFile(filepath.Join(base, "r1", "pipelines", "a.yaml"), []byte(alpha), 0o644))
	must(t, os.WriteFile(filepath.Join(base, "r2", "pipelines", "a.yaml"),
		[]byte(strings.Replace(alpha, "name: name", "name: {path: name, type: string}", 1)), 0o644))
	must(t, os.Symlink("r1", filepath.Join(base, "current")))
	dir := filepath.Join(base, "current", "pipelines")

	s, log := newScheduler(t, dir, Options{Debounce: 50 * time.Millisecond})
	if problems := s.Reload(true); len(problems) != 0 {
		t.Fatal(problems)
	}
	h1 := pipelineHash(s, "alpha")
	startWatch(t, s, log)
	n := log.count("rescanning")
	eventually(t, 5*time.Second, "the probe's removal is not rescanned", func() bool { return log.count("rescanning") > n })

	must(t, os.Symlink("r2", filepath.Join(base, ".current.tmp")))
	must(t, os.Rename(filepath.Join(base, ".current.tmp"), filepath.Join(base, "current")))
	eventually(t, 5*time.Second, "a re-pointed symlink above --dir is not picked up", func() bool {
		h := pipelineHash(s, "alpha")
		return h != "" && h != h1
	})
}
