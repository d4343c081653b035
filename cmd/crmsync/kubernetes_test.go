package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/crmsync/crmsync/engine/diag"
	"github.com/crmsync/crmsync/engine/pipeline"
	"github.com/crmsync/crmsync/engine/serve"
	"github.com/crmsync/crmsync/engine/sink"
)

// k8s is the part of the manifests the test reads.
type k8s struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	StringData map[string]string `yaml:"stringData"`
	Data       map[string]string `yaml:"data"`
	Spec       struct {
		Replicas int `yaml:"replicas"`
		Ports    []struct {
			Port       int    `yaml:"port"`
			TargetPort any    `yaml:"targetPort"`
			Name       string `yaml:"name"`
		} `yaml:"ports"`
		Template struct {
			Spec struct {
				TerminationGracePeriodSeconds int         `yaml:"terminationGracePeriodSeconds"`
				Containers                    []container `yaml:"containers"`
				Volumes                       []struct {
					Name      string `yaml:"name"`
					ConfigMap struct {
						Name string `yaml:"name"`
					} `yaml:"configMap"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type container struct {
	Args []string `yaml:"args"`
	Env  []struct {
		Name      string `yaml:"name"`
		Value     string `yaml:"value"`
		ValueFrom struct {
			SecretKeyRef struct{ Name, Key string } `yaml:"secretKeyRef"`
		} `yaml:"valueFrom"`
	} `yaml:"env"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	LivenessProbe  *probe `yaml:"livenessProbe"`
	ReadinessProbe *probe `yaml:"readinessProbe"`
	Resources      struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
}

type probe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
		Port any    `yaml:"port"`
	} `yaml:"httpGet"`
}

var envRefRE = regexp.MustCompile(`\$\{env:([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}`)

// TestKubernetesExample parses examples/kubernetes and checks it against
// the real program: serve's flags parse, --dir is where the ConfigMap is
// mounted, the probes and ports are serve's real routes on --addr's port,
// every environment variable is one crmsync or a pipeline reads and comes
// from a key the Secret has, every ${env:…} without a default is set, and
// the ConfigMap's pipelines lint clean.
func TestKubernetesExample(t *testing.T) {
	dir := filepath.Join("..", "..", "examples", "kubernetes")
	paths, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	byKind := map[string][]k8s{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var m k8s
			if err := dec.Decode(&m); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			byKind[m.Kind] = append(byKind[m.Kind], m)
		}
	}
	for _, kind := range []string{"Deployment", "ConfigMap", "Secret", "Service"} {
		if len(byKind[kind]) != 1 {
			t.Fatalf("want one %s, got %d", kind, len(byKind[kind]))
		}
	}
	dep, cm, secret, svc := byKind["Deployment"][0], byKind["ConfigMap"][0], byKind["Secret"][0], byKind["Service"][0]
	if dep.Spec.Replicas < 2 {
		t.Errorf("replicas %d: the example is of several replicas", dep.Spec.Replicas)
	}
	pod := dep.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("containers: %d", len(pod.Containers))
	}
	c := pod.Containers[0]

	// The flags: serve's own flag set parses them.
	if len(c.Args) == 0 || c.Args[0] != "serve" {
		t.Fatalf("args %q: want serve first", c.Args)
	}
	var f serveFlags
	fs := serveFlagSet(&f, io.Discard)
	if err := fs.Parse(c.Args[1:]); err != nil || fs.NArg() > 0 {
		t.Fatalf("serve %q: %v (left over %q)", c.Args[1:], err, fs.Args())
	}
	if f.once {
		t.Error("--once in a Deployment: the pod would exit and restart")
	}
	if time.Duration(pod.TerminationGracePeriodSeconds)*time.Second <= f.grace {
		t.Errorf("terminationGracePeriodSeconds %d is not longer than --grace %s", pod.TerminationGracePeriodSeconds, f.grace)
	}

	// The pipelines folder is the ConfigMap's mount.
	mounted := ""
	for _, vm := range c.VolumeMounts {
		for _, v := range pod.Volumes {
			if v.Name == vm.Name && v.ConfigMap.Name == cm.Metadata.Name {
				mounted = vm.MountPath
			}
		}
	}
	if mounted == "" || filepath.Clean(f.dir) != filepath.Clean(mounted) {
		t.Errorf("--dir %q, but the ConfigMap %s is mounted at %q", f.dir, cm.Metadata.Name, mounted)
	}

	// Ports: --addr's port is the container's, the probes' and the Service's.
	_, portText, ok := strings.Cut(f.addr, ":")
	port, _ := strconv.Atoi(portText)
	if !ok || port == 0 || strings.HasPrefix(f.addr, "127.") || strings.HasPrefix(f.addr, "localhost") {
		t.Fatalf("--addr %q: want a port on every interface (probes come from the kubelet)", f.addr)
	}
	portNames := map[string]int{}
	for _, p := range c.Ports {
		portNames[p.Name] = p.ContainerPort
	}
	portOf := func(v any) int {
		switch x := v.(type) {
		case int:
			return x
		case string:
			return portNames[x]
		}
		return 0
	}
	if portNames["http"] != port {
		t.Errorf("containerPort http %d, serve listens on %d", portNames["http"], port)
	}
	for _, p := range svc.Spec.Ports {
		if portOf(p.TargetPort) != port {
			t.Errorf("Service port %s targets %v, not serve's %d", p.Name, p.TargetPort, port)
		}
	}

	// Probes hit serve's real routes.
	dest, err := sink.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "k8s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer dest.Close()
	pipes := t.TempDir()
	for name, content := range cm.Data {
		os.WriteFile(filepath.Join(pipes, name), []byte(content), 0o644)
	}
	s, err := serve.New(serve.Options{Dir: pipes, Dest: dest, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("HUBSPOT_TOKEN", "test")
	s.Reload(true)
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	for _, tc := range []struct {
		what, want string
		pr         *probe
	}{{"liveness", "/healthz", c.LivenessProbe}, {"readiness", "/readyz", c.ReadinessProbe}} {
		what, want, pr := tc.what, tc.want, tc.pr
		if pr == nil {
			t.Errorf("no %s probe", what)
			continue
		}
		if pr.HTTPGet.Path != want || portOf(pr.HTTPGet.Port) != port {
			t.Errorf("%s probe %s on %v, want %s on %d", what, pr.HTTPGet.Path, pr.HTTPGet.Port, want, port)
		}
		resp, err := http.Get(srv.URL + pr.HTTPGet.Path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s probe GET %s: %d, want 200 from a loaded serve", what, pr.HTTPGet.Path, resp.StatusCode)
		}
	}
	if c.Resources.Requests["cpu"] == "" || c.Resources.Requests["memory"] == "" || c.Resources.Limits["memory"] == "" {
		t.Errorf("resources: %+v; want cpu and memory requests and a memory limit", c.Resources)
	}

	// Environment: each variable is read by crmsync or a pipeline, from a
	// key the Secret has; each ${env:…} without a default is set.
	read := map[string]bool{"CRMSYNC_DEST": true}
	if name, ok := strings.CutPrefix(f.adminToken, "env:"); ok {
		read[name] = true
	} else if f.adminToken == "" {
		read["CRMSYNC_ADMIN_TOKEN"] = true
	}
	needed := map[string]bool{}
	for name, content := range cm.Data {
		plan, findings := pipeline.Lint(name, []byte(content), pipeline.Options{StrictLint: true, LookupEnv: func(k string) (string, bool) {
			return "test", k == "HUBSPOT_TOKEN"
		}})
		if plan == nil || findings.HasErrors() || len(findings.Errors()) > 0 {
			t.Errorf("ConfigMap %s does not lint clean:\n%s", name, text(findings))
		}
		for _, m := range envRefRE.FindAllStringSubmatch(content, -1) {
			read[m[1]] = true
			if m[2] == "" {
				needed[m[1]] = true
			}
		}
	}
	set := map[string]bool{}
	for _, e := range c.Env {
		set[e.Name] = true
		if !read[e.Name] && !strings.HasPrefix(e.Name, "OTEL_") {
			t.Errorf("env %s: neither crmsync nor a pipeline of the ConfigMap reads it", e.Name)
		}
		if ref := e.ValueFrom.SecretKeyRef; ref.Name != "" {
			if ref.Name != secret.Metadata.Name || secret.StringData[ref.Key] == "" && secret.Data[ref.Key] == "" {
				t.Errorf("env %s: the Secret %s has no key %s", e.Name, ref.Name, ref.Key)
			}
		}
	}
	for name := range needed {
		if !set[name] {
			t.Errorf("the pipelines need ${env:%s} (no default), the container does not set it", name)
		}
	}
	if !set["CRMSYNC_DEST"] || !strings.HasPrefix(secret.StringData["CRMSYNC_DEST"], "postgres://") {
		t.Error("replicas share a PostgreSQL destination: set CRMSYNC_DEST to a postgres:// DSN from the Secret")
	}
}

func text(l diag.List) string {
	var b bytes.Buffer
	l.WriteText(&b)
	return b.String()
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
