package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSecretsEchoedBackAreRedacted: an API that echoes the token back in
// the forms real servers use — JSON-escaped in a record and in an error
// body, lower-case %xx in a URL, base64, HTML-escaped — must not get any
// of them into crmsync's output, logs, history errors or rejects.
func TestSecretsEchoedBackAreRedacted(t *testing.T) {
	const token = `tk_9f/ab&cd+EF=gh<i>'x`
	t.Setenv("CRMSYNC_TEST_ECHO_TOKEN", token)
	jsonEsc := `tk_9f\/ab\u0026cd+EF=gh\u003ci\u003e'x`
	lowerPct := `tk_9f%2fab%26cd%2bEF%3dgh%3ci%3e%27x`
	b64 := base64.StdEncoding.EncodeToString([]byte(token))
	htmlEsc := `tk_9f/ab&amp;cd+EF=gh&lt;i&gt;&#39;x`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page") == "2" {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `<html><p>Bad key %s</p><p>seen as %s, %s</p><a href="/x?key=%s">retry</a></html>`, htmlEsc, b64, jsonEsc, lowerPct)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		// One record echoes the key in a field that fails validation.
		fmt.Fprintf(w, `{"results":[{"id":1,"email":"a@example.com"},{"id":2,"email":"key %s"}],"next":"2"}`, jsonEsc)
	}))
	defer srv.Close()
	dir := t.TempDir()
	file := filepath.Join(dir, "echo.yaml")
	os.WriteFile(file, []byte(fmt.Sprintf(`version: 1
name: echo
source:
  type: http
  base_url: %s
  auth: {type: bearer, token: "${env:CRMSYNC_TEST_ECHO_TOKEN}"}
  retry: {attempts: 1}
entities:
  contacts:
    request: {path: /contacts}
    records: results
    paginate: {style: cursor, cursor: next, param: page}
    primary_key: id
    fields:
      id: {path: id, type: integer}
      email: {path: email, type: string, validate: [email]}
`, srv.URL)), 0o644)
	dsn := "sqlite:" + filepath.Join(dir, "echo.db")
	var all bytes.Buffer
	var out, errb bytes.Buffer
	run([]string{"run", "--dest", dsn, file}, &out, &errb)
	all.Write(out.Bytes())
	all.Write(errb.Bytes())
	if !strings.Contains(errb.String()+out.String(), "400") {
		t.Fatalf("the failing page was not reported:\n%s\n%s", out.String(), errb.String())
	}
	for _, cmd := range [][]string{{"history", "--dest", dsn, "--json"}, {"rejects", "--dest", dsn, "--json"}} {
		out.Reset()
		errb.Reset()
		run(cmd, &out, &errb)
		all.Write(out.Bytes())
		all.Write(errb.Bytes())
	}
	if !strings.Contains(all.String(), "[redacted]") {
		t.Fatalf("nothing was redacted; output:\n%s", all.String())
	}
	for _, leak := range []string{"tk_9f", `tk\u005f9f`, b64[:12], "ab&amp;cd", "ab%26cd", "ab\\u0026cd"} {
		if strings.Contains(all.String(), leak) {
			t.Errorf("%q leaks:\n%s", leak, all.String())
		}
	}
}
