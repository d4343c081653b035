package validate

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzURL holds the hand-written URL scanner to net/url: whatever it
// accepts, net/url parses as http(s) with a host.
func FuzzURL(f *testing.F) {
	for _, s := range []string{"https://example.com/a?b=c#d", "http://[::1]:80/", "http://u:p@h:1", "https://münchen.de/%41"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !isHTTPURL(s) {
			return
		}
		u, err := url.Parse(s)
		if err != nil {
			t.Fatalf("accepted %q, net/url says %v", s, err)
		}
		if sc := strings.ToLower(u.Scheme); sc != "http" && sc != "https" || u.Host == "" {
			t.Fatalf("accepted %q: scheme %q host %q", s, u.Scheme, u.Host)
		}
	})
}
