package transform_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/engine/transform"
)

// TestPoisonValuesReject: a NUL byte, bytes that are not UTF-8 and (in a
// json field) the escapes \u0000 and a lone surrogate make the record a
// reject naming the field and the offset; nothing reaches the sink.
func TestPoisonValuesReject(t *testing.T) {
	prog := compile(t, "      id: id\n      notes: notes\n      tags: {path: tags, type: 'string[]'}\n      extra: {path: extra, type: json}\n", "", transform.Warn, false)
	cases := []struct{ name, js, want string }{
		{"NUL escape", `{"id":"1","notes":"hello world\u0000!"}`, `field "notes": NUL byte at offset 11`},
		{"invalid UTF-8", "{\"id\":\"1\",\"notes\":\"caf\xe9\"}", `field "notes": invalid UTF-8 at offset 3`},
		{"NUL in an array", `{"id":"1","tags":["a","b\u0000"]}`, `field "tags": element 1: NUL byte at offset 1`},
		{"NUL in json", `{"id":"1","extra":{"k":"a\u0000"}}`, `field "extra": escaped NUL (\u0000) at offset 7`},
		{"lone surrogate in json", `{"id":"1","extra":{"k":"a\ud800"}}`, `field "extra": unpaired surrogate (\ud800) at offset 7`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := process(t, prog, nil, c.js)
			if out.Outcome != transform.Rejected {
				t.Fatalf("outcome %v, want rejected (%q)", out.Outcome, out.Reasons)
			}
			if len(out.Reasons) != 1 || out.Reasons[0] != c.want {
				t.Fatalf("reasons %q, want %q", out.Reasons, c.want)
			}
			if out.ID != "1" {
				t.Errorf("id %q", out.ID)
			}
		})
	}
	// A paired surrogate and an escaped backslash before u0000 are fine;
	// gjson turns a lone surrogate in a text field into U+FFFD, which is storable.
	for _, js := range []string{`{"id":"1","extra":{"k":"\ud83d\ude00"}}`, `{"id":"1","extra":{"k":"\\u0000"}}`, `{"id":"1","notes":"x\ud800"}`} {
		if out := process(t, prog, nil, js); out.Outcome != transform.Keep {
			t.Errorf("%s: outcome %v %q, want keep", js, out.Outcome, out.Reasons)
		}
	}
}

// TestPoisonStrip: poison: strip cleans the value instead.
func TestPoisonStrip(t *testing.T) {
	prog := compile(t, "      id: id\n      notes: {path: notes, poison: strip}\n      extra: {path: extra, type: json, poison: strip}\n", "", transform.Warn, false)
	out := process(t, prog, nil, "{\"id\":\"1\",\"notes\":\"a\\u0000b\xffc\",\"extra\":{\"k\":\"a\\u0000\\ud800\"}}")
	if out.Outcome != transform.Keep {
		t.Fatalf("outcome %v %q", out.Outcome, out.Reasons)
	}
	if out.Values[1] != "ab\uFFFDc" {
		t.Errorf("notes %q", out.Values[1])
	}
	if got := string(out.Values[2].(json.RawMessage)); got != `{"k":"a\ufffd"}` {
		t.Errorf("extra %s", got)
	}
}

// TestBlankKeyRejected: a blank or missing primary key is a reject,
// never a row that would merge with other blank-key records.
func TestBlankKeyRejected(t *testing.T) {
	prog := compile(t, "      id: id\n      name: name\n", "", transform.Warn, false)
	for _, js := range []string{`{"name":"x"}`, `{"id":null}`, `{"id":"  "}`, `{"id":""}`} {
		out := process(t, prog, nil, js)
		if out.Outcome != transform.Rejected || len(out.Reasons) != 1 || out.Reasons[0] != "primary key id is blank" {
			t.Errorf("%s: %v %q", js, out.Outcome, out.Reasons)
		}
	}
}

func TestPoisonText(t *testing.T) {
	for s, want := range map[string]string{"": "", "plain": "", "é": "", "a\x00": "NUL byte at offset 1", "ab\xff\x00": "invalid UTF-8 at offset 2",
		"0123456789é\x00": "NUL byte at offset 12", "01234567\xff": "invalid UTF-8 at offset 8", "0123456789abcdef\x00": "NUL byte at offset 16",
		"a long plain ASCII text, 😀 and more": "", "\xe2\x82": "invalid UTF-8 at offset 0"} {
		if got := transform.PoisonText(s); got != want {
			t.Errorf("%q: %q, want %q", s, got, want)
		}
	}
	if got := transform.StripJSON(`{"a":"\u0000x\udc00","b":"\\u0000"}`); got != `{"a":"x\ufffd","b":"\\u0000"}` {
		t.Errorf("StripJSON: %s", got)
	}
	if !strings.Contains(transform.PoisonJSON(`"\udc00"`), "unpaired") {
		t.Error("a lone low surrogate is poison")
	}
}

// BenchmarkPoisonText: the per-value check on clean text (the common
// case) is a byte scan that allocates nothing.
func BenchmarkPoisonText(b *testing.B) {
	vals := []string{"51", "bh@hubspot.com", "+16175550134", "Brian", "Halligan", "HubSpot", "MA", "Brian Halligan", "hubspot.com", "José Müller, 2nd floor — suite 5"}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		for _, v := range vals {
			if transform.PoisonText(v) != "" {
				b.Fatal(v)
			}
		}
	}
}
