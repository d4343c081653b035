package httpsrc

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine/config"
)

// sigv4Context is a test case's context.json.
type sigv4Context struct {
	Credentials struct {
		AccessKeyID     string `json:"access_key_id"`
		SecretAccessKey string `json:"secret_access_key"`
		Token           string `json:"token"`
	} `json:"credentials"`
	Region    string    `json:"region"`
	Service   string    `json:"service"`
	SignBody  bool      `json:"sign_body"`
	Timestamp time.Time `json:"timestamp"`
}

// parseSuiteRequest reads a request.txt of the suite: a request line,
// Name:value headers (a repeated name adds a value), a blank line, the body.
func parseSuiteRequest(t *testing.T, text string) (method, target string, header http.Header, body string) {
	t.Helper()
	head, body, _ := strings.Cut(text, "\n\n")
	lines := strings.Split(strings.TrimRight(head, "\n"), "\n")
	parts := strings.Fields(lines[0])
	method, target = parts[0], strings.Join(parts[1:len(parts)-1], " ")
	header = http.Header{}
	for _, l := range lines[1:] {
		k, v, ok := strings.Cut(l, ":")
		if !ok {
			t.Fatalf("bad header line %q", l)
		}
		header[http.CanonicalHeaderKey(k)] = append(header[http.CanonicalHeaderKey(k)], v)
	}
	return method, target, header, body
}

// TestSigV4Vectors signs AWS's published SigV4 test requests with auth
// type aws_sigv4 and expects the suite's headers.
func TestSigV4Vectors(t *testing.T) {
	dirs, err := filepath.Glob("testdata/aws-sigv4/*/context.json")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no vectors: %v", err)
	}
	for _, dir := range dirs {
		name := filepath.Base(filepath.Dir(dir))
		t.Run(name, func(t *testing.T) {
			var c sigv4Context
			if err := json.Unmarshal(fixture(t, "aws-sigv4/"+name+"/context.json"), &c); err != nil {
				t.Fatal(err)
			}
			method, target, header, body := parseSuiteRequest(t, string(fixture(t, "aws-sigv4/"+name+"/request.txt")))
			_, _, want, _ := parseSuiteRequest(t, string(fixture(t, "aws-sigv4/"+name+"/header-signed-request.txt")))

			a := &sigv4Config{Service: c.Service, Region: c.Region,
				AccessKeyID: config.NewSecret(c.Credentials.AccessKeyID), SecretAccessKey: config.NewSecret(c.Credentials.SecretAccessKey),
				SessionToken: config.NewSecret(c.Credentials.Token)}
			p := &problems{}
			mk, _ := compileSigV4(a, p, "/source/auth")
			if len(p.list) > 0 {
				t.Fatalf("compile: %v", p.list)
			}
			auth := mk(nil, nil).(*sigv4Auth)
			auth.now = func() time.Time { return c.Timestamp }

			host := header.Get("Host")
			u := &url.URL{Scheme: "https", Host: host}
			path, query, _ := strings.Cut(target, "?")
			u.Path, u.RawQuery = path, query
			var rd io.Reader
			if body != "" {
				rd = strings.NewReader(body)
			}
			req, err := http.NewRequestWithContext(context.Background(), method, u.String(), rd)
			if err != nil {
				t.Fatal(err)
			}
			req.URL.RawPath = ""
			for k, v := range header {
				if k != "Host" {
					req.Header[k] = v
				}
			}
			if c.SignBody {
				sum := sha256.Sum256([]byte(body))
				req.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
			}
			if err := auth.apply(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			for _, h := range []string{"X-Amz-Date", "X-Amz-Security-Token", "Authorization"} {
				if got, exp := req.Header.Get(h), want.Get(h); got != exp {
					t.Errorf("%s:\n got %q\nwant %q", h, got, exp)
				}
			}
			// The body is still there for the transport.
			if body != "" {
				b, _ := io.ReadAll(req.Body)
				if string(b) != body {
					t.Errorf("body after signing = %q, want %q", b, body)
				}
			}
		})
	}
}

// sigv4Verifier recomputes a request's signature on the server side,
// independently of the signer: the canonical request of the SigV4
// documentation (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html)
// over the headers the Authorization header names and the body received.
type sigv4Verifier struct {
	accessKey, secret, region, service string
}

// verify returns "" when the request is signed right, else why not.
func (v sigv4Verifier) verify(r *http.Request, body []byte) string {
	auth := r.Header.Get("Authorization")
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return "no AWS4-HMAC-SHA256 Authorization header"
	}
	fields := map[string]string{}
	for _, f := range strings.Split(rest, ", ") {
		k, val, _ := strings.Cut(f, "=")
		fields[k] = val
	}
	date := r.Header.Get("X-Amz-Date")
	if len(date) != 16 {
		return "no X-Amz-Date"
	}
	scope := date[:8] + "/" + v.region + "/" + v.service + "/aws4_request"
	if fields["Credential"] != v.accessKey+"/"+scope {
		return "credential scope " + fields["Credential"] + ", want " + v.accessKey + "/" + scope
	}
	signed := strings.Split(fields["SignedHeaders"], ";")
	if !slices.Contains(signed, "host") || !slices.Contains(signed, "x-amz-date") {
		return "host and x-amz-date are not signed"
	}
	var ch strings.Builder
	for _, h := range signed {
		val := r.Header.Get(h)
		if h == "host" {
			val = r.Host
		}
		ch.WriteString(h + ":" + strings.Join(strings.Fields(val), " ") + "\n")
	}
	q := r.URL.Query()
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var cq []string
	for _, k := range keys {
		vals := slices.Clone(q[k])
		sort.Strings(vals)
		for _, val := range vals {
			cq = append(cq, awsEscape(k)+"="+awsEscape(val))
		}
	}
	sum := sha256.Sum256(body)
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	canonical := strings.Join([]string{r.Method, path, strings.Join(cq, "&"), ch.String(), fields["SignedHeaders"], hex.EncodeToString(sum[:])}, "\n")
	creq := sha256.Sum256([]byte(canonical))
	toSign := "AWS4-HMAC-SHA256\n" + date + "\n" + scope + "\n" + hex.EncodeToString(creq[:])
	key := hmacSHA256([]byte("AWS4"+v.secret), date[:8])
	key = hmacSHA256(key, v.region)
	key = hmacSHA256(key, v.service)
	key = hmacSHA256(key, "aws4_request")
	if want := hex.EncodeToString(hmacSHA256(key, toSign)); fields["Signature"] != want {
		return "signature does not match"
	}
	return ""
}

func hmacSHA256(key []byte, s string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(s))
	return m.Sum(nil)
}

// awsEscape is SigV4's URI encoding: everything but A-Z a-z 0-9 - _ . ~.
func awsEscape(s string) string {
	var b bytes.Buffer
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
		} else {
			b.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{c})))
		}
	}
	return b.String()
}

// TestSigV4Compile: what lint says about incomplete aws_sigv4 settings.
func TestSigV4Compile(t *testing.T) {
	full := sigv4Config{Service: "athena", Region: "us-east-1",
		AccessKeyID: config.NewSecret("AKID"), SecretAccessKey: config.NewSecret("s")}
	cases := []struct {
		name   string
		change func(a *sigv4Config)
		path   string
		want   string
	}{
		{"complete", func(*sigv4Config) {}, "", ""},
		{"no service", func(a *sigv4Config) { a.Service = "" }, "/source/auth/service", "needs service"},
		{"bad service", func(a *sigv4Config) { a.Service = "Athena Service" }, "/source/auth/service", "not an AWS signing name"},
		{"no region", func(a *sigv4Config) { a.Region = "" }, "/source/auth/region", "needs region"},
		{"bad region", func(a *sigv4Config) { a.Region = "US East" }, "/source/auth/region", "not an AWS region name"},
		{"no key id", func(a *sigv4Config) { a.AccessKeyID = config.Secret{} }, "/source/auth/access_key_id", "needs access_key_id"},
		{"no secret", func(a *sigv4Config) { a.SecretAccessKey = config.Secret{} }, "/source/auth/secret_access_key", "needs secret_access_key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := full
			c.change(&a)
			p := &problems{}
			compileSigV4(&a, p, "/source/auth")
			if c.path == "" {
				if len(p.list) > 0 {
					t.Fatalf("problems: %v", p.list)
				}
				return
			}
			if len(p.list) != 1 || p.list[0].Path != c.path || !strings.Contains(p.list[0].Message, c.want) {
				t.Errorf("problems = %v, want one at %s saying %q", p.list, c.path, c.want)
			}
		})
	}
}
