package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/examples/quickstart/mockcrm/crm"
)

// TestRunJSON: run --json prints one JSON document on stdout (and no
// table), with every entity's status, counts and errors.
func TestRunJSON(t *testing.T) {
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "x.db")
	var out, errb bytes.Buffer
	code := run([]string{"run", "--json", "--dest", dsn, "../../examples/quickstart/leads.yaml"}, &out, &errb)
	if code != exitPartial {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var doc struct {
		DryRun   bool   `json:"dry_run"`
		ExitCode int    `json:"exit_code"`
		Status   string `json:"status"`
		Syncs    []struct {
			Pipeline, Entity, Status string
			Processed, Created       int
			Rejected, Filtered       int
			DurationSeconds          float64 `json:"duration_seconds"`
			Errors                   []string
		}
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, out.String())
	}
	if doc.ExitCode != exitPartial || doc.Status != "partial" || len(doc.Syncs) != 1 {
		t.Fatalf("document: %+v", doc)
	}
	s := doc.Syncs[0]
	if s.Pipeline != "quickstart" || s.Entity != "leads" || s.Status != "partial" || s.Processed != 8 || s.Created != 5 || s.Rejected != 2 || s.Filtered != 1 || s.DurationSeconds <= 0 || s.Errors == nil {
		t.Fatalf("sync: %+v", s)
	}
	if strings.Contains(out.String(), "PIPELINE") {
		t.Fatalf("the table was printed too:\n%s", out.String())
	}
}

// TestCheckJSON: check --json: one document, an entry per entity, a
// diagnosis for a failure.
func TestCheckJSON(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"check", "--json", "../../examples/quickstart/leads.yaml"}, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s %s", code, out.String(), errb.String())
	}
	var doc checkReport
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("%v:\n%s", err, out.String())
	}
	if doc.Passed != 1 || doc.Failed != 0 || len(doc.Entities) != 1 || doc.Entities[0].Status != "ok" || doc.Entities[0].Records != 8 {
		t.Fatalf("document: %+v", doc)
	}
	// A CRM that refuses the token: a failure, diagnosed.
	t.Setenv("AUTHORING_CHECK_TOKEN", "check-token-1234")
	refusing := auMockCRM(t, crm.Options{Token: "another-token"})
	file := filepath.Join(t.TempDir(), "crm.yaml")
	os.WriteFile(file, []byte(checkPipeline(refusing.URL, "results")), 0o644)
	out.Reset()
	if code := run([]string{"check", file, "--json"}, &out, &errb); code != exitFailed {
		t.Fatalf("missing data: exit %d: %s", code, out.String())
	}
	doc = checkReport{}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("%v:\n%s", err, out.String())
	}
	if doc.Failed != 1 || doc.Entities[0].Status != "failed" || doc.Entities[0].Diagnosis == nil || doc.Entities[0].Diagnosis.Class != "unauthorized" {
		t.Fatalf("document: %s", out.String())
	}
}

// TestTestJSONAndJUnit: test --json prints one document with a case per
// entity; --junit writes JUnit XML with a testcase per entity, failures
// and skips marked as CI reporters read them.
func TestTestJSONAndJUnit(t *testing.T) {
	dir := t.TempDir()
	src, _ := os.ReadFile("../../examples/quickstart/leads.yaml")
	nofix := filepath.Join(dir, "leads.yaml") // named, no fixtures beside it: a failure
	os.WriteFile(nofix, src, 0o644)
	report := filepath.Join(dir, "junit.xml")
	var out, errb bytes.Buffer
	code := run([]string{"test", "--json", "--junit", report, "../../examples/quickstart/", nofix}, &out, &errb)
	if code != exitFailed {
		t.Fatalf("exit %d: %s %s", code, out.String(), errb.String())
	}
	var doc struct {
		Passed, Failed, Skipped int
		Cases                   []struct {
			Pipeline, Entity, File, Status, Message string
			Records                                 int
			Outcomes                                map[string]int
		}
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf("stdout is not one JSON document: %v\n%s", err, out.String())
	}
	if doc.Passed != 4 || doc.Failed != 1 || len(doc.Cases) != 5 {
		t.Fatalf("document: %s", out.String())
	}
	for _, c := range doc.Cases {
		if c.Entity == "leads" && (c.Status != "passed" || c.Records != 8 || c.Outcomes["ok"] == 0) {
			t.Errorf("leads: %+v", c)
		}
	}

	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var x struct {
		XMLName  xml.Name `xml:"testsuites"`
		Tests    int      `xml:"tests,attr"`
		Failures int      `xml:"failures,attr"`
		Suites   []struct {
			Name  string `xml:"name,attr"`
			Tests int    `xml:"tests,attr"`
			Cases []struct {
				Name      string `xml:"name,attr"`
				Classname string `xml:"classname,attr"`
				Time      string `xml:"time,attr"`
				Failure   *struct {
					Message string `xml:"message,attr"`
					Text    string `xml:",chardata"`
				} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b, &x); err != nil {
		t.Fatalf("%v:\n%s", err, b)
	}
	if !bytes.HasPrefix(b, []byte("<?xml")) || x.Tests != 5 || x.Failures != 1 || len(x.Suites) != 3 {
		t.Fatalf("junit:\n%s", b)
	}
	names := map[string]bool{}
	failed := 0
	for _, s := range x.Suites {
		for _, c := range s.Cases {
			names[c.Classname+"."+c.Name] = true
			if c.Time == "" {
				t.Errorf("%s: no time", c.Name)
			}
			if c.Failure != nil {
				failed++
				if !strings.Contains(c.Failure.Message, "no fixtures folder") {
					t.Errorf("failure message %q", c.Failure.Message)
				}
			}
		}
	}
	for _, n := range []string{"hubspot.contacts", "hubspot.companies", "hubspot.deals", "quickstart.leads", "quickstart.fixtures"} {
		if !names[n] {
			t.Errorf("junit lacks testcase %s: %v", n, names)
		}
	}
	if failed != 1 {
		t.Errorf("%d failures in the XML, want 1", failed)
	}
	// A report that cannot be written is a usage error.
	if code := run([]string{"test", "--junit", filepath.Join(dir, "no", "such", "x.xml"), "../../examples/quickstart/leads.yaml"}, &out, &errb); code != exitUsage {
		t.Errorf("unwritable --junit: exit %d", code)
	}
}
