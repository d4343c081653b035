package filesrc

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// fileRef is one file to read: its name in records and checkpoints (the
// path under the glob's root, with slashes) and where it is on disk.
type fileRef struct {
	name, path string
}

// listFiles expands a path relative to base: a file, a directory (the
// files directly in it), or a glob where * ? [..] match within a name and
// a ** segment matches any number of folders. Files come in name order.
func listFiles(base, pattern string) ([]fileRef, error) {
	p := filepath.FromSlash(pattern)
	if !filepath.IsAbs(p) {
		p = filepath.Join(base, p)
	}
	if !hasMeta(pattern) {
		info, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if !info.IsDir() {
			return []fileRef{{name: filepath.Base(p), path: p}}, nil
		}
		pattern, p = path.Join(pattern, "*"), filepath.Join(p, "*")
	}
	// The root is the longest leading run of folders without a pattern.
	segs := strings.Split(filepath.ToSlash(p), "/")
	i := 0
	for i < len(segs) && !hasMeta(segs[i]) {
		i++
	}
	root := filepath.FromSlash(strings.Join(segs[:i], "/"))
	if root == "" {
		root = "/"
	}
	rest := segs[i:]
	var out []fileRef
	err := filepath.WalkDir(root, func(fp string, d fs.DirEntry, err error) error {
		if err != nil {
			if fp == root {
				if errors.Is(err, fs.ErrNotExist) {
					return filepath.SkipAll // no folder, no match
				}
				return err
			}
			return nil // an unreadable folder below the root is skipped
		}
		rel, _ := filepath.Rel(root, fp)
		if rel == "." {
			return nil
		}
		parts := strings.Split(filepath.ToSlash(rel), "/")
		if d.IsDir() {
			if !couldMatch(rest, parts) {
				return filepath.SkipDir
			}
			return nil
		}
		if matchSegs(rest, parts) && (d.Type().IsRegular() || d.Type()&fs.ModeSymlink != 0 && isFile(fp)) {
			out = append(out, fileRef{name: filepath.ToSlash(rel), path: fp})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing %q: %w", pattern, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

func isFile(p string) bool {
	info, err := os.Stat(p)
	return err == nil && info.Mode().IsRegular()
}

func hasMeta(s string) bool { return strings.ContainsAny(s, "*?[") }

// matchSegs matches path segments against pattern segments; "**" takes
// zero or more segments.
func matchSegs(pat, parts []string) bool {
	if len(pat) == 0 {
		return len(parts) == 0
	}
	if pat[0] == "**" {
		if matchSegs(pat[1:], parts) {
			return true
		}
		return len(parts) > 0 && matchSegs(pat, parts[1:])
	}
	if len(parts) == 0 {
		return false
	}
	ok, _ := path.Match(pat[0], parts[0])
	return ok && matchSegs(pat[1:], parts[1:])
}

// couldMatch reports whether files below the folder dir may match, so
// the walk skips folders that cannot.
func couldMatch(pat, dir []string) bool {
	for i, d := range dir {
		if i >= len(pat) {
			return false
		}
		if pat[i] == "**" {
			return true
		}
		if ok, _ := path.Match(pat[i], d); !ok {
			return false
		}
	}
	return len(pat) > len(dir)
}
