package pipelines_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tidwall/gjson"

	"github.com/crmsync/crmsync/engine/runner"
)

const (
	athenaKeyID  = "AKIAIOSFODNN7EXAMPLE"
	athenaSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"
	athenaOutput = "s3://hg-athena-results/crmsync/"
)

// athenaTable is one table of testdata/crm/salespro_athena/tables.json.
type athenaTable struct {
	Columns []string    `json:"columns"`
	Types   []string    `json:"types"`
	Rows    [][]*string `json:"rows"`
}

// athenaQuery is one query execution of the fake server.
type athenaQuery struct {
	table string
	rows  [][]*string
	polls int
	final string // the state after QUEUED and RUNNING
}

// fakeAthena answers Athena's JSON 1.1 API (see testdata/crm/salespro_athena/README.md
// for the reference pages): it verifies each request's SigV4 signature,
// runs each query QUEUED → RUNNING → SUCCEEDED (or the state mode gives
// its table), filters the rows by the watermark in the query, and pages
// the results two rows at a time, the header row first.
type fakeAthena struct {
	*httptest.Server
	mu      sync.Mutex
	tables  map[string]*athenaTable
	queries map[string]*athenaQuery
	mode    map[string]string // table → FAILED, CANCELLED or STUCK
	starts  map[string][]string
	calls   map[string]int // by action
	bad     []string
	// throttle answers this many GetQueryResults calls with Athena's
	// throttling 400 first.
	throttle int
}

var (
	fromRE      = regexp.MustCompile(`\bFROM (\w+)`)
	watermarkRE = regexp.MustCompile(`NULLIF\('([^']*)', ''\)`)
)

func newFakeAthena(t *testing.T) *fakeAthena {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "crm", "salespro_athena", "tables.json"))
	if err != nil {
		t.Fatal(err)
	}
	a := &fakeAthena{queries: map[string]*athenaQuery{}, mode: map[string]string{}, starts: map[string][]string{}, calls: map[string]int{}}
	if err := json.Unmarshal(b, &a.tables); err != nil {
		t.Fatal(err)
	}
	a.Server = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.Close)
	return a
}

func (a *fakeAthena) fail(w http.ResponseWriter, typ, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(400)
	fmt.Fprintf(w, `{"__type":%q,"Message":%q}`, typ, msg)
}

func (a *fakeAthena) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	a.mu.Lock()
	defer a.mu.Unlock()
	if why := verifySigV4(r, body, athenaKeyID, athenaSecret, "us-east-1", "athena"); why != "" {
		a.bad = append(a.bad, why)
		w.WriteHeader(403)
		fmt.Fprintf(w, `{"__type":"InvalidSignatureException","message":%q}`, why)
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/" || r.Header.Get("Content-Type") != "application/x-amz-json-1.1" {
		a.fail(w, "InvalidRequestException", "want POST / with Content-Type application/x-amz-json-1.1")
		return
	}
	action := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AmazonAthena.")
	a.calls[action]++
	req := gjson.ParseBytes(body)
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	switch action {
	case "StartQueryExecution":
		if req.Get("QueryExecutionContext.Database").String() != "home_genius_db" || req.Get("WorkGroup").String() != "primary" ||
			req.Get("ResultConfiguration.OutputLocation").String() != athenaOutput {
			a.fail(w, "InvalidRequestException", "database, workgroup or output location: "+string(body))
			return
		}
		q := req.Get("QueryString").String()
		m := fromRE.FindStringSubmatch(q)
		tb := a.tables[m[1]]
		if m == nil || tb == nil {
			a.fail(w, "InvalidRequestException", "no such table in "+q)
			return
		}
		a.starts[m[1]] = append(a.starts[m[1]], q)
		wm := ""
		if mm := watermarkRE.FindStringSubmatch(q); mm != nil {
			wm = mm[1]
		}
		col := func(row []*string, name string) string {
			i := slices.Index(tb.Columns, name)
			if i < 0 || row[i] == nil {
				return ""
			}
			return *row[i]
		}
		var rows [][]*string
		for _, row := range tb.Rows {
			if row[0] == nil || *row[0] == "" {
				continue // the key IS NOT NULL AND <> '' filters
			}
			u, c := col(row, "updated_at"), col(row, "created_at")
			if wm == "" || (u != "" && u >= wm) || (u == "" && c != "" && c >= wm) {
				rows = append(rows, row)
			}
		}
		id := fmt.Sprintf("%08d-athena-query", len(a.queries)+1)
		final := "SUCCEEDED"
		if f := a.mode[m[1]]; f != "" {
			final = f
		}
		a.queries[id] = &athenaQuery{table: m[1], rows: rows, final: final}
		fmt.Fprintf(w, `{"QueryExecutionId":%q}`, id)
	case "GetQueryExecution":
		q := a.queries[req.Get("QueryExecutionId").String()]
		if q == nil {
			a.fail(w, "InvalidRequestException", "QueryExecution "+req.Get("QueryExecutionId").String()+" was not found")
			return
		}
		state, reason := []string{"QUEUED", "RUNNING"}[min(q.polls, 1)], ""
		if q.polls >= 2 && q.final != "STUCK" {
			state = q.final
		}
		switch state {
		case "FAILED":
			reason = "COLUMN_NOT_FOUND: line 1:8: Column 'sale_amount' cannot be resolved"
		case "CANCELLED":
			reason = "Query cancelled by user"
		}
		q.polls++
		st := map[string]any{"State": state, "SubmissionDateTime": 1.7649e9}
		if reason != "" {
			st["StateChangeReason"] = reason
		}
		out, _ := json.Marshal(map[string]any{"QueryExecution": map[string]any{
			"QueryExecutionId": req.Get("QueryExecutionId").String(), "StatementType": "DML", "WorkGroup": "primary",
			"QueryExecutionContext": map[string]any{"Database": "home_genius_db", "Catalog": "awsdatacatalog"}, "Status": st}})
		w.Write(out)
	case "GetQueryResults":
		if a.throttle > 0 {
			a.throttle--
			a.fail(w, "ThrottlingException", "Rate exceeded")
			return
		}
		q := a.queries[req.Get("QueryExecutionId").String()]
		if q == nil || q.polls < 3 || q.final != "SUCCEEDED" {
			a.fail(w, "InvalidRequestException", "Query has not yet finished. Current state: RUNNING")
			return
		}
		tb := a.tables[q.table]
		off := 0
		if tok := req.Get("NextToken").String(); tok != "" {
			off, _ = strconv.Atoi(strings.TrimPrefix(tok, "page-at-"))
		}
		var out []map[string]any
		cells := func(vals []*string) map[string]any {
			data := make([]map[string]any, len(vals))
			for i, v := range vals {
				data[i] = map[string]any{}
				if v != nil {
					data[i]["VarCharValue"] = *v
				}
			}
			return map[string]any{"Data": data}
		}
		n := 2
		if off == 0 {
			names := make([]*string, len(tb.Columns))
			for i := range tb.Columns {
				names[i] = &tb.Columns[i]
			}
			out = append(out, cells(names))
			n = 1
		}
		end := min(off+n, len(q.rows))
		for _, row := range q.rows[off:end] {
			out = append(out, cells(row))
		}
		info := make([]map[string]any, len(tb.Columns))
		for i, c := range tb.Columns {
			info[i] = map[string]any{"CatalogName": "hive", "Name": c, "Label": c, "Type": tb.Types[i], "Nullable": "UNKNOWN", "CaseSensitive": tb.Types[i] == "varchar"}
		}
		res := map[string]any{"UpdateCount": 0, "ResultSet": map[string]any{"Rows": out, "ResultSetMetadata": map[string]any{"ColumnInfo": info}}}
		if end < len(q.rows) {
			res["NextToken"] = "page-at-" + strconv.Itoa(end)
		}
		b, _ := json.Marshal(res)
		w.Write(b)
	default:
		a.fail(w, "UnknownOperationException", action)
	}
}

// verifySigV4 recomputes a request's AWS Signature V4 from what arrived
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html):
// "" when it matches.
func verifySigV4(r *http.Request, body []byte, keyID, secret, region, service string) string {
	rest, ok := strings.CutPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ")
	if !ok {
		return "no AWS4-HMAC-SHA256 Authorization header"
	}
	f := map[string]string{}
	for _, p := range strings.Split(rest, ", ") {
		k, v, _ := strings.Cut(p, "=")
		f[k] = v
	}
	date := r.Header.Get("X-Amz-Date")
	if len(date) != 16 {
		return "no X-Amz-Date"
	}
	scope := date[:8] + "/" + region + "/" + service + "/aws4_request"
	if f["Credential"] != keyID+"/"+scope {
		return "wrong credential scope " + f["Credential"]
	}
	signed := strings.Split(f["SignedHeaders"], ";")
	if !slices.Contains(signed, "x-amz-target") || !slices.Contains(signed, "content-type") {
		return "x-amz-target and content-type must be signed"
	}
	var ch strings.Builder
	for _, h := range signed {
		v := r.Header.Get(h)
		if h == "host" {
			v = r.Host
		}
		ch.WriteString(h + ":" + strings.Join(strings.Fields(v), " ") + "\n")
	}
	keys := make([]string, 0)
	for k := range r.URL.Query() {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var cq []string
	for _, k := range keys {
		cq = append(cq, k+"="+r.URL.Query().Get(k))
	}
	sum := sha256.Sum256(body)
	creq := sha256.Sum256([]byte(strings.Join([]string{r.Method, r.URL.EscapedPath(), strings.Join(cq, "&"), ch.String(), f["SignedHeaders"], hex.EncodeToString(sum[:])}, "\n")))
	mac := func(k []byte, s string) []byte { m := hmac.New(sha256.New, k); m.Write([]byte(s)); return m.Sum(nil) }
	k := mac(mac(mac(mac([]byte("AWS4"+secret), date[:8]), region), service), "aws4_request")
	if hex.EncodeToString(mac(k, "AWS4-HMAC-SHA256\n"+date+"\n"+scope+"\n"+hex.EncodeToString(creq[:]))) != f["Signature"] {
		return "signature does not match"
	}
	return ""
}

func athenaEnv(srv *fakeAthena, extra ...string) map[string]string {
	env := map[string]string{
		"ATHENA_BASE_URL": srv.URL, "AWS_REGION": "us-east-1",
		"AWS_ACCESS_KEY_ID": athenaKeyID, "AWS_SECRET_ACCESS_KEY": athenaSecret,
		"SALESPRO_ATHENA_OUTPUT": athenaOutput, "SALESPRO_ATHENA_POLL_EVERY": "1ms",
		"SALESPRO_ATHENA_RATE_LIMIT": "1000",
	}
	for i := 0; i+1 < len(extra); i += 2 {
		env[extra[i]] = extra[i+1]
	}
	return env
}

// TestSalesProAthena runs pipelines/salespro_athena.yaml against the fake
// Athena into PostgreSQL: every table through start, three polls and
// paged results; then a second incremental run whose queries hold the
// watermarks.
func TestSalesProAthena(t *testing.T) {
	srv := newFakeAthena(t)
	srv.throttle = 1 // Athena throttles with a 400: retry.when tries it again
	plan := loadPlan(t, "salespro_athena", athenaEnv(srv))
	d := openDest(t)
	logs := &logBuffer{}

	res := syncRound(t, plan, d, logs, runner.Options{})
	if len(srv.bad) > 0 {
		t.Fatalf("requests with bad signatures: %v", srv.bad)
	}
	wantCounts(t, res, map[string]counts{
		"customer":            {Processed: 3, Created: 3},
		"estimate":            {Processed: 3, Created: 3},
		"credit_applications": {Processed: 2, Created: 2},
		"lead_results":        {Processed: 2, Created: 2},
	})
	// 4 queries; each polled three times; results of 3 rows + header are
	// 2 pages, and one page was throttled once.
	if srv.calls["StartQueryExecution"] != 4 || srv.calls["GetQueryExecution"] != 12 || srv.calls["GetQueryResults"] != 9 {
		t.Errorf("calls = %v", srv.calls)
	}
	for table, qs := range srv.starts {
		if !strings.Contains(qs[0], "NULLIF('', '')") {
			t.Errorf("the first query of %s has a watermark: %s", table, qs[0])
		}
	}
	d.wantTypes(t, "salespro_athena_estimate", map[string]string{
		"sale_amount": "numeric", "is_sale": "boolean", "document_count": "bigint", "updated_at": "timestamp with time zone",
	})
	wantRows(t, d, `SELECT customer_id, customer_name, crm_source, updated_at FROM salespro_athena_customer ORDER BY customer_id`,
		"C-1|Maria Gonzalez|hubspot|2026-11-30T09:15:00Z",
		"C-2|Tom Baker|genius|2026-11-30T11:00:00Z",
		"C-3|Dana|∅|2026-12-01T08:30:00Z",
	)
	wantRows(t, d, `SELECT estimate_id, sale_amount, is_sale, finance_amount, document_count, state, zip_code, updated_at FROM salespro_athena_estimate ORDER BY estimate_id`,
		"E-1|13800.50|true|10000.00|3|CO|80202|2026-11-30T09:20:00Z",
		"E-2|0.00|false|∅|1|TX|78701|2026-11-30T11:05:00Z",
		"E-3|9000|true|∅|0|TX|78701|∅",
	)
	wantRows(t, d, `SELECT leap_credit_app_id, credit_app_amount, credit_app_status FROM salespro_athena_credit_applications ORDER BY 1`,
		"CA-1|10000.00|Approved", "CA-2|5000.00|Declined") // one_of with ignore_case writes the listed spelling
	wantRows(t, d, `SELECT estimate_id, appointment_result, deposit_amount, lead_source, appointment_date FROM salespro_athena_lead_results ORDER BY 1`,
		"E-1|Sold|1500.00|Door Knock|2026-11-28T00:00:00Z", "E-2|No Sale|∅|∅|∅")
	wantRows(t, d, `SELECT estimate_id, job_type_number, job_type, job_type_amount, job_size FROM salespro_athena_lead_results_line_items ORDER BY 1, 2`,
		"E-1|1|Roofing|12000|∅", "E-1|2|Gutters|1800.50|∅", "E-2|1|Siding|∅|1800 sq ft")
	if strings.Contains(logs.String(), athenaSecret) {
		t.Error("the secret key is in the logs")
	}

	// An estimate changes and a customer arrives; the second run's queries
	// carry each table's watermark less the 5 minute lookback.
	srv.mu.Lock()
	e2 := srv.tables["estimate"].Rows[1]
	upd, amt := "2026-12-01 10:00:00.000", "500.00"
	e2[15], e2[25] = &amt, &upd
	c4 := "C-4"
	row := slices.Clone(srv.tables["customer"].Rows[2])
	row[0], row[8] = &c4, &upd
	srv.tables["customer"].Rows = append(srv.tables["customer"].Rows, row)
	srv.mu.Unlock()

	res = syncRound(t, plan, d, logs, runner.Options{})
	wantCounts(t, res, map[string]counts{
		"customer":            {Processed: 2, Created: 1, Unchanged: 1},
		"estimate":            {Processed: 2, Updated: 1, Unchanged: 1}, // E-3 by its created_at
		"credit_applications": {Processed: 1, Unchanged: 1},
		"lead_results":        {Processed: 1, Unchanged: 1},
	})
	for table, want := range map[string]string{
		"customer": "2026-12-01 08:25:00", "estimate": "2026-11-30 11:00:00",
		"credit_applications": "2026-11-30 09:55:00", "lead_results": "2026-11-30 11:55:00",
	} {
		if q := srv.starts[table][1]; !strings.Contains(q, "NULLIF('"+want+"', '')") {
			t.Errorf("the second query of %s lacks the watermark %s: %s", table, want, q)
		}
	}
	wantRows(t, d, `SELECT estimate_id, sale_amount, updated_at FROM salespro_athena_estimate WHERE estimate_id = 'E-2'`, "E-2|500.00|2026-12-01T10:00:00Z")
	if n := d.count(t, "salespro_athena_customer"); n != 4 {
		t.Errorf("%d customers, want 4", n)
	}
	if len(srv.bad) > 0 {
		t.Errorf("requests with bad signatures: %v", srv.bad)
	}
}

// TestSalesProAthenaJobFails: a query that ends FAILED or CANCELLED, or
// never finishes, fails its sync with the reason, naming the entity and
// the query; nothing is committed and what the first run committed stays
// (rows and watermark).
func TestSalesProAthenaJobFails(t *testing.T) {
	srv := newFakeAthena(t)
	d := openDest(t)
	plan := loadPlan(t, "salespro_athena", athenaEnv(srv))
	syncRound(t, plan, d, nil, runner.Options{})
	before := d.rows(t, `SELECT estimate_id, sale_amount, updated_at FROM salespro_athena_estimate ORDER BY 1`)
	wm := d.watermark(t, "salespro_athena", "estimate")

	cases := []struct {
		mode, timeout string
		want          []string
	}{
		{"FAILED", "10m", []string{`entity "estimate": job 00000005-athena-query: poll 3: POST`, "the job failed", "COLUMN_NOT_FOUND: line 1:8: Column 'sale_amount' cannot be resolved"}},
		{"CANCELLED", "10m", []string{`entity "estimate": job 00000006-athena-query: poll 3`, "Query cancelled by user"}},
		{"STUCK", "40ms", []string{`entity "estimate": job 00000007-athena-query: poll`, "the job did not finish within 40ms (job.timeout", "RUNNING"}},
	}
	for _, c := range cases {
		t.Run(c.mode, func(t *testing.T) {
			srv.mu.Lock()
			srv.mode["estimate"] = c.mode
			// a change the failed read must not bring
			amt := "1.00"
			srv.tables["estimate"].Rows[0][15] = &amt
			srv.mu.Unlock()
			p := loadPlan(t, "salespro_athena", athenaEnv(srv, "SALESPRO_ATHENA_POLL_EVERY", "10ms", "SALESPRO_ATHENA_QUERY_TIMEOUT", c.timeout))
			r := runner.Sync(context.Background(), p, p.Entity("estimate"), runner.Options{Dest: d.Destination, Logger: (&logBuffer{}).logger()})
			if r.Err == nil {
				t.Fatal("the sync succeeded")
			}
			for _, w := range c.want {
				if !strings.Contains(r.Err.Error(), w) {
					t.Errorf("error %q\nlacks %q", r.Err, w)
				}
			}
			if strings.Contains(r.Err.Error(), athenaSecret) {
				t.Error("the secret is in the error")
			}
			if got := d.rows(t, `SELECT estimate_id, sale_amount, updated_at FROM salespro_athena_estimate ORDER BY 1`); strings.Join(got, "\n") != strings.Join(before, "\n") {
				t.Errorf("rows changed:\n%v\nwant\n%v", got, before)
			}
			if got := d.watermark(t, "salespro_athena", "estimate"); got != wm {
				t.Errorf("watermark %q, want %q", got, wm)
			}
		})
	}
}
