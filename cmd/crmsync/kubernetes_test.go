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
	"github.com/crmsync/crmsync/engine/schedule"
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

// TestKubernetesExample parses deploy/kubernetes and checks it against
// the real program: serve's flags parse, --dir is where the ConfigMap is
// mounted, the probes and ports are serve's real routes on --addr's port,
// every environment variable is one crmsync or a pipeline reads and comes
// from a key the Secret has, every ${env:…} without a default is set, and
// the ConfigMap's pipelines lint clean.
func TestKubernetesExample(t *testing.T) {
	byKind := map[string][]k8s{}
	for kind, nodes := range k8sDocs(t, filepath.Join("..", "..", "deploy", "kubernetes")) {
		for _, n := range nodes {
			var m k8s
			if err := n.Decode(&m); err != nil {
				t.Fatalf("%s: %v", kind, err)
			}
			byKind[kind] = append(byKind[kind], m)
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

// k8sDocs decodes every document of the manifests in dir by kind.
func k8sDocs(t *testing.T, dir string) map[string][]*yaml.Node {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
	out := map[string][]*yaml.Node{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var n yaml.Node
			if err := dec.Decode(&n); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			var head struct{ Kind string }
			n.Decode(&head)
			out[head.Kind] = append(out[head.Kind], &n)
		}
	}
	return out
}

// TestKubernetesCronJobAndMonitor: the nightly CronJob runs crmsync run
// with flags run's own flag set parses, on the ConfigMap's pipelines, with
// its variables from the Secret; the ServiceMonitor scrapes the Service's
// named port at serve's real /metrics route.
func TestKubernetesCronJobAndMonitor(t *testing.T) {
	docs := k8sDocs(t, filepath.Join("..", "..", "deploy", "kubernetes"))
	for _, kind := range []string{"CronJob", "ServiceMonitor", "Service", "Secret", "ConfigMap"} {
		if len(docs[kind]) != 1 {
			t.Fatalf("want one %s, got %d", kind, len(docs[kind]))
		}
	}
	var cron struct {
		Spec struct {
			Schedule          string `yaml:"schedule"`
			ConcurrencyPolicy string `yaml:"concurrencyPolicy"`
			JobTemplate       struct {
				Spec struct {
					Template struct {
						Spec struct {
							RestartPolicy string      `yaml:"restartPolicy"`
							Containers    []container `yaml:"containers"`
							Volumes       []struct {
								Name      string `yaml:"name"`
								ConfigMap struct {
									Name string `yaml:"name"`
								} `yaml:"configMap"`
							} `yaml:"volumes"`
						} `yaml:"spec"`
					} `yaml:"template"`
				} `yaml:"spec"`
			} `yaml:"jobTemplate"`
		} `yaml:"spec"`
	}
	var svc, cm, secret k8s
	var mon struct {
		Spec struct {
			Selector struct {
				MatchLabels map[string]string `yaml:"matchLabels"`
			} `yaml:"selector"`
			Endpoints []struct {
				Port string `yaml:"port"`
				Path string `yaml:"path"`
			} `yaml:"endpoints"`
		} `yaml:"spec"`
	}
	var svcLabels struct {
		Metadata struct {
			Labels map[string]string `yaml:"labels"`
		} `yaml:"metadata"`
	}
	for _, d := range []struct {
		n *yaml.Node
		v any
	}{{docs["CronJob"][0], &cron}, {docs["ServiceMonitor"][0], &mon}, {docs["Service"][0], &svc},
		{docs["Service"][0], &svcLabels}, {docs["ConfigMap"][0], &cm}, {docs["Secret"][0], &secret}} {
		if err := d.n.Decode(d.v); err != nil {
			t.Fatal(err)
		}
	}

	// The CronJob.
	if _, err := schedule.Parse(cron.Spec.Schedule); err != nil || len(strings.Fields(cron.Spec.Schedule)) != 5 {
		t.Errorf("schedule %q is not a five-field cron expression: %v", cron.Spec.Schedule, err)
	}
	if cron.Spec.ConcurrencyPolicy != "Forbid" {
		t.Errorf("concurrencyPolicy %q: a second run of the same pipelines would only be refused by the claims; say Forbid", cron.Spec.ConcurrencyPolicy)
	}
	pod := cron.Spec.JobTemplate.Spec.Template.Spec
	if pod.RestartPolicy != "Never" && pod.RestartPolicy != "OnFailure" {
		t.Errorf("restartPolicy %q: a Job's pod must be Never or OnFailure", pod.RestartPolicy)
	}
	if len(pod.Containers) != 1 || len(pod.Containers[0].Args) == 0 || pod.Containers[0].Args[0] != "run" {
		t.Fatalf("the CronJob's container must run crmsync run: %+v", pod.Containers)
	}
	c := pod.Containers[0]
	var f runFlags
	fs := runFlagSet(&f, io.Discard)
	if err := fs.Parse(c.Args[1:]); err != nil || fs.NArg() == 0 {
		t.Fatalf("run %q: %v (pipelines: %q)", c.Args[1:], err, fs.Args())
	}
	if f.dryRun {
		t.Error("--dry-run in the CronJob: it would write nothing")
	}
	mounts := map[string]string{}
	for _, vm := range c.VolumeMounts {
		for _, v := range pod.Volumes {
			if v.Name == vm.Name && v.ConfigMap.Name == cm.Metadata.Name {
				mounts[filepath.Clean(vm.MountPath)] = v.ConfigMap.Name
			}
		}
	}
	for _, p := range fs.Args() {
		if mounts[filepath.Clean(p)] == "" {
			t.Errorf("run reads %s, which is not where the ConfigMap %s is mounted (%v)", p, cm.Metadata.Name, mounts)
		}
	}
	set := map[string]bool{}
	for _, e := range c.Env {
		set[e.Name] = true
		if ref := e.ValueFrom.SecretKeyRef; ref.Name != "" && (ref.Name != secret.Metadata.Name || secret.StringData[ref.Key] == "" && secret.Data[ref.Key] == "") {
			t.Errorf("env %s: the Secret %s has no key %s", e.Name, ref.Name, ref.Key)
		}
	}
	if !set["CRMSYNC_DEST"] {
		t.Error("the CronJob does not set CRMSYNC_DEST: run would write into a SQLite file inside the pod")
	}
	for _, content := range cm.Data {
		for _, m := range envRefRE.FindAllStringSubmatch(content, -1) {
			if m[2] == "" && !set[m[1]] {
				t.Errorf("the pipelines need ${env:%s} (no default), the CronJob does not set it", m[1])
			}
		}
	}

	// The ServiceMonitor scrapes a named port of the Service at /metrics.
	for k, v := range mon.Spec.Selector.MatchLabels {
		if svcLabels.Metadata.Labels[k] != v {
			t.Errorf("the ServiceMonitor selects %s=%s, the Service is labelled %v", k, v, svcLabels.Metadata.Labels)
		}
	}
	if len(mon.Spec.Endpoints) == 0 {
		t.Fatal("the ServiceMonitor has no endpoints")
	}
	dest, err := sink.Open(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "k8s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer dest.Close()
	s, err := serve.New(serve.Options{Dir: t.TempDir(), Dest: dest, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	for _, ep := range mon.Spec.Endpoints {
		named := false
		for _, p := range svc.Spec.Ports {
			named = named || p.Name == ep.Port
		}
		if !named {
			t.Errorf("the ServiceMonitor scrapes port %q, which the Service does not name", ep.Port)
		}
		resp, err := http.Get(srv.URL + ep.Path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !bytes.Contains(body, []byte("crmsync_build_info")) {
			t.Errorf("GET %s: %d; want serve's metrics", ep.Path, resp.StatusCode)
		}
	}
}
