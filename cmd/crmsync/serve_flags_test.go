package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeFlags: bad command lines exit 2 with a message saying what is wrong.
func TestServeFlags(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "x.yaml")
	os.WriteFile(file, []byte("version: 1\n"), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{}, "--dir is required"},
		{[]string{"--dir", filepath.Join(dir, "nope")}, "is not a folder"},
		{[]string{"--dir", file}, "is not a folder"},
		{[]string{"--dir", dir, "--log-level", "loud"}, `--log-level "loud"`},
		{[]string{"--dir", dir, "--admin-token", "hunter2hunter2hunter2"}, "want env:NAME or file:PATH"},
		{[]string{"--dir", dir, "--admin-token", "env:CRMSYNC_TEST_NO_SUCH_VARIABLE"}, "is not set"},
		{[]string{"--dir", dir, "--admin-token", "file:" + file}, "use at least 16"},
		{[]string{"--dir", dir, "--log-format", "xml"}, `--log-format "xml"`},
		{[]string{"--dir", dir, "--dest", "mysql://x"}, `destination scheme "mysql" is not supported`},
		{[]string{"--dir", dir, "--dest", "sqlite:" + filepath.Join(dir, "db"), "--default-schedule", "every now"}, `default schedule "every now"`},
		{[]string{"--dir", dir, "--dest", "sqlite:" + filepath.Join(dir, "db"), "--addr", "256.0.0.1:1"}, "256.0.0.1"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(append([]string{"serve"}, c.args...), &stdout, &stderr); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", c.args, code, exitUsage)
		}
		if !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%v: stderr %q lacks %q", c.args, stderr.String(), c.want)
		}
	}
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{"127.0.0.1:0": true, "[::1]:0": true, "0.0.0.0:0": false, "[::]:0": false} {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Logf("%s: %v", addr, err)
			continue
		}
		if got := isLoopback(ln.Addr()); got != want {
			t.Errorf("%s: loopback %v, want %v", addr, got, want)
		}
		ln.Close()
	}
}
