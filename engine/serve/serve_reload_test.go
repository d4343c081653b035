package serve

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metricValue reads one series from a registry; ok is false when absent.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue next
				}
			}
			switch {
			case m.Gauge != nil:
				return m.GetGauge().GetValue(), true
			case m.Counter != nil:
				return m.GetCounter().GetValue(), true
			case m.Histogram != nil:
				return float64(m.GetHistogram().GetSampleCount()), true
			}
		}
	}
	return 0, false
}

func pipelineHash(s *Scheduler, name string) string {
	for _, p := range s.Status().Pipelines {
		if p.Name == name {
			return p.Hash
		}
	}
	return ""
}

// TestHotReload drives the watcher through the ways files change on
// disk. Nothing is scheduled (no schedule: and no default), so only the
// reload machinery acts.
func TestHotReload(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.yaml")
	good := httpPipeline("alpha", "http://127.0.0.1:1", "", "items")
	if err := os.WriteFile(a, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	s, log := newScheduler(t, dir, Options{Debounce: 50 * time.Millisecond})
	if problems := s.Reload(true); len(problems) != 0 {
		t.Fatal(problems)
	}
	startWatch(t, s, log)
	reg := s.Metrics().Registry
	h1 := pipelineHash(s, "alpha")
	if h1 == "" {
		t.Fatal("alpha not loaded")
	}
	if v, _ := metricValue(t, reg, "crmsync_plan_info", map[string]string{"pipeline": "alpha", "file": a, "hash": h1}); v != 1 {
		t.Fatalf("crmsync_plan_info for %s = %v", h1, v)
	}
	changed := func(from string) func() bool {
		return func() bool { h := pipelineHash(s, "alpha"); return h != "" && h != from }
	}

	// An editor that saves by writing a temporary file and renaming it.
	withEmail := strings.Replace(good, "      name: name\n", "      name: name\n      email: email\n", 1)
	writeAtomic(t, a, withEmail)
	eventually(t, 3*time.Second, "a save by rename is not picked up", changed(h1))
	h2 := pipelineHash(s, "alpha")

	// A write in place.
	withPhone := strings.Replace(withEmail, "      email: email\n", "      email: email\n      phone: phone\n", 1)
	if err := os.WriteFile(a, []byte(withPhone), 0o644); err != nil {
		t.Fatal(err)
	}
	eventually(t, 3*time.Second, "a write in place is not picked up", changed(h2))
	h3 := pipelineHash(s, "alpha")

	// A comment changes the bytes, not the plan: a no-op.
	reloads := log.count("Reloaded pipeline alpha")
	ts0, _ := metricValue(t, reg, "crmsync_config_last_reload_success_timestamp_seconds", map[string]string{"file": a})
	time.Sleep(10 * time.Millisecond)
	writeAtomic(t, a, "# a comment\n"+withPhone)
	eventually(t, 3*time.Second, "the comment edit is not reloaded", func() bool {
		ts, _ := metricValue(t, reg, "crmsync_config_last_reload_success_timestamp_seconds", map[string]string{"file": a})
		return ts > ts0
	})
	if pipelineHash(s, "alpha") != h3 || log.count("Reloaded pipeline alpha") != reloads {
		t.Fatal("an unchanged plan was swapped")
	}

	// A broken edit: the old plan stays, the problem is shown with its line.
	broken := strings.Replace(withPhone, "type: integer", "type: integr", 1)
	line := 1 + strings.Count(broken[:strings.Index(broken, "integr")], "\n")
	writeAtomic(t, a, broken)
	eventually(t, 3*time.Second, "the broken edit is not reported", func() bool { return len(s.Status().Problems) > 0 })
	st := s.Status()
	if p := st.Problems[0]; p.File != a || p.Line != line || !strings.Contains(p.Message, "integr") {
		t.Fatalf("problem %+v, want %s line %d about integr", p, a, line)
	}
	if pipelineHash(s, "alpha") != h3 {
		t.Fatal("a broken file replaced the running plan")
	}
	if v, _ := metricValue(t, reg, "crmsync_config_last_reload_successful", map[string]string{"file": a}); v != 0 {
		t.Fatalf("crmsync_config_last_reload_successful = %v after a broken edit", v)
	}
	if v, _ := metricValue(t, reg, "crmsync_config_problems", map[string]string{"file": a}); v < 1 {
		t.Fatalf("crmsync_config_problems = %v after a broken edit", v)
	}
	if v, _ := metricValue(t, reg, "crmsync_plan_info", map[string]string{"hash": h3}); v != 1 {
		t.Fatal("crmsync_plan_info lost the running plan")
	}
	wantLog := a + ":" + strconv.Itoa(line) + ":"
	if !strings.Contains(log.String(), wantLog) {
		t.Fatalf("the log does not carry %q:\n%s", wantLog, log.String())
	}

	// A second file, then one that takes a name already in use.
	b := filepath.Join(dir, "b.yaml")
	writeAtomic(t, b, httpPipeline("beta", "http://127.0.0.1:1", "", "things"))
	eventually(t, 3*time.Second, "a new file is not loaded", func() bool { return pipelineHash(s, "beta") != "" })
	c := filepath.Join(dir, "c.yml")
	writeAtomic(t, c, httpPipeline("beta", "http://127.0.0.1:1", "", "others"))
	eventually(t, 3*time.Second, "a duplicate name is not reported", func() bool {
		for _, p := range s.Status().Problems {
			if p.File == c && p.Code == "duplicate-pipeline" && strings.Contains(p.Message, b) {
				return true
			}
		}
		return false
	})

	// Once b is gone, c's name is free: c loads without being touched.
	os.Remove(b)
	eventually(t, 3*time.Second, "a file that clashed should load once the clash is gone", func() bool {
		for _, p := range s.Status().Pipelines {
			if p.Name == "beta" && p.File == c {
				return true
			}
		}
		return false
	})

	// YAML that is no pipeline file is left alone.
	if err := os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte("resources: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	// Fixing a, removing b and c.
	writeAtomic(t, a, withPhone)
	os.Remove(b)
	os.Remove(c)
	eventually(t, 3*time.Second, "the fix and the removals are not applied", func() bool {
		st := s.Status()
		return len(st.Problems) == 0 && len(st.Files) == 1 && pipelineHash(s, "beta") == ""
	})
	if st := s.Status(); st.Files[0].File != a {
		t.Fatalf("files: %+v (kustomization.yaml is not a pipeline file)", st.Files)
	}
	if v, ok := metricValue(t, reg, "crmsync_config_last_reload_successful", map[string]string{"file": b}); ok {
		t.Fatalf("a removed file keeps its reload gauge (%v)", v)
	}
	if v, _ := metricValue(t, reg, "crmsync_config_last_reload_successful", map[string]string{"file": a}); v != 1 {
		t.Fatal("the fixed file is not marked clean")
	}
}

// TestConfigMapSwap: Kubernetes mounts a ConfigMap as symlinks through
// ..data, and updates it by pointing ..data at a new folder. No event
// names the pipeline file itself.
func TestConfigMapSwap(t *testing.T) {
	dir := t.TempDir()
	write := func(version, content string) {
		if err := os.MkdirAll(filepath.Join(dir, version), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, version, "crm.yaml"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	v1 := httpPipeline("crm", "http://127.0.0.1:1", "", "items")
	write("..2025_01_01", v1)
	must(t, os.Symlink("..2025_01_01", filepath.Join(dir, "..data")))
	must(t, os.Symlink("..data/crm.yaml", filepath.Join(dir, "crm.yaml")))

	s, log := newScheduler(t, dir, Options{Debounce: 50 * time.Millisecond})
	if problems := s.Reload(true); len(problems) != 0 {
		t.Fatal(problems)
	}
	h1 := pipelineHash(s, "crm")
	startWatch(t, s, log)

	write("..2025_01_02", strings.Replace(v1, "name: name", "name: {path: name, type: string}", 1))
	must(t, os.Symlink("..2025_01_02", filepath.Join(dir, "..data_tmp")))
	must(t, os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")))
	must(t, os.RemoveAll(filepath.Join(dir, "..2025_01_01")))
	eventually(t, 3*time.Second, "the ..data swap is not picked up", func() bool {
		h := pipelineHash(s, "crm")
		return h != "" && h != h1
	})
	if st := s.Status(); len(st.Files) != 1 || st.Files[0].File != filepath.Join(dir, "crm.yaml") {
		t.Fatalf("files %+v: the ..data folders must not count as pipeline files", st.Files)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestHalfSavedFileKeepsItsPlan: an editor saves a half-typed pipeline
// file that no longer parses. The file is not taken for removed: its
// plan stays loaded, its problem shows with its line, the reload gauge
// goes to 0, and the fixed save brings it back to 1.
func TestHalfSavedFileKeepsItsPlan(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.yaml")
	good := httpPipeline("alpha", "http://127.0.0.1:1", "", "items")
	if err := os.WriteFile(a, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	s, _ := newScheduler(t, dir, Options{})
	if problems := s.Reload(true); len(problems) != 0 {
		t.Fatal(problems)
	}
	reg := s.Metrics().Registry
	h1 := pipelineHash(s, "alpha")
	for _, broken := range []string{
		good + "entities: [unclosed\n", // a syntax error on the last line
		"{{{",                          // not YAML from the first byte
		"",                             // truncated to nothing
	} {
		if err := os.WriteFile(a, []byte(broken), 0o644); err != nil {
			t.Fatal(err)
		}
		problems := s.Reload(false)
		if len(problems) == 0 || problems[0].File != a || problems[0].Line < 1 {
			t.Errorf("%q: problems %v, want one naming %s with a line", broken, problems, a)
		}
		if h := pipelineHash(s, "alpha"); h != h1 {
			t.Errorf("%q: alpha runs plan %q, want the last good one %q", broken, h, h1)
		}
		if v, ok := metricValue(t, reg, "crmsync_config_last_reload_successful", map[string]string{"file": a}); !ok || v != 0 {
			t.Errorf("%q: reload gauge %v (present %v), want 0", broken, v, ok)
		}
	}
	if err := os.WriteFile(a, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	if problems := s.Reload(false); len(problems) != 0 {
		t.Fatal(problems)
	}
	if v, _ := metricValue(t, reg, "crmsync_config_last_reload_successful", map[string]string{"file": a}); v != 1 {
		t.Errorf("reload gauge %v after the fix, want 1", v)
	}
}
