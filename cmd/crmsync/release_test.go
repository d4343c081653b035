package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

// TestReleaseArchive: scripts/release.sh (what make release runs) builds
// the host platform's archive; unpacked in a temporary folder, the binary
// is static, says its version, and serve reports it in crmsync_build_info.
func TestReleaseArchive(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a release binary")
	}
	if _, err := exec.LookPath("tar"); err != nil {
		t.Skip("no tar")
	}
	dist := t.TempDir()
	const v = "v0.0.0-releasetest"
	platform := runtime.GOOS + "/" + runtime.GOARCH
	cmd := exec.Command("bash", "../../scripts/release.sh")
	cmd.Env = append(os.Environ(), "VERSION="+v, "PLATFORMS="+platform, "DIST="+dist)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("release.sh: %v\n%s", err, b)
	}
	name := "crmsync_" + v + "_" + runtime.GOOS + "_" + runtime.GOARCH
	archive := filepath.Join(dist, name+".tar.gz")
	exe := "crmsync"
	if runtime.GOOS == "windows" {
		archive, exe = filepath.Join(dist, name+".zip"), "crmsync.exe"
	}
	data, err := os.ReadFile(archive)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	sums, _ := os.ReadFile(filepath.Join(dist, "SHA256SUMS"))
	if want := hex.EncodeToString(sum[:]) + "  " + filepath.Base(archive) + "\n"; string(sums) != want {
		t.Fatalf("SHA256SUMS:\n%s\nwant:\n%s", sums, want)
	}
	if runtime.GOOS == "windows" {
		t.Skip("unpacking the zip is not tested")
	}
	unpack := t.TempDir()
	if b, err := exec.Command("tar", "-xzf", archive, "-C", unpack).CombinedOutput(); err != nil {
		t.Fatalf("tar: %v: %s", err, b)
	}
	bin := filepath.Join(unpack, name, exe)
	for _, doc := range []string{"README.md", "docs/README.md", "docs/guides/writing-a-pipeline.md", "docs/reference/settings.md"} {
		if _, err := os.Stat(filepath.Join(unpack, name, doc)); err != nil {
			t.Errorf("the archive has no %s: %v", doc, err)
		}
	}
	if _, err := os.Stat(filepath.Join(unpack, name, "docs", "docs_test.go")); err == nil {
		t.Errorf("the archive holds docs/docs_test.go; only the Markdown belongs in it")
	}
	if bi, err := buildinfo.ReadFile(bin); err != nil {
		t.Errorf("build info: %v", err)
	} else {
		for _, s := range bi.Settings {
			if s.Key == "CGO_ENABLED" && s.Value != "0" {
				t.Errorf("CGO_ENABLED=%s, want a static binary", s.Value)
			}
		}
	}
	run := exec.Command(bin, "--version")
	run.Dir = unpack // from a folder with nothing else in it
	out, err := run.CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "crmsync "+v+" ") {
		t.Fatalf("crmsync --version: %v: %q", err, out)
	}

	// serve from the unpacked binary: crmsync_build_info names the version.
	pipes := t.TempDir()
	srv := exec.Command(bin, "serve", "--dir", pipes, "--dest", "sqlite:"+filepath.Join(unpack, "x.db"), "--addr", "127.0.0.1:0", "--log-format", "json")
	stderr, _ := srv.StderrPipe()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	addrCh := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		re := regexp.MustCompile(`"addr":"([^"]+)"`)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil && strings.Contains(sc.Text(), "Serving") {
				addrCh <- m[1]
			}
		}
	}()
	var addr string
	select {
	case addr = <-addrCh:
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not start listening")
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	re := regexp.MustCompile(`(?m)^crmsync_build_info\{goversion="go[^"]+",revision="[^"]*",version="` + regexp.QuoteMeta(v) + `"\} 1$`)
	if !re.Match(body) {
		t.Fatalf("/metrics lacks crmsync_build_info for %s:\n%s", v, grepLines(string(body), "crmsync_build_info"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestBuildVersion: -ldflags wins; a go install build says its module
// version; a local build without either names its revision.
func TestBuildVersion(t *testing.T) {
	bi := func(mainVersion string, settings ...string) *debug.BuildInfo {
		b := &debug.BuildInfo{Main: debug.Module{Path: "github.com/crmsync/crmsync", Version: mainVersion}}
		for i := 0; i+1 < len(settings); i += 2 {
			b.Settings = append(b.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
		}
		return b
	}
	const rev = "0123456789abcdef0123456789abcdef01234567"
	for _, c := range []struct {
		ld, ldRev string
		bi        *debug.BuildInfo
		v, r      string
	}{
		{"v1.2.3", "", bi("(devel)", "vcs.revision", rev), "v1.2.3", rev},
		{"v1.2.3", "abc", nil, "v1.2.3", "abc"},
		{"", "", bi("v0.4.0"), "v0.4.0", ""},
		{"", "", bi("v0.4.1-0.20261201120000-0123456789ab"), "v0.4.1-0.20261201120000-0123456789ab", ""},
		{"", "", bi("(devel)", "vcs.revision", rev, "vcs.modified", "true"), "devel-0123456789ab-dirty", rev + "+dirty"},
		{"", "", bi("(devel)"), "devel", ""},
		{"", "", nil, "devel", ""},
	} {
		v, r := buildVersion(c.ld, c.ldRev, c.bi)
		if v != c.v || r != c.r {
			t.Errorf("buildVersion(%q, %q, …) = %q, %q; want %q, %q", c.ld, c.ldRev, v, r, c.v, c.r)
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"--version"}, &out, &errb); code != exitOK || !strings.HasPrefix(out.String(), "crmsync "+version) {
		t.Errorf("--version: exit %d, %q", code, out.String())
	}
}
