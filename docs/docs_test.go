// Package docs holds the user documentation (Markdown); its tests check that
// the README and every page under docs/ link only to files and headings that
// exist, and that every shipped pipeline has a page naming its variables.
package docs

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"unicode"
)

// root is the repository root, seen from this package.
const root = ".."

// pages lists README.md and every .md file under docs/, relative to root.
func pages(t *testing.T) []string {
	t.Helper()
	files := []string{"README.md"}
	err := filepath.WalkDir(filepath.Join(root, "docs"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasSuffix(p, ".md") {
			rel, _ := filepath.Rel(root, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// line is one line of a page outside fenced code blocks, with its number.
type line struct {
	n    int
	text string
}

// prose returns the lines of a Markdown page that are not inside ``` or ~~~
// fences, with HTML comments (not rendered) blanked out.
func prose(text string) []line {
	text = commentRE.ReplaceAllStringFunc(text, func(c string) string {
		return strings.Repeat("\n", strings.Count(c, "\n"))
	})
	var out []line
	fence := ""
	for i, l := range strings.Split(text, "\n") {
		t := strings.TrimLeft(l, " ")
		if fence == "" && (strings.HasPrefix(t, "```") || strings.HasPrefix(t, "~~~")) {
			fence = t[:3]
			continue
		}
		if fence != "" {
			if strings.HasPrefix(t, fence) {
				fence = ""
			}
			continue
		}
		out = append(out, line{i + 1, l})
	}
	return out
}

var (
	headingRE    = regexp.MustCompile(`^#{1,6}\s+(.*?)\s*#*\s*$`)
	inlineCodeRE = regexp.MustCompile("`[^`]*`")
	linkRE       = regexp.MustCompile(`\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	textLinkRE   = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`)
	anchorTagRE  = regexp.MustCompile(`<a\s+(?:name|id)="([^"]+)"`)
	commentRE    = regexp.MustCompile(`(?s)<!--.*?-->`)
)

// slug is GitHub's anchor for a heading: lower case, links reduced to their
// text, every character but letters, digits, spaces, hyphens and underscores
// dropped, spaces turned into hyphens.
func slug(heading string) string {
	heading = textLinkRE.ReplaceAllString(heading, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case unicode.IsLetter(r), unicode.IsDigit(r), r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

// anchors returns the set of #anchors a page defines: one per heading (the
// second heading of a name gets -1, the third -2, as on GitHub) and any
// <a name="…"> tags.
func anchors(text string) map[string]bool {
	set := map[string]bool{}
	seen := map[string]int{}
	for _, l := range prose(text) {
		if m := headingRE.FindStringSubmatch(l.text); m != nil {
			s := slug(m[1])
			if n := seen[s]; n > 0 {
				set[fmt.Sprintf("%s-%d", s, n)] = true
			} else {
				set[s] = true
			}
			seen[s]++
		}
		for _, m := range anchorTagRE.FindAllStringSubmatch(l.text, -1) {
			set[m[1]] = true
		}
	}
	return set
}

// TestDocLinks: every relative link in README.md and docs/**/*.md reaches a
// file or folder that exists, and every #anchor a heading of its page.
func TestDocLinks(t *testing.T) {
	texts := map[string]string{}
	for _, p := range pages(t) {
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		texts[p] = string(b)
	}
	anchorsOf := map[string]map[string]bool{}
	for p, text := range texts {
		anchorsOf[p] = anchors(text)
	}
	links := 0
	for _, p := range sortedKeys(texts) {
		for _, l := range prose(texts[p]) {
			s := inlineCodeRE.ReplaceAllString(l.text, "")
			for _, m := range linkRE.FindAllStringSubmatch(s, -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				links++
				file, anchor, _ := strings.Cut(target, "#")
				dest := p
				if file != "" {
					dest = filepath.ToSlash(filepath.Clean(filepath.Join(filepath.Dir(p), file)))
					if strings.HasPrefix(dest, "../") {
						t.Errorf("%s:%d: link %q leaves the repository", p, l.n, target)
						continue
					}
					if _, err := os.Stat(filepath.Join(root, dest)); err != nil {
						t.Errorf("%s:%d: link %q: no file %s", p, l.n, target, dest)
						continue
					}
				}
				if anchor == "" {
					continue
				}
				set, ok := anchorsOf[dest]
				if !ok {
					t.Errorf("%s:%d: link %q: an anchor into %s, which is not a Markdown page", p, l.n, target, dest)
					continue
				}
				if !set[anchor] {
					t.Errorf("%s:%d: link %q: %s has no heading #%s", p, l.n, target, dest, anchor)
				}
			}
		}
	}
	if links < 50 {
		t.Fatalf("only %d relative links found: is the link pattern still right?", links)
	}
}

func TestSlug(t *testing.T) {
	for _, c := range []struct{ heading, want string }{
		{"HTTP sources (`type: http`)", "http-sources-type-http"},
		{"How a sync runs, and why nothing is lost or doubled", "how-a-sync-runs-and-why-nothing-is-lost-or-doubled"},
		{"crmsync's own tables", "crmsyncs-own-tables"},
		{"Files: `type: file` and `type: github`", "files-type-file-and-type-github"},
		{"`crmsync run`", "crmsync-run"},
		{"The shipped pipelines (`pipelines/`)", "the-shipped-pipelines-pipelines"},
		{"When a value is invalid: `on_invalid`", "when-a-value-is-invalid-on_invalid"},
		{"See [the guide](x.md) now", "see-the-guide-now"},
	} {
		if got := slug(c.heading); got != c.want {
			t.Errorf("slug(%q) = %q, want %q", c.heading, got, c.want)
		}
	}
	got := anchors("# A\n## B\n```\n# not a heading\n```\n## B\n<!--\n## Hidden\n-->\n## B\n")
	for _, want := range []string{"a", "b", "b-1", "b-2"} {
		if !got[want] {
			t.Errorf("anchors: %s missing from %v", want, got)
		}
	}
	if got["not-a-heading"] || got["hidden"] {
		t.Errorf("a comment inside a code block, or a heading inside an HTML comment, counted as a heading: %v", got)
	}
}

var envRE = regexp.MustCompile(`\$\{env:([A-Za-z_][A-Za-z0-9_]*)`)

// TestPipelinePages: every shipped pipeline (pipelines/*.yaml) has a page
// docs/pipelines/<name>.md that names each environment variable the file
// reads, and the pipelines index links to it.
func TestPipelinePages(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(root, "pipelines", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no shipped pipelines found (%v)", err)
	}
	index, err := os.ReadFile(filepath.Join(root, "docs", "pipelines", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		page := filepath.Join(root, "docs", "pipelines", name+".md")
		doc, err := os.ReadFile(page)
		if err != nil {
			t.Errorf("pipelines/%s.yaml has no page docs/pipelines/%s.md", name, name)
			continue
		}
		if !strings.Contains(string(index), "("+name+".md)") {
			t.Errorf("docs/pipelines/README.md does not link to %s.md", name)
		}
		yaml, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range envRE.FindAllStringSubmatch(string(yaml), -1) {
			if !strings.Contains(string(doc), "`"+m[1]+"`") {
				t.Errorf("docs/pipelines/%s.md does not name the variable %s that pipelines/%s.yaml reads", name, m[1], name)
			}
		}
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestReadmeCommands: the README's two set-up commands are still there, and
// still targets of the Makefile (CI runs the second, .ci/run).
func TestReadmeCommands(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	makefile, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	ci, err := os.ReadFile(filepath.Join(root, ".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"demo", "test"} {
		if !regexp.MustCompile("(?m)^## The two commands\n\n```sh\n(?:.*\n)*?make " + target + " ").Match(readme) {
			t.Errorf("README.md's \"The two commands\" block no longer shows make %s", target)
		}
		if !regexp.MustCompile(`(?m)^` + target + `:`).Match(makefile) {
			t.Errorf("the Makefile has no %s target, which the README tells newcomers to run", target)
		}
	}
	if !regexp.MustCompile(`(?m)^make test$`).Match(ci) {
		t.Errorf(".ci/run no longer runs the README's test command, make test")
	}
}
