package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/crmsync/crmsync/engine/config"
	"github.com/crmsync/crmsync/engine/diag"
	"github.com/crmsync/crmsync/engine/source"
	"go.yaml.in/yaml/v3"
)

// Options control loading.
type Options struct {
	// Profile names the environments: entry to apply (--env).
	Profile string
	// LookupEnv and ReadFile default to the os package.
	LookupEnv func(string) (string, bool)
	ReadFile  func(string) ([]byte, error)
	// Command-line settings, winning over the file and the environment.
	BatchSize  int
	MaxRecords *int
	// Partitions (run --partitions N) splits the full reads of every
	// entity that can be partitioned (sql, upsert, a one-column key, no
	// parent) into N, over what the file says.
	Partitions int
	// StrictEnv makes an unset ${env:…} without a default an error, as it
	// must be for run and serve (lint keeps it a warning so CI can lint
	// without secrets).
	StrictEnv bool
	// StrictLint adds the findings that are advice rather than problems
	// (lint --strict): a primary key field without required.
	StrictLint bool
}

// LoadFile reads and compiles one pipeline file.
func LoadFile(path string, o Options) (*Plan, diag.List) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, diag.List{{File: path, Line: 1, Column: 1, Severity: diag.Error, Code: "io", Message: "cannot read the file: " + plainIOError(err)}}
	}
	return Load(path, data, o)
}

func plainIOError(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}

// Load compiles a pipeline file's content. It returns the plan (nil when
// any finding is an error) and every finding, sorted by position.
func Load(file string, data []byte, o Options) (*Plan, diag.List) {
	d := config.Parse(file, data, config.Options{Profile: o.Profile, LookupEnv: o.LookupEnv, ReadFile: o.ReadFile, StrictEnv: o.StrictEnv,
		SettingsTypes: source.SettingsTypes})
	if d.Root == nil || d.Findings().HasErrors() && hasCode(d.Findings(), "yaml-syntax", "unknown-profile") {
		return nil, d.Findings().Sort()
	}
	bad := checkSchema(d)
	if blocksCompile(bad) {
		return nil, d.Findings().Sort()
	}
	p, err := source.Decode(d)
	if err != nil && len(bad) == 0 {
		// The schema passed, so this is ours, not the user's.
		d.Addf("", diag.Error, "internal", "%v", err)
		return nil, d.Findings().Sort()
	}
	plan := compile(d, p, bad, o)
	fs := d.Findings().Sort()
	if fs.HasErrors() {
		return nil, fs
	}
	return plan, fs
}

func hasCode(l diag.List, codes ...string) bool {
	for _, f := range l {
		if slices.Contains(codes, f.Code) {
			return true
		}
	}
	return false
}

// blocksCompile: a file whose top level is broken (not a mapping, no
// entities) leaves nothing to compile. Other schema errors only stop what
// they are in: an entity, or the source's part of every entity.
func blocksCompile(bad []string) bool {
	for _, p := range bad {
		if p == "/entities" {
			return true
		}
	}
	return false
}

// hashOf identifies the resolved document.
func hashOf(d *config.Document) string {
	b, _ := json.Marshal(d.Value())
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:6])
}

// Expand turns files and folders into the list of pipeline files: a
// folder gives its *.yaml and *.yml files (not recursive), sorted. A
// folder, or a symlink to one, that holds no pipeline file is an error:
// it is a wrong path far more often than an intent.
func Expand(paths []string) ([]string, error) { return expand(paths, false, true) }

// ExpandTree is Expand that also walks sub-folders, keeping the YAML
// files that look like pipelines (IsPipeline): `crmsync lint .` checks a
// whole repository without tripping over fixtures or CI files.
func ExpandTree(paths []string) ([]string, error) { return expand(paths, true, true) }

// ListDir is the pipeline files of one folder (or symlink to a folder),
// as Expand gives them, with an empty folder an empty list: serve's
// folder may be empty for a while. The paths keep dir as their prefix,
// so a folder reached through a symlink that is re-pointed keeps its
// file names.
func ListDir(dir string) ([]string, error) { return expand([]string{dir}, false, false) }

func expand(paths []string, tree, needFiles bool) ([]string, error) {
	var out []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %s", p, plainIOError(err))
		}
		if !st.IsDir() {
			out = append(out, p)
			continue
		}
		files, err := expandDir(p, tree)
		if err != nil {
			return nil, fmt.Errorf("%s: %s", p, plainIOError(err))
		}
		if needFiles && len(files) == 0 {
			return nil, fmt.Errorf("%s: no pipeline files (*.yaml, *.yml) in the folder", p)
		}
		out = append(out, files...)
	}
	return out, nil
}

// expandDir lists one folder. A symlink to a folder is walked as the
// folder it points to (filepath.WalkDir would not enter it), the paths
// named through the symlink; walking a tree, so is a sub-folder that is
// a symlink, once per real folder (a link back up is no loop).
func expandDir(p string, tree bool) ([]string, error) {
	return walkDir(p, tree, true, map[string]bool{})
}

func walkDir(p string, tree, top bool, visited map[string]bool) ([]string, error) {
	root, err := filepath.EvalSymlinks(p)
	if err != nil {
		return nil, err
	}
	if visited[root] {
		return nil, nil
	}
	visited[root] = true
	var out []string
	err = filepath.WalkDir(root, func(path string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		n := e.Name()
		if e.IsDir() {
			if path != root && (!tree || strings.HasPrefix(n, ".")) {
				return filepath.SkipDir
			}
			if path != root && visited[path] {
				return filepath.SkipDir
			}
			visited[path] = true
			return nil
		}
		if strings.HasPrefix(n, ".") {
			return nil
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		if tree && e.Type()&os.ModeSymlink != 0 {
			if st, err := os.Stat(path); err == nil && st.IsDir() {
				sub, err := walkDir(filepath.Join(p, rel), tree, false, visited)
				out = append(out, sub...)
				return err
			}
		}
		if ext := filepath.Ext(n); ext != ".yaml" && ext != ".yml" {
			return nil
		}
		if tree && (!top || filepath.Dir(path) != filepath.Clean(root)) {
			data, err := os.ReadFile(path)
			if err != nil || !IsPipeline(data) {
				return nil
			}
		}
		out = append(out, filepath.Join(p, rel))
		return nil
	})
	return out, err
}

// IsYAML reports whether content parses as YAML.
func IsYAML(data []byte) bool {
	var n yaml.Node
	return yaml.Unmarshal(data, &n) == nil
}

// IsPipeline reports whether YAML content looks like a pipeline file (a
// top-level version and source, or entities), for folders that mix in
// other YAML.
func IsPipeline(data []byte) bool {
	var n yaml.Node
	if yaml.Unmarshal(data, &n) != nil || len(n.Content) == 0 {
		return false
	}
	top := n.Content[0]
	return config.Lookup(top, "entities") != nil || (config.Lookup(top, "version") != nil && config.Lookup(top, "source") != nil)
}
