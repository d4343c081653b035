package authoring

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tidwall/gjson"
)

// The fixtures of a pipeline live in a folder beside it (hubspot.yaml →
// hubspot.fixtures/), one sub-folder per entity:
//
//	hubspot.fixtures/contacts/001.request.json   the first request: method, path?query, headers, body
//	hubspot.fixtures/contacts/001.response.json  its response: status, headers, body
//	hubspot.fixtures/contacts/002.request.json   …
//	hubspot.fixtures/contacts/expected.jsonl     the mapped records, one JSON object a line
const (
	ExpectedFile   = "expected.jsonl"
	requestSuffix  = ".request.json"
	responseSuffix = ".response.json"
)

// Fixture is one recorded exchange and the name of its files.
type Fixture struct {
	Name     string // "001"
	Request  Request
	Response Response
}

// DefaultFixturesDir is the fixtures folder of a pipeline file.
func DefaultFixturesDir(pipelineFile string) string {
	ext := filepath.Ext(pipelineFile)
	return strings.TrimSuffix(pipelineFile, ext) + ".fixtures"
}

// WriteFixtures replaces the exchanges stored in dir (one entity's
// folder) by the successful ones of list; failed tries that were retried
// are left out, so a replay never waits.
func WriteFixtures(dir string, list []Exchange) (int, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, fmt.Errorf("writing fixtures: %w", err)
	}
	old, err := fixtureFiles(dir)
	if err != nil {
		return 0, err
	}
	for _, f := range old {
		if err := os.Remove(filepath.Join(dir, f)); err != nil {
			return 0, fmt.Errorf("writing fixtures: %w", err)
		}
	}
	n := 0
	for _, x := range list {
		if !x.OK() {
			continue
		}
		n++
		name := fmt.Sprintf("%03d", n)
		req := x.Request
		req.URL = pathQuery(req.URL)
		if err := writeJSON(filepath.Join(dir, name+requestSuffix), req); err != nil {
			return 0, err
		}
		if err := writeJSON(filepath.Join(dir, name+responseSuffix), x.Response); err != nil {
			return 0, err
		}
	}
	return n, nil
}

// LoadFixtures reads one entity's recorded exchanges, in order.
func LoadFixtures(dir string) ([]Fixture, error) {
	files, err := fixtureFiles(dir)
	if err != nil {
		return nil, err
	}
	var out []Fixture
	for _, f := range files {
		name, ok := strings.CutSuffix(f, requestSuffix)
		if !ok {
			continue
		}
		fx := Fixture{Name: name}
		if err := readJSON(filepath.Join(dir, f), &fx.Request); err != nil {
			return nil, err
		}
		if err := readJSON(filepath.Join(dir, name+responseSuffix), &fx.Response); err != nil {
			return nil, err
		}
		// Served and compared as compact JSON, as they were received.
		fx.Request.Body, fx.Response.Body = compactJSON(fx.Request.Body), compactJSON(fx.Response.Body)
		out = append(out, fx)
	}
	return out, nil
}

func compactJSON(b json.RawMessage) json.RawMessage {
	if b == nil {
		return nil
	}
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return b
	}
	return buf.Bytes()
}

// fixtureFiles lists the NNN.request.json and NNN.response.json files of dir, sorted.
func fixtureFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading fixtures: %w", err)
	}
	var out []string
	for _, e := range entries {
		n := e.Name()
		if !e.IsDir() && (strings.HasSuffix(n, requestSuffix) || strings.HasSuffix(n, responseSuffix)) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out, nil
}

// writeJSON writes a fixture file: containers are spread over lines down
// to the depth of a record (file → body → results → record), and each
// record is one compact line, so fixtures stay small and diff well.
func writeJSON(path string, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	var out strings.Builder
	layout(&out, gjson.ParseBytes(bytes.TrimSpace(buf.Bytes())), 0)
	out.WriteByte('\n')
	if err := os.WriteFile(path, []byte(out.String()), 0o644); err != nil {
		return fmt.Errorf("writing fixtures: %w", err)
	}
	return nil
}

// recordDepth is the depth from which values are written on one line.
const recordDepth = 3

func layout(b *strings.Builder, v gjson.Result, depth int) {
	if (!v.IsObject() && !v.IsArray()) || depth >= recordDepth || len(v.Raw) <= 2 {
		b.WriteString(v.Raw)
		return
	}
	open, end := byte('['), byte(']')
	if v.IsObject() {
		open, end = '{', '}'
	}
	b.WriteByte(open)
	first := true
	v.ForEach(func(k, c gjson.Result) bool {
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteByte('\n')
		b.WriteString(strings.Repeat("  ", depth+1))
		if v.IsObject() {
			b.WriteString(k.Raw + ": ")
		}
		layout(b, c, depth+1)
		return true
	})
	b.WriteByte('\n')
	b.WriteString(strings.Repeat("  ", depth))
	b.WriteByte(end)
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading fixtures: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("reading fixture %s: %w", path, err)
	}
	return nil
}

// ReadExpected reads an expected-output file: one record a line.
func ReadExpected(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			lines = append(lines, l)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return lines, nil
}

// WriteExpected writes an expected-output file.
func WriteExpected(path string, lines []string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("writing expected output: %w", err)
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("writing expected output: %w", err)
	}
	return nil
}
