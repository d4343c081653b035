package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// symlinkedFolder makes real/ with one pipeline file (and its CSV) and
// cur, a symlink to real, in a temporary folder; it returns cur's path,
// with no trailing slash.
func symlinkedFolder(t *testing.T) (dir, cur string) {
	t.Helper()
	dir = t.TempDir()
	real := filepath.Join(dir, "real")
	if err := os.Mkdir(real, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(real, "p.yaml"), []byte("version: 1\nname: symdemo\nsource: {type: file, path: data.csv}\n"+
		"entities:\n  rows:\n    primary_key: id\n    fields: {id: id}\n"), 0o644)
	os.WriteFile(filepath.Join(real, "data.csv"), []byte("id\n1\n2\n"), 0o644)
	cur = filepath.Join(dir, "cur")
	if err := os.Symlink(real, cur); err != nil {
		t.Skip("no symlinks here:", err)
	}
	return dir, cur
}

// TestSymlinkFolderExpands: a folder argument that is a symlink to a
// folder (no trailing /) gives that folder's pipeline files to lint, run
// and serve --once, as the folder itself would.
func TestSymlinkFolderExpands(t *testing.T) {
	dir, cur := symlinkedFolder(t)
	dsn := "sqlite:" + filepath.Join(dir, "x.db")
	var out, errb bytes.Buffer
	if code := run([]string{"lint", cur}, &out, &errb); code != exitOK || !strings.Contains(errb.String(), "1 file(s) ok") {
		t.Fatalf("lint %s: exit %d\n%s%s", cur, code, out.String(), errb.String())
	}
	out.Reset()
	if code := run([]string{"run", "--dest", dsn, "--quiet", cur}, &out, &errb); code != exitOK {
		t.Fatalf("run %s: exit %d\n%s%s", cur, code, out.String(), errb.String())
	}
	out.Reset()
	if run([]string{"history", "--dest", dsn, "--json"}, &out, &errb); !strings.Contains(out.String(), "symdemo") {
		t.Fatalf("run %s synced nothing: history %s", cur, out.String())
	}
	out.Reset()
	if code := run([]string{"serve", "--once", "--dest", dsn, "--log-level", "error", "--dir", cur}, &out, &errb); code != exitOK || !strings.Contains(out.String(), "symdemo") {
		t.Fatalf("serve --once --dir %s: exit %d\n%s%s", cur, code, out.String(), errb.String())
	}
}

// TestEmptyFolderIsAnError: a folder argument with no pipeline file in it
// is a mistake (a wrong path, a dangling mount), not a clean run.
func TestEmptyFolderIsAnError(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o755)
	os.WriteFile(filepath.Join(empty, "notes.txt"), []byte("not a pipeline"), 0o644)
	dsn := "sqlite:" + filepath.Join(dir, "x.db")
	for _, args := range [][]string{
		{"lint", empty},
		{"run", "--dest", dsn, empty},
		{"serve", "--once", "--dest", dsn, "--dir", empty},
	} {
		var out, errb bytes.Buffer
		if code := run(args, &out, &errb); code == exitOK {
			t.Errorf("%v: exit 0 for a folder without pipeline files\n%s", args, errb.String())
		} else if !strings.Contains(errb.String(), empty) || !strings.Contains(errb.String(), "no pipeline files") {
			t.Errorf("%v: the message does not name the folder:\n%s", args, errb.String())
		}
	}
}

// TestLintTreeFollowsSymlinkedSubfolders: lint walking a tree enters a
// sub-folder that is a symlink, and a symlink back up is no loop.
func TestLintTreeFollowsSymlinkedSubfolders(t *testing.T) {
	dir, _ := symlinkedFolder(t)
	top := filepath.Join(dir, "repo")
	os.Mkdir(top, 0o755)
	if err := os.Symlink(filepath.Join(dir, "real"), filepath.Join(top, "linked")); err != nil {
		t.Fatal(err)
	}
	os.Symlink("..", filepath.Join(dir, "real", "up")) // real/up -> dir: a loop through repo/linked
	var out, errb bytes.Buffer
	if code := run([]string{"lint", "--format", "json", top}, &out, &errb); code != exitOK {
		t.Fatalf("lint %s: exit %d\n%s%s", top, code, out.String(), errb.String())
	}
	out.Reset()
	errb.Reset()
	run([]string{"lint", top}, &out, &errb)
	if !strings.Contains(errb.String(), "1 file(s) ok") {
		t.Fatalf("lint %s: want the one pipeline of the symlinked sub-folder: %s%s", top, out.String(), errb.String())
	}
}
