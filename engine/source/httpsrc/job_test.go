package httpsrc

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/crmsync/crmsync/engine/source"
)

// jobYAML is an Athena-shaped entity: JSON-1.1 X-Amz-Target calls, each
// signed with SigV4, a job started, polled and paged by NextToken.
const jobYAML = `
version: 1
name: t
source:
  type: http
  base_url: BASE
  retry: {attempts: 3, initial: 10ms, max: 20ms}
  headers: {Content-Type: application/x-amz-json-1.1}
  auth:
    type: aws_sigv4
    service: athena
    region: us-east-1
    access_key_id: AKIDEXAMPLE
    secret_access_key: ${env:AWS_SECRET}
entities:
  rows:
    job:
      start:
        method: POST
        headers: {X-Amz-Target: AmazonAthena.StartQueryExecution}
        body: {QueryString: "SELECT id FROM t WHERE updated_at >= '{{ watermark }}'", WorkGroup: primary}
      id: QueryExecutionId
      poll:
        method: POST
        headers: {X-Amz-Target: AmazonAthena.GetQueryExecution}
        body: {QueryExecutionId: "{{ job.id }}"}
      every: EVERY
      timeout: TIMEOUT
      done_when: 'QueryExecution.Status.State == "SUCCEEDED"'
      fail_when: 'QueryExecution.Status.State in ["FAILED", "CANCELLED"]'
      fail_message: QueryExecution.Status.StateChangeReason
    request:
      method: POST
      headers: {X-Amz-Target: AmazonAthena.GetQueryResults}
      body: {QueryExecutionId: "{{ job.id }}", MaxResults: 2, Note: "{{ job.QueryExecution.Status.State }}"}
    records: ResultSet.Rows
    paginate: {style: cursor, cursor: NextToken, param: NextToken, in: body}
    incremental: {field: updated_at}
    fields: {id: Data.0.VarCharValue, updated_at: {path: Data.1.VarCharValue, type: datetime}}
`

const jobSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

// jobServer answers like Athena: each poll moves the job one state along
// states; results come two rows a page. It refuses any request whose
// signature does not verify.
type jobServer struct {
	states  []string // the state each poll reports, the last repeated
	reason  string
	fail5xx int // answer this many first requests with 500

	mu      sync.Mutex
	polls   int
	targets []string
	bodies  []string
	bad     []string
}

func (s *jobServer) serve(t *testing.T) *fakeAPI {
	v := sigv4Verifier{accessKey: "AKIDEXAMPLE", secret: jobSecret, region: "us-east-1", service: "athena"}
	return newFake(t, func(w http.ResponseWriter, r *http.Request, body string, n int) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if why := v.verify(r, []byte(body)); why != "" {
			s.bad = append(s.bad, why)
			writeJSON(w, 403, []byte(`{"__type":"InvalidSignatureException","message":"`+why+`"}`))
			return
		}
		if n <= s.fail5xx {
			writeJSON(w, 500, []byte(`{"__type":"InternalServerException","Message":"try again"}`))
			return
		}
		target := r.Header.Get("X-Amz-Target")
		s.targets = append(s.targets, strings.TrimPrefix(target, "AmazonAthena."))
		s.bodies = append(s.bodies, body)
		switch target {
		case "AmazonAthena.StartQueryExecution":
			writeJSON(w, 200, []byte(`{"QueryExecutionId":"q-1"}`))
		case "AmazonAthena.GetQueryExecution":
			st := s.states[min(s.polls, len(s.states)-1)]
			s.polls++
			writeJSON(w, 200, []byte(fmt.Sprintf(`{"QueryExecution":{"QueryExecutionId":%q,"Status":{"State":%q,"StateChangeReason":%q}}}`,
				gjson.Get(body, "QueryExecutionId").String(), st, s.reason)))
		case "AmazonAthena.GetQueryResults":
			row := func(id string) string {
				return `{"Data":[{"VarCharValue":"` + id + `"},{"VarCharValue":"2026-12-0` + id + ` 10:00:00"}]}`
			}
			if gjson.Get(body, "NextToken").String() == "" {
				writeJSON(w, 200, []byte(`{"ResultSet":{"Rows":[{"Data":[{"VarCharValue":"id"},{"VarCharValue":"updated_at"}]},`+row("1")+`]},"NextToken":"tok-2"}`))
				return
			}
			writeJSON(w, 200, []byte(`{"ResultSet":{"Rows":[`+row("2")+`,`+row("3")+`]}}`))
		default:
			writeJSON(w, 400, []byte(`{"__type":"UnknownOperationException"}`))
		}
	})
}

func jobPipeline(every, timeout string) string {
	return strings.NewReplacer("EVERY", every, "TIMEOUT", timeout).Replace(jobYAML)
}

// TestJobStartPollPage: the job is started with the watermark, polled
// through QUEUED and RUNNING, and its results paged by NextToken with
// {{ job.id }}; every request, the retried one too, is signed.
func TestJobStartPollPage(t *testing.T) {
	s := &jobServer{states: []string{"QUEUED", "RUNNING", "SUCCEEDED"}, fail5xx: 1}
	srv := s.serve(t)
	r := openYAML(t, jobPipeline("1ms", "10s"), srv.URL, map[string]string{"AWS_SECRET": jobSecret})
	pages, err := readAllPages(t, r, source.ReadState{Incremental: true, Watermark: "2026-12-01T00:00:00Z"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ids(pages, "Data.0.VarCharValue"), ","); got != "id,1,2,3" {
		t.Errorf("rows = %s", got)
	}
	if got := strings.Join(s.targets, ","); got != "StartQueryExecution,GetQueryExecution,GetQueryExecution,GetQueryExecution,GetQueryResults,GetQueryResults" {
		t.Errorf("calls = %s", got)
	}
	if len(s.bad) > 0 {
		t.Errorf("bad signatures: %v", s.bad)
	}
	if q := gjson.Get(s.bodies[0], "QueryString").String(); !strings.Contains(q, "updated_at >= '2026-12-01T00:00:00Z'") {
		t.Errorf("start query = %q, want the watermark in it", q)
	}
	if got := gjson.Get(s.bodies[1], "QueryExecutionId").String(); got != "q-1" {
		t.Errorf("poll sent QueryExecutionId %q", got)
	}
	first, second := s.bodies[4], s.bodies[5]
	if gjson.Get(first, "QueryExecutionId").String() != "q-1" || gjson.Get(first, "Note").String() != "SUCCEEDED" || gjson.Get(first, "NextToken").Exists() {
		t.Errorf("first results request = %s", first)
	}
	if gjson.Get(second, "NextToken").String() != "tok-2" || gjson.Get(second, "MaxResults").Int() != 2 {
		t.Errorf("second results request = %s", second)
	}
	for _, p := range pages {
		if p.Resume != "" {
			t.Errorf("page %d has a resume position %s: a job is never resumed", p.Number, p.Resume)
		}
	}
	if st := r.Reader.(source.StatsReporter).Stats(); st.APICalls != 7 || st.Retries != 1 {
		t.Errorf("stats = %+v, want 7 calls, 1 retry", st)
	}
	if strings.Contains(r.logs.String(), jobSecret) {
		t.Error("the secret key is in the logs")
	}
}

// TestJobFails: a job that ends FAILED or CANCELLED, or never finishes,
// is an error naming the entity, the job, the poll and the reason; no page
// is emitted.
func TestJobFails(t *testing.T) {
	cases := []struct {
		name, every, timeout string
		states               []string
		want                 []string
	}{
		{"failed", "1ms", "10s", []string{"RUNNING", "FAILED"}, []string{`entity "rows": job q-1: poll 2: POST`, `the job failed (fail_when`, "SYNTAX_ERROR: line 1:8: Column 'x' cannot be resolved"}},
		{"cancelled", "1ms", "10s", []string{"CANCELLED"}, []string{`job q-1: poll 1`, "the job failed", "SYNTAX_ERROR"}},
		{"timeout", "5ms", "30ms", []string{"RUNNING"}, []string{`entity "rows": job q-1: poll`, "the job did not finish within 30ms (job.timeout", `RUNNING`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := &jobServer{states: c.states, reason: "SYNTAX_ERROR: line 1:8: Column 'x' cannot be resolved"}
			srv := s.serve(t)
			r := openYAML(t, jobPipeline(c.every, c.timeout), srv.URL, map[string]string{"AWS_SECRET": jobSecret})
			pages, err := readAllPages(t, r, source.ReadState{})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nlacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), jobSecret) {
				t.Error("the secret is in the error")
			}
			if len(pages) != 0 {
				t.Errorf("%d pages emitted before the error", len(pages))
			}
			for _, tg := range s.targets {
				if tg == "GetQueryResults" {
					t.Error("results were asked for")
				}
			}
		})
	}
}

// TestJobStartFails: a start response without the id path, or a start
// the server refuses (Athena: 400 InvalidRequestException for bad SQL),
// fails at the start, quoting the body; no poll is sent.
func TestJobStartFails(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		want   string
	}{
		{"no id", 200, `{"Id":"x"}`, `no job id at "QueryExecutionId" (job.id)`},
		{"refused", 400, `{"__type":"InvalidRequestException","Message":"line 1:8: mismatched input 'FORM'"}`, `status 400: the server answered Bad Request; body starts "{\"__type\":\"InvalidRequestException\",\"Message\":\"line 1:8: mismatched input 'FORM'\"}"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := newFake(t, func(w http.ResponseWriter, r *http.Request, body string, n int) {
				writeJSON(w, c.status, []byte(c.body))
			})
			r := openYAML(t, jobPipeline("1ms", "1s"), srv.URL, map[string]string{"AWS_SECRET": jobSecret})
			_, err := readAllPages(t, r, source.ReadState{})
			if err == nil || !strings.Contains(err.Error(), `entity "rows": job start: POST`) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v\nwant %s", err, c.want)
			}
			if n := len(srv.requests()); n != 1 {
				t.Errorf("%d requests, want the start only", n)
			}
		})
	}
}

// TestJobCompile: what lint says about bad job settings.
func TestJobCompile(t *testing.T) {
	base := jobPipeline("2s", "10m")
	cases := []struct {
		name      string
		from, to  string
		wantPath  string
		wantMatch string
	}{
		{"no start", "      start:\n        method: POST\n        headers: {X-Amz-Target: AmazonAthena.StartQueryExecution}\n        body: {QueryString: \"SELECT id FROM t WHERE updated_at >= '{{ watermark }}'\", WorkGroup: primary}\n", "", "/entities/rows/job/start", "job needs start"},
		{"no id", "      id: QueryExecutionId\n", "", "/entities/rows/job/id", "job needs id"},
		{"no done_when", "      done_when: 'QueryExecution.Status.State == \"SUCCEEDED\"'\n", "", "/entities/rows/job/done_when", "job needs done_when"},
		{"bad expr", `done_when: 'QueryExecution.Status.State == "SUCCEEDED"'`, `done_when: 'State =='`, "/entities/rows/job/done_when", "job.done_when"},
		{"job.id in start", "WorkGroup: primary}", "WorkGroup: \"{{ job.id }}\"}", "/entities/rows/job/start", "not set yet when the job starts"},
		{"bad timeout", "timeout: 10m", "timeout: 0s", "/entities/rows/job/timeout", "above 0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			yml := strings.Replace(base, c.from, c.to, 1)
			if yml == base {
				t.Fatal("replacement did nothing")
			}
			_, probs := compileYAML(t, yml, "http://127.0.0.1:1")
			found := false
			for _, p := range probs {
				if p.Path == c.wantPath && strings.Contains(p.Message, c.wantMatch) {
					found = true
				}
			}
			if !found {
				t.Errorf("problems %v lack %s: %s", probs, c.wantPath, c.wantMatch)
			}
		})
	}
	// {{ job.id }} in a request without job:
	noJob := `
version: 1
name: t
source: {type: http, base_url: http://127.0.0.1:1}
entities:
  rows:
    request: {method: POST, body: {Id: "{{ job.id }}"}}
    fields: {id: id}
`
	_, probs := compileYAML(t, noJob, "")
	if len(probs) == 0 || !strings.Contains(fmt.Sprint(probs), "only set for an entity with job") {
		t.Errorf("problems = %v", probs)
	}
}
