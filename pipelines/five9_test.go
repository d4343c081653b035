package pipelines_test

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestFive9 runs pipelines/five9.yaml against recorded SOAP answers:
// getListsInfo, then getContactRecords per list (a child entity over an
// XML parent, its name XML-escaped into the envelope), HTTP Basic, the
// first run from 30 days back, the second from the newest
// sys_last_disposition_time less 24 hours; then a SOAP fault.
func TestFive9(t *testing.T) {
	const user, pass = "api.admin@example.com", "f9-s3cret-pass"
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	srv := newFixtures(t, "five9", func(r *http.Request) error {
		if err := wantHeader("Authorization", basic)(r); err != nil {
			return err
		}
		if err := wantHeader("Content-Type", "text/xml; charset=utf-8")(r); err != nil {
			return err
		}
		return wantHeader("SOAPAction", `""`)(r)
	})
	plan := loadPlan(t, "five9", map[string]string{
		"FIVE9_USERNAME":   user,
		"FIVE9_PASSWORD":   pass,
		"FIVE9_RATE_LIMIT": "1000",
	})
	d := openDest(t)
	logs := &logBuffer{}

	// The first run asks from 30 days back. five9.fixtures was recorded
	// from a stored watermark instead (contacts/state.json: crmsync test
	// cannot match a time relative to now), so the time each request
	// sends is checked here and then given the recorded one.
	since := regexp.MustCompile(`(<field>sys_last_disposition_time</field>\s*<value>)([^<]*)(</value>)`)
	var sent []string
	srv.edit = func(r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if m := since.FindSubmatch(b); m != nil {
			sent = append(sent, string(m[2]))
			b = since.ReplaceAll(b, []byte("${1}2024-03-31 00:00:00${3}"))
		}
		r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
	}
	before := time.Now().UTC()
	res := srv.round(t, plan, d, logs, 1)
	after := time.Now().UTC()
	srv.edit = nil
	wantCounts(t, res, map[string]counts{
		"lists":    {Processed: 2, Created: 2},
		"contacts": {Processed: 3, Created: 3},
	})
	if len(sent) != 2 {
		t.Fatalf("run 1 sent sys_last_disposition_time %d times, want 2 (once per list)", len(sent))
	}
	for _, s := range sent {
		got, err := time.Parse("2006-01-02 15:04:05", s)
		lo, hi := before.Add(-30*24*time.Hour).Truncate(time.Second), after.Add(-30*24*time.Hour)
		if err != nil || got.Before(lo) || got.After(hi) {
			t.Errorf("run 1 sent %q, want a time 30 days before the run (%s … %s)", s, lo, hi)
		}
	}
	wantRows(t, d, `SELECT name, size, _deleted_at IS NULL FROM five9_lists ORDER BY name`, "Leads May|2|true", "Web & Partner|1|true")
	wantRows(t, d, `SELECT list_name, number1, number2, first_name, company, email, sys_last_disposition, sys_last_disposition_time FROM five9_contacts ORDER BY list_name, number1`,
		"Leads May|3035550142|∅|Maria||maria@example.com|No Answer|2024-05-01T10:15:30Z",
		"Leads May|5125550177|5125550178|Tom|Baker & Co|tom@example.com|Callback|2024-04-30T16:00:00Z",
		"Web & Partner|7205550100|∅|Dana||∅|Sale|2024-04-29T09:00:00Z",
	)

	res = srv.round(t, plan, d, logs, 2)
	wantCounts(t, res, map[string]counts{
		"lists":    {Processed: 2, Unchanged: 2},
		"contacts": {Processed: 2, Created: 1, Updated: 1},
	})
	wantRows(t, d, `SELECT list_name, number1, sys_last_disposition, sys_last_agent FROM five9_contacts ORDER BY list_name, number1`,
		"Leads May|3035550142|Sale|agent.two@example.com",
		"Leads May|3035550199|No Answer|agent.one@example.com",
		"Leads May|5125550177|Callback|agent.two@example.com",
		"Web & Partner|7205550100|Sale|agent.one@example.com",
	)

	// A SOAP fault: the entity fails with Five9's faultstring after one
	// try (a client fault), naming the entity and the request; what was
	// committed stays.
	r := srv.sync(t, plan, plan.Entity("contacts"), d, logs, filepath.Join("testdata", "five9-bad", "contacts"))
	if r.Err == nil {
		t.Fatal("run 3: no error from a SOAP fault")
	}
	for _, want := range []string{`entity "contacts"`, "POST https://api.five9.com/wsadmin/v12/AdminWebService", "status 500",
		"SOAP fault env:Client: Contact field 'list_name' doesn't exist", "ObjectDoesntExistFault"} {
		if !strings.Contains(r.Err.Error(), want) {
			t.Errorf("run 3 error %q\nlacks %q", r.Err, want)
		}
	}
	if strings.Contains(r.Err.Error(), pass) || strings.Contains(logs.String(), pass) {
		t.Error("the Five9 password shows in the output")
	}
	if n := d.count(t, "five9_contacts"); n != 4 {
		t.Errorf("after the fault: %d contacts, want the 4 committed", n)
	}
}
