package main

import (
	"flag"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/crmsync/crmsync/engine/serve"
)

func init() {
	version, revision = buildVersion(version, revision, readBuildInfo())
	serve.Build.Version, serve.Build.Revision = version, revision
	register(command{name: "version", summary: "print the version, the source revision and the Go version", run: versionCmd})
}

// revision is the VCS commit the binary was built from, when known:
// -ldflags "-X main.revision=…" (make release), else the build info's.
var revision string

func readBuildInfo() *debug.BuildInfo {
	bi, _ := debug.ReadBuildInfo()
	return bi
}

// buildVersion: the -ldflags version when set, else the module version
// go install recorded (v1.2.3), else "devel" with the revision; and the
// revision (vcs.revision, "+dirty" when modified) the build info holds.
func buildVersion(ldflags, ldRevision string, bi *debug.BuildInfo) (v, rev string) {
	var modified bool
	if ldRevision != "" {
		return buildVersionOf(ldflags, ldRevision, false, bi), ldRevision
	}
	if bi != nil {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if rev != "" && modified {
			rev += "+dirty"
		}
	}
	return buildVersionOf(ldflags, rev, modified, bi), rev
}

func buildVersionOf(ldflags, rev string, modified bool, bi *debug.BuildInfo) (v string) {
	switch {
	case ldflags != "":
		v = ldflags
	case bi != nil && bi.Main.Version != "" && bi.Main.Version != "(devel)":
		v = bi.Main.Version
	case rev != "":
		v = "devel-" + rev[:min(12, len(rev))]
		if modified {
			v += "-dirty"
		}
	default:
		v = "devel"
	}
	return v
}

func versionCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print JSON: version, revision, go")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: crmsync version [--json]   (also: crmsync --version)")
		fmt.Fprintln(fs.Output(), "Prints the version (from the git tag at build time), the source revision and the Go version.")
		printFlags(fs.Output(), fs)
	}
	pos, code, ok := parseArgs(fs, args, stdout)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		fs.Usage()
		return exitUsage
	}
	if *asJSON {
		return writeJSON(stdout, map[string]string{"version": version, "revision": revision, "go": runtime.Version(),
			"platform": runtime.GOOS + "/" + runtime.GOARCH})
	}
	fmt.Fprintf(stdout, "crmsync %s", version)
	if revision != "" && !strings.Contains(version, revision[:min(12, len(revision))]) {
		fmt.Fprintf(stdout, " (revision %s)", revision)
	}
	fmt.Fprintf(stdout, " %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return exitOK
}
