package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestEnsureServicesGivesUpFast: on a machine where neither PostgreSQL
// nor MariaDB is installed or running, scripts/ensure-services.sh (make
// test, CI) says what it looked for and fails within seconds, pointing
// at make unit, instead of waiting a minute in silence.
func TestEnsureServicesGivesUpFast(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	// A PATH with the shell's basic tools and no database tool.
	bin := t.TempDir()
	for _, tool := range []string{"ls", "head", "sleep", "cat"} {
		if p, err := exec.LookPath(tool); err == nil {
			os.Symlink(p, filepath.Join(bin, tool))
		}
	}
	closed := func() string { // a loopback port nothing listens on
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	}
	pg, my := closed(), closed()
	cmd := exec.Command(bash, "../../scripts/ensure-services.sh")
	cmd.Env = []string{"PATH=" + bin, "HOME=" + t.TempDir(), "CRMSYNC_SERVICES_PG_PORT=" + pg, "CRMSYNC_SERVICES_MYSQL_PORT=" + my}
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	if code := cmd.ProcessState.ExitCode(); code != 1 {
		t.Fatalf("exit %d (%v), want 1:\n%s", code, err, out)
	}
	if took > 5*time.Second {
		t.Errorf("took %s to give up, want seconds", took)
	}
	for _, want := range []string{
		"PostgreSQL is not running on 127.0.0.1:" + pg + " and is not installed here",
		"MariaDB is not running on 127.0.0.1:" + my + " and is not installed here",
		"'make unit' runs every test that needs no database server",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "waiting") {
		t.Errorf("waited for a server that is not installed:\n%s", out)
	}
}
