package main

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/examples/quickstart/mockcrm/crm"
)

const auSecret = "s3cret-token-value"

// TestPreviewGolden: preview shows the request, the mapped records and
// every warning, rejection and filter decision; it writes nothing and
// never prints the token.
func TestPreviewGolden(t *testing.T) {
	srv := auMockCRM(t, crm.Options{Token: auSecret})
	t.Setenv("QUICKSTART_BASE_URL", srv.URL)
	t.Setenv("QUICKSTART_TOKEN", auSecret)
	t.Setenv("CRMSYNC_DEST", "")
	hub, leads := auQuickstart(t, "hubspot.yaml"), auQuickstart(t, "leads.yaml")
	cases := []struct {
		name string
		args []string
	}{
		{"preview_contacts", []string{"preview", hub, "contacts", "--limit", "8"}},
		{"preview_companies_two_pages", []string{"preview", "--limit", "30", hub, "companies"}},
		{"preview_leads_csv", []string{"preview", leads}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			t.Chdir(dir)
			code, out, errOut := auRun(c.args...)
			if code != exitOK {
				t.Fatalf("exit %d\n%s%s", code, out, errOut)
			}
			if strings.Contains(out+errOut, auSecret) {
				t.Errorf("the token appears in the output:\n%s", out)
			}
			if entries, _ := os.ReadDir(dir); len(entries) > 0 {
				t.Errorf("preview wrote %s in the working directory", entries[0].Name())
			}
			auGolden(t, c.name, strings.ReplaceAll(out, srv.URL, "http://CRM"))
		})
	}
}

func TestPreviewJSON(t *testing.T) {
	srv := auMockCRM(t, crm.Options{Token: auSecret})
	t.Setenv("QUICKSTART_BASE_URL", srv.URL)
	t.Setenv("QUICKSTART_TOKEN", auSecret)
	code, out, errOut := auRun("preview", "--json", "--limit", "60", auQuickstart(t, "hubspot.yaml"), "deals")
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	var docs []struct {
		Entity   string
		Pages    int
		Total    int
		Counts   map[string]int
		Requests []struct {
			Method  string
			URL     string
			Headers map[string]string
			Body    map[string]any
			Status  int
			Records *int
		}
		Records []struct {
			Outcome string
			ID      string
			Record  map[string]any
			Reasons []string
			Source  map[string]any
		}
	}
	if err := json.Unmarshal([]byte(out), &docs); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(docs) != 1 || docs[0].Entity != "deals" {
		t.Fatalf("want one doc for deals, got %+v", docs)
	}
	d := docs[0]
	if len(d.Records) != 60 || d.Pages != 2 || d.Total != 120 || len(d.Requests) != 2 {
		t.Fatalf("records %d, pages %d, total %d, requests %d; want 60, 2, 120, 2", len(d.Records), d.Pages, d.Total, len(d.Requests))
	}
	r0 := d.Requests[0]
	if r0.Method != "POST" || r0.Status != 200 || r0.Records == nil || *r0.Records != 50 || r0.Headers["Authorization"] != "[redacted]" {
		t.Errorf("first request: %+v", r0)
	}
	// A first run sends incremental.start (2020-01-01) as epoch ms.
	if v := r0.Body["filterGroups"].([]any)[0].(map[string]any)["filters"].([]any)[0].(map[string]any)["value"]; v != "1577836800000" {
		t.Errorf("watermark in the search body = %v, want 1577836800000", v)
	}
	if after := d.Requests[1].Body["after"]; after != "50" {
		t.Errorf("second request after = %v, want 50", after)
	}
	sum := 0
	for _, n := range d.Counts {
		sum += n
	}
	if sum != 60 {
		t.Errorf("counts %v add up to %d, want 60", d.Counts, sum)
	}
	rejected := 0
	for _, r := range d.Records {
		if r.Source["id"] != r.ID {
			t.Fatalf("record %s: source id %v", r.ID, r.Source["id"])
		}
		if r.Outcome == "rejected" {
			rejected++
			if len(r.Reasons) == 0 || !strings.Contains(r.Reasons[0], "field amount") {
				t.Errorf("rejected deal %s: reasons %q", r.ID, r.Reasons)
			}
		}
	}
	if rejected != d.Counts["rejected"] || rejected == 0 {
		t.Errorf("%d rejected records, counts say %d", rejected, d.Counts["rejected"])
	}
	if strings.Contains(out, auSecret) {
		t.Error("the token appears in the JSON")
	}
}

func TestPreviewUsage(t *testing.T) {
	t.Setenv("QUICKSTART_TOKEN", "")
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no file", []string{"preview"}, "Usage: crmsync preview"},
		{"unknown entity", []string{"preview", auQuickstart(t, "leads.yaml"), "nope"}, `has no entity "nope" (entities: leads)`},
		{"unset secret", []string{"preview", auQuickstart(t, "hubspot.yaml")}, "set the environment variables above"},
		{"record a file source", []string{"preview", "--record", t.TempDir(), auQuickstart(t, "leads.yaml")}, "--record saves HTTP exchanges"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, _, errOut := auRun(c.args...)
			if code != exitUsage || !strings.Contains(errOut, c.want) {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 2 and %q", code, errOut, c.want)
			}
		})
	}
}

// TestPreviewFailure: a read that fails shows the requests and the cause.
func TestPreviewFailure(t *testing.T) {
	srv := auMockCRM(t, crm.Options{Token: "the-right-token"})
	t.Setenv("QUICKSTART_BASE_URL", srv.URL)
	t.Setenv("QUICKSTART_TOKEN", auSecret)
	code, out, errOut := auRun("preview", auQuickstart(t, "hubspot.yaml"), "companies")
	for _, w := range []string{"GET " + srv.URL + "/crm/v3/objects/companies?limit=25", "→ 401 Unauthorized",
		"0 records from 0 pages", "error: the server rejected the credentials (401 Unauthorized)"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if code != exitFailed || strings.Contains(out+errOut, auSecret) {
		t.Errorf("exit %d (want 1), or the token leaked:\n%s%s", code, out, errOut)
	}
}
