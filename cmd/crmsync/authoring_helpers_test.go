package main

import (
	"bytes"
	"flag"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/crmsync/crmsync/examples/quickstart/mockcrm/crm"
)

// The -update flag may be defined by another test file of this package.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files")
	}
}

func auUpdate() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// auRun runs the command function with args.
func auRun(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// auMockCRM serves the quick start's mock CRM on a loopback port.
func auMockCRM(t *testing.T, o crm.Options) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(crm.New(crm.Default(), o))
	t.Cleanup(srv.Close)
	return srv
}

// auQuickstart is the absolute path of a file in examples/quickstart.
func auQuickstart(t *testing.T, name string) string {
	t.Helper()
	return filepath.Join(auRoot, "examples", "quickstart", name)
}

// auRoot is the repository root, fixed before any test changes the
// working directory.
var auRoot, _ = filepath.Abs(filepath.Join("..", ".."))

// auGolden compares got with testdata/<name>.golden (-update rewrites it).
func auGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join(auTestdata, name+".golden")
	if auUpdate() {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if string(want) != got {
		t.Errorf("output differs from %s (go test -update rewrites it)\n--- got:\n%s\n--- want:\n%s", path, got, want)
	}
}

// auTestdata is this package's testdata folder, fixed before any test
// changes the working directory.
var auTestdata, _ = filepath.Abs("testdata")

// auWriteFile writes a file in dir and returns its path.
func auWriteFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
