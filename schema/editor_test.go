package schema_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine/serve"
	"github.com/crmsync/crmsync/engine/sink"
	_ "github.com/crmsync/crmsync/engine/sink/sqlite"
	"github.com/crmsync/crmsync/engine/validate"
	"github.com/crmsync/crmsync/schema"
)

// yamlLSVersion is the yaml-language-server the editor test drives: the
// server inside the VS Code YAML extension, Neovim's yamlls and others.
const yamlLSVersion = "1.25.0"

// yamlLanguageServer returns the path of a yaml-language-server installed
// with npm into the user's cache (once per version), or skips the test
// when node or npm is missing or the registry cannot be reached.
func yamlLanguageServer(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: the editor test installs yaml-language-server with npm")
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed: the editor completion test needs node and npm (apt install nodejs npm)")
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "crmsync-test", "yaml-language-server@"+yamlLSVersion)
	bin := filepath.Join(dir, "node_modules", "yaml-language-server", "bin", "yaml-language-server")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skip("npm is not installed: the editor completion test installs yaml-language-server with it")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("npm", "install", "--no-audit", "--no-fund", "--prefix", dir, "yaml-language-server@"+yamlLSVersion)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("npm install yaml-language-server@%s failed (no registry?): %v\n%s", yamlLSVersion, err, out)
	}
	return bin
}

// lspClient speaks the language server protocol over a server's stdio.
type lspClient struct {
	t      *testing.T
	in     io.WriteCloser
	mu     sync.Mutex
	nextID int
	waits  map[int]chan json.RawMessage
	config map[string]any
}

type lspMessage struct {
	ID     *json.RawMessage `json:"id,omitempty"`
	Method string           `json:"method,omitempty"`
	Params json.RawMessage  `json:"params,omitempty"`
	Result json.RawMessage  `json:"result,omitempty"`
	Error  json.RawMessage  `json:"error,omitempty"`
}

func startLSP(t *testing.T, bin string, config map[string]any) *lspClient {
	t.Helper()
	cmd := exec.Command("node", bin, "--stdio")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close(); cmd.Process.Kill(); cmd.Wait() })
	c := &lspClient{t: t, in: in, waits: map[int]chan json.RawMessage{}, config: config}
	go c.readLoop(bufio.NewReader(out))
	return c
}

func (c *lspClient) write(msg map[string]any) {
	msg["jsonrpc"] = "2.0"
	b, _ := json.Marshal(msg)
	c.mu.Lock()
	defer c.mu.Unlock()
	fmt.Fprintf(c.in, "Content-Length: %d\r\n\r\n%s", len(b), b)
}

func (c *lspClient) readLoop(r *bufio.Reader) {
	for {
		n := -1
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimSpace(line)
			if line == "" {
				break
			}
			if v, ok := strings.CutPrefix(line, "Content-Length:"); ok {
				n, _ = strconv.Atoi(strings.TrimSpace(v))
			}
		}
		if n < 0 {
			return
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			return
		}
		var m lspMessage
		if json.Unmarshal(body, &m) != nil {
			continue
		}
		switch {
		case m.ID != nil && m.Method != "":
			c.answer(m) // a request of the server's
		case m.ID != nil:
			id, _ := strconv.Atoi(string(*m.ID))
			c.mu.Lock()
			ch := c.waits[id]
			c.mu.Unlock()
			if ch != nil {
				if m.Error != nil {
					ch <- m.Error
				} else {
					ch <- m.Result
				}
			}
		}
	}
}

// answer replies to the server's own requests: workspace/configuration
// gets the settings, anything else an empty result.
func (c *lspClient) answer(m lspMessage) {
	var result any
	if m.Method == "workspace/configuration" {
		var p struct {
			Items []struct{ Section string } `json:"items"`
		}
		json.Unmarshal(m.Params, &p)
		out := make([]any, len(p.Items))
		for i, it := range p.Items {
			out[i] = c.config[it.Section]
		}
		result = out
	}
	c.write(map[string]any{"id": m.ID, "result": result})
}

func (c *lspClient) notify(method string, params any) {
	c.write(map[string]any{"method": method, "params": params})
}

func (c *lspClient) call(method string, params any) json.RawMessage {
	c.t.Helper()
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	ch := make(chan json.RawMessage, 1)
	c.waits[id] = ch
	c.mu.Unlock()
	c.write(map[string]any{"id": id, "method": method, "params": params})
	select {
	case r := <-ch:
		return r
	case <-time.After(60 * time.Second):
		c.t.Fatalf("yaml-language-server did not answer %s in 60 s", method)
		return nil
	}
}

// completionLabels asks for completion at the start of the last line of
// text (its indentation decides which mapping the key goes in).
func (c *lspClient) completionLabels(uri, text string) []string {
	c.t.Helper()
	c.notify("textDocument/didOpen", map[string]any{"textDocument": map[string]any{
		"uri": uri, "languageId": "yaml", "version": 1, "text": text}})
	lines := strings.Split(text, "\n")
	last := lines[len(lines)-1]
	res := c.call("textDocument/completion", map[string]any{
		"textDocument": map[string]any{"uri": uri},
		"position":     map[string]any{"line": len(lines) - 1, "character": len(last)},
	})
	var list struct {
		Items []struct{ Label string } `json:"items"`
	}
	if err := json.Unmarshal(res, &list); err != nil {
		var items []struct{ Label string }
		if err2 := json.Unmarshal(res, &items); err2 != nil {
			c.t.Fatalf("completion result %s: %v", res, err)
		}
		list.Items = items
	}
	var labels []string
	for _, it := range list.Items {
		labels = append(labels, it.Label)
	}
	slices.Sort(labels)
	return labels
}

// TestEditorCompletesOnlyTheSourceTypesKeys drives a real
// yaml-language-server, as VS Code and Neovim run it, over a pipeline file
// whose first line names the schema: completion inside an entity offers
// the keys of the source's type and none of the other types'.
func TestEditorCompletesOnlyTheSourceTypesKeys(t *testing.T) {
	bin := yamlLanguageServer(t)
	schemaPath, err := filepath.Abs("pipeline.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	config := map[string]any{"yaml": map[string]any{"validate": true, "completion": true, "hover": true}}
	c := startLSP(t, bin, config)
	c.call("initialize", map[string]any{
		"processId": os.Getpid(),
		"rootUri":   "file://" + dir,
		"capabilities": map[string]any{
			"workspace":    map[string]any{"configuration": true},
			"textDocument": map[string]any{"completion": map[string]any{"completionItem": map[string]any{"snippetSupport": false}}},
		},
	})
	c.notify("initialized", map[string]any{})
	c.notify("workspace/didChangeConfiguration", map[string]any{"settings": config})

	// The schema as a file, and as a running crmsync serve answers with it.
	schemaURL := (&url.URL{Scheme: "file", Path: schemaPath}).String()
	servedURL := servedSchema(t) + schema.ServePath
	for _, tc := range []struct {
		name, source   string
		want, unwanted []string
		schema         string // the schema's URL, when not the file's
	}{
		{"http", "  type: http\n  base_url: http://x\n",
			[]string{"request", "records", "paginate", "parent", "incremental_request"},
			[]string{"from", "columns", "query", "format", "required_columns"}, ""},
		{"sql", "  type: sql\n  driver: postgres\n  dsn: x\n",
			[]string{"from", "columns", "query"},
			[]string{"request", "records", "paginate", "required_columns"}, ""},
		{"file", "  type: file\n  path: x.csv\n",
			[]string{"format"},
			[]string{"request", "paginate", "from", "query"}, ""},
		{"sql, schema from serve", "  type: sql\n  driver: mysql\n  dsn: x\n",
			[]string{"from", "columns", "query"},
			[]string{"request", "records", "paginate", "required_columns"}, servedURL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			at := schemaURL
			if tc.schema != "" {
				at = tc.schema
			}
			text := "# yaml-language-server: $schema=" + at + "\n" +
				"version: 1\nname: crm\nsource:\n" + tc.source +
				"entities:\n  contacts:\n    primary_key: id\n    fields:\n      id: id\n    "
			uri := "file://" + filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".yaml")
			labels := c.completionLabels(uri, text)
			if len(labels) == 0 {
				t.Fatal("yaml-language-server offered no completion inside the entity")
			}
			t.Logf("offered inside a %s entity: %v", tc.name, labels)
			for _, k := range tc.want {
				if !slices.Contains(labels, k) {
					t.Errorf("completion inside a %s entity lacks %q; offered %v", tc.name, k, labels)
				}
			}
			for _, k := range tc.unwanted {
				if slices.Contains(labels, k) {
					t.Errorf("completion inside a %s entity offers %q, a key of another source type; offered %v", tc.name, k, labels)
				}
			}
		})
	}
	// A validator list item completes to the validators' names.
	t.Run("validator item", func(t *testing.T) {
		text := "# yaml-language-server: $schema=" + schemaURL + "\n" +
			"version: 1\nname: crm\nsource:\n  type: http\n  base_url: http://x\n" +
			"entities:\n  contacts:\n    primary_key: id\n    fields:\n      id: id\n" +
			"      email:\n        path: properties.email\n        validate:\n          - "
		labels := c.completionLabels("file://"+filepath.Join(dir, "validators.yaml"), text)
		t.Logf("offered for a validator item: %v", labels)
		for _, name := range validate.Names() {
			if !slices.Contains(labels, name) {
				t.Errorf("a validator list item does not complete to %q; offered %v", name, labels)
			}
		}
	})
}

// servedSchema starts the HTTP handler of a crmsync serve over an empty
// folder and returns its base URL.
func servedSchema(t *testing.T) string {
	t.Helper()
	dest, err := sink.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "crmsync.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dest.Close() })
	s, err := serve.New(serve.Options{Dir: t.TempDir(), Dest: dest, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	web := httptest.NewServer(s.Handler())
	t.Cleanup(web.Close)
	return web.URL
}
