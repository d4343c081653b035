package redact

import (
	"encoding/base64"
	"strings"
	"testing"
)

// TestEveryFormIsRedacted: a secret with the characters that escaping
// changes, written the ways APIs and drivers echo it back.
func TestEveryFormIsRedacted(t *testing.T) {
	const secret = `pk_live/ab&cd+ef=gh<i>'j"k l`
	r := Replacer([]string{secret})
	for _, tc := range []struct{ name, text string }{
		{"as is", "token " + secret + " refused"},
		{"query escape", `GET /v1?key=pk_live%2Fab%26cd%2Bef%3Dgh%3Ci%3E%27j%22k+l`},
		{"query escape, lower-case hex", `GET /v1?key=pk_live%2fab%26cd%2bef%3dgh%3ci%3e%27j%22k+l`},
		{"path escape", `/keys/pk_live%2Fab&cd+ef=gh%3Ci%3E%27j%22k%20l`},
		{"encodeURIComponent", `key=pk_live%2Fab%26cd%2Bef%3Dgh%3Ci%3E'j%22k%20l`},
		{"encodeURIComponent, lower-case hex", `key=pk_live%2fab%26cd%2bef%3dgh%3ci%3e'j%22k%20l`},
		{"JSON string", `{"error":"bad key pk_live/ab&cd+ef=gh<i>'j\"k l"}`},
		{"JSON string, HTML-escaped", `{"error":"bad key pk_live/ab\u0026cd+ef=gh\u003ci\u003e'j\"k l"}`},
		{"JSON string, escaped slash", `{"error":"bad key pk_live\/ab&cd+ef=gh<i>'j\"k l"}`},
		{"JSON string, HTML-escaped and escaped slash", `{"e":"pk_live\/ab\u0026cd+ef=gh\u003ci\u003e'j\"k l"}`},
		{"JSON string, all punctuation \\u-escaped", `{"e":"pk\u005flive\u002fab\u0026cd\u002bef\u003dgh\u003ci\u003e\u0027j\u0022k\u0020l"}`},
		{"base64", "Basic " + base64.StdEncoding.EncodeToString([]byte(secret))},
		{"base64 URL alphabet", "sig=" + base64.URLEncoding.EncodeToString([]byte(secret))},
		{"base64 without padding", "sig=" + base64.RawStdEncoding.EncodeToString([]byte(secret))},
		{"base64 URL alphabet without padding", "sig=" + base64.RawURLEncoding.EncodeToString([]byte(secret))},
		{"HTML", `<p>key pk_live/ab&amp;cd+ef=gh&lt;i&gt;&#39;j&#34;k l</p>`},
		{"HTML, named quotes", `<p>key pk_live/ab&amp;cd+ef=gh&lt;i&gt;&#x27;j&quot;k l</p>`},
		{"HTML, &apos;", `<p>key pk_live/ab&amp;cd+ef=gh&lt;i&gt;&apos;j&quot;k l</p>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := r.Replace(tc.text)
			if !strings.Contains(got, Mark) {
				t.Fatalf("not redacted: %s", got)
			}
			for _, leak := range []string{"pk_live", "pk\\u005flive", "cGtfbGl2Z"} {
				if strings.Contains(got, leak) {
					t.Fatalf("%q leaks in %s", leak, got)
				}
			}
		})
	}
}

func TestShortAndOrdinaryTextIsKept(t *testing.T) {
	if r := Replacer([]string{"abc", ""}); r != nil {
		t.Errorf("values under %d bytes must not be redacted", MinLen)
	}
	r := Replacer([]string{"s3cretvalue"})
	if got := r.Replace("contacts synced: 42 rows"); got != "contacts synced: 42 rows" {
		t.Errorf("ordinary text changed: %q", got)
	}
	// A secret that starts another leaves no tail of the longer one.
	r = Replacer([]string{"abcd1234", "abcd1234wxyz"})
	if got := r.Replace("k=abcd1234wxyz"); got != "k="+Mark {
		t.Errorf("longest first: %q", got)
	}
}
