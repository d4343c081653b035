package pipelines_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/crmsync/crmsync/engine/runner"
	"github.com/tidwall/gjson"
)

// googleToken is a Google-shaped OAuth 2.0 token endpoint for the JWT
// bearer grant: it verifies the assertion's RS256 signature with the
// service account's public key and its claims, then issues a token.
type googleToken struct {
	pub      *rsa.PublicKey
	email    string
	aud      string
	scopes   string
	mu       sync.Mutex
	issued   int
	problems []string
}

func (g *googleToken) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(body))
	g.mu.Lock()
	defer g.mu.Unlock()
	fail := func(msg string) {
		g.problems = append(g.problems, msg)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		fmt.Fprintf(w, `{"error":"invalid_grant","error_description":%q}`, msg)
	}
	if form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		fail("grant_type " + form.Get("grant_type"))
		return
	}
	parts := strings.Split(form.Get("assertion"), ".")
	if len(parts) != 3 {
		fail("the assertion is not a JWT")
		return
	}
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(g.pub, crypto.SHA256, sum[:], sig); err != nil {
		fail("Invalid JWT Signature.")
		return
	}
	hdr, _ := base64.RawURLEncoding.DecodeString(parts[0])
	cl, _ := base64.RawURLEncoding.DecodeString(parts[1])
	h, c := gjson.ParseBytes(hdr), gjson.ParseBytes(cl)
	if h.Get("alg").String() != "RS256" || h.Get("kid").String() != "8c2f0d1e" {
		fail("header " + string(hdr))
		return
	}
	if c.Get("iss").String() != g.email || c.Get("aud").String() != g.aud || c.Get("scope").String() != g.scopes ||
		c.Get("exp").Int() <= c.Get("iat").Int() {
		fail("claims " + string(cl))
		return
	}
	g.issued++
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	fmt.Fprintf(w, `{"access_token":"ya29.c.test-%d","expires_in":3599,"token_type":"Bearer"}`, g.issued)
}

// TestGoogleSheets runs pipelines/google_sheets.yaml against recorded
// Sheets and Drive answers and a token endpoint that checks the signed
// JWT: run 1 loads both spreadsheets (header rows, ragged rows, a row
// with a cell beyond the header rejected); run 2, with the same
// modifiedTime, reads nothing but the probes; run 3, after an edit of the
// leads spreadsheet, re-reads its tabs and updates exactly what changed
// (spend, unchanged, is skipped again).
func TestGoogleSheets(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))

	const token = "Bearer ya29.c.test-1"
	replay := newReplay(t, "google_sheets", wantHeader("Authorization", token))
	tok := &googleToken{pub: &key.PublicKey, email: "crmsync@marketing-sync.iam.gserviceaccount.com",
		scopes: "https://www.googleapis.com/auth/spreadsheets.readonly https://www.googleapis.com/auth/drive.metadata.readonly"}
	mux := http.NewServeMux()
	mux.Handle("POST /token", tok)
	mux.HandleFunc("/", replay.serve)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	tok.aud = srv.URL + "/token"

	// A service-account key as the Cloud console downloads it.
	sa, _ := json.Marshal(map[string]string{"type": "service_account", "project_id": "marketing-sync", "private_key_id": "8c2f0d1e",
		"private_key": pemKey, "client_email": tok.email, "client_id": "104729384756102938475",
		"auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": "https://oauth2.googleapis.com/token"})
	keyFile := filepath.Join(t.TempDir(), "marketing-sync.json")
	if err := os.WriteFile(keyFile, sa, 0o600); err != nil {
		t.Fatal(err)
	}
	plan := loadPlan(t, "google_sheets", map[string]string{
		"GOOGLE_APPLICATION_CREDENTIALS": keyFile,
		"GOOGLE_SHEETS_LEADS_ID":         "1LeadsSheetId_abc",
		"GOOGLE_SHEETS_SPEND_ID":         "1SpendSheetId_xyz",
		"GOOGLE_SHEETS_BASE_URL":         srv.URL,
		"GOOGLE_DRIVE_BASE_URL":          srv.URL,
		"GOOGLE_TOKEN_URL":               srv.URL + "/token",
		"GOOGLE_SHEETS_RATE_LIMIT":       "1000",
	})
	d := openDest(t)
	logs := &logBuffer{}

	res := syncRound(t, plan, d, logs, runner.Options{})
	replay.served(t, 1)
	wantCounts(t, res, map[string]counts{
		"leads_2024": {Processed: 5, Created: 4, Rejected: 1},
		"leads_2025": {Processed: 2, Created: 2},
		"spend":      {Processed: 3, Created: 3},
	})
	d.wantTypes(t, "google_sheets_leads_2024", map[string]string{
		"email": "text", "created_on": "date", "estimated_value": "numeric", "sheet_row": "bigint"})
	wantRows(t, d, `SELECT email, first_name, last_name, phone, lead_source, created_on::text, estimated_value, sheet_row FROM google_sheets_leads_2024 ORDER BY sheet_row`,
		"maria.gonzalez@example.com|Maria|Gonzalez|+13035550142|Facebook|2024-03-04|12500|2",
		"tom.baker@example.com|Tom|Baker|+15125550177|Google Ads|2024-03-05|8200.5|3",
		"jo.lee@example.com|Jo|Lee|∅|Referral|2024-04-11|∅|4",
		"dana.white@example.com|Dana|∅|∅|∅|∅|∅|5", // Sheets left out the empty cells after First Name
	)
	if rj := d.rejects(t, "google_sheets", "leads_2024"); len(rj) != 1 || !strings.HasPrefix(rj[0], "row:6: ") || !strings.Contains(rj[0], "row 6 has 8 cells but only 7 columns have a name: the cells from column 8 (H) on have no column to go to") {
		t.Errorf("rejects %q", rj)
	}
	wantRows(t, d, `SELECT email, created_on::text, estimated_value FROM google_sheets_leads_2025 ORDER BY email`,
		"ana.silva@example.com|2025-01-07|15000", "li.wang@example.com|2025-01-09|∅")
	wantRows(t, d, `SELECT month::text, channel, spend, leads FROM google_sheets_spend ORDER BY month, channel`,
		"2024-01-01|Facebook|1520.75|31", "2024-01-01|Google Ads|2210|44", "2024-02-01|Facebook|1390.2|∅")

	replay.setRun(2)
	res = syncRound(t, plan, d, logs, runner.Options{})
	replay.served(t, 2)
	for name, r := range res {
		if !r.NotChanged || r.Processed != 0 || r.Status != "success" {
			t.Errorf("run 2: %s: not changed %v, %d processed, %s", name, r.NotChanged, r.Processed, r.Status)
		}
		if r.APICalls != 1 {
			t.Errorf("run 2: %s: %d API calls, want 1 (the probe)", name, r.APICalls)
		}
	}
	for _, e := range []string{"leads_2024", "leads_2025", "spend"} {
		if line := "Skipped google_sheets " + e + ": unchanged since its last sync (changed_when)"; !strings.Contains(logs.String(), line) {
			t.Errorf("the log lacks %q", line)
		}
	}

	replay.setRun(3)
	res = syncRound(t, plan, d, logs, runner.Options{})
	replay.served(t, 3)
	wantCounts(t, res, map[string]counts{
		"leads_2024": {Processed: 4, Created: 1, Updated: 2, Unchanged: 1},
		"leads_2025": {Processed: 2, Unchanged: 2},
		"spend":      {},
	})
	if !res["spend"].NotChanged || res["leads_2024"].NotChanged {
		t.Errorf("run 3: spend not changed %v, leads_2024 not changed %v", res["spend"].NotChanged, res["leads_2024"].NotChanged)
	}
	wantRows(t, d, `SELECT email, phone, estimated_value, sheet_row, _deleted_at IS NOT NULL FROM google_sheets_leads_2024 ORDER BY email`,
		"dana.white@example.com|∅|∅|5|true", // gone from the sheet
		"jo.lee@example.com|+17205550199|∅|4|false",
		"maria.gonzalez@example.com|+13035550142|12500|2|false",
		"sam.ortiz@example.com|∅|100|5|false", // fixed: no stray cell, a whole e-mail address
		"tom.baker@example.com|+15125550177|9100|3|false",
	)

	tok.mu.Lock()
	defer tok.mu.Unlock()
	if tok.issued != 1 || len(tok.problems) > 0 {
		t.Errorf("token endpoint: %d tokens issued, problems %q", tok.issued, tok.problems)
	}
	if strings.Contains(logs.String(), "PRIVATE KEY") || strings.Contains(logs.String(), pemKey[60:100]) {
		t.Error("the private key is in the log")
	}
}
