package httpsrc

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/engine/jsonpick"
)

// errorWhenBodies are bodies the error_when cases run on: objects,
// nested objects, arrays, duplicate keys, escapes, scalars, a number out
// of float64's range.
var errorWhenBodies = []string{
	`{"results":[{"id":"1"},{"id":"2"}],"paging":{"next":{"after":"2"}}}`,
	`{"results":[]}`,
	`{"status":"error","message":"This hapikey (x) doesn't exist.","category":"INVALID_AUTHENTICATION"}`,
	`{"status":"ok","status":"error"}`,
	`{"st\u0061tus":"error"}`,
	`{"status":"err\u006fr"}`,
	`{"status":"\ud800"}`,
	"{\"status\":\"bad \xff byte\"}",
	`{"success":false,"error":"Internal error","errorCode":401}`,
	`{"success":true,"data":[1,2,3]}`,
	`{"success":"false"}`,
	`{"error":{"code":429,"details":{"reason":"rate"}}}`,
	`{"error":"flat"}`,
	`{"error":null}`,
	`{"errors":[{"message":"a"}],"data":null}`,
	`{"meta":{"count":0,"total":12.5e1}}`,
	`[{"status":"error"}]`,
	`[]`,
	`"error"`,
	`null`,
	`42`,
	`{}`,
	` {"status" : "error" } `,
}

var errorWhenExprs = []string{
	`body?.status == "error"`,
	`body.status == "error"`,
	`body?.status == "error" || body?.success == false`,
	`body?.success != true`,
	`body?.errorCode == 401`,
	`len(body?.results ?? []) == 0`,
	`len(body.results) == 0`,
	`body?.error?.code == 429`,
	`body.error.code == 429`,
	`body?.error?.details?.reason == "rate"`,
	`body?.error != nil && body?.error?.code == 429`,
	`body["error"]?.code == 429`,
	`type(body?.error) == "map"`,
	`type(body?.success) == "bool"`,
	`type(body?.meta?.count) == "float"`,
	`body?.meta?.count == 0`,
	`body?.meta?.total > 100`,
	`len(body?.errors ?? []) > 0`,
	`body?.errors?.[0]?.message == "a"`,
	`body?.data == nil`,
	`len(body?.status ?? "") == 5`,
	`body?.status startsWith "err"`,
	`body == nil`,
	`"status" in body`,
	`len(body) == 0`,
	`body?.[0]?.status == "error"`,
	`status == 200 && body?.status == "error"`,
	`headers["x-error"] == "1"`,
	`len(headers) > 1 && body?.status == "error"`,
	`$env.body?.status == "error"`,
	`let b = body; b?.status == "error"`,
	`any(body?.results ?? [], .id == "2")`,
}

// TestErrorWhenReadsOnlyItsPaths: for every expression and body, the
// result (match, no match, error and its text) is what decoding the whole
// body with encoding/json gives.
func TestErrorWhenReadsOnlyItsPaths(t *testing.T) {
	h := http.Header{"X-Error": {"1"}, "Content-Type": {"application/json"}}
	for _, ex := range errorWhenExprs {
		p := &problems{}
		w := compileErrorWhen(ErrorWhen{{Expr: ex}}, "/e", p)
		if w == nil {
			t.Fatalf("%s: %v", ex, p.list)
		}
		ref := *w
		ref.body, ref.headers = &jsonpick.Set{Name: "body", Whole: true}, true
		for _, body := range errorWhenBodies {
			got := outcome(w.failed(200, h, body))
			want := outcome(ref.failed(200, h, body))
			if got != want {
				t.Errorf("%s on %s:\n got %s\nwant %s", ex, body, got, want)
			}
		}
	}
}

// TestErrorWhenNeedsTheWholeBody: which expressions decode the whole
// body, and which paths the others read.
func TestErrorWhenNeedsTheWholeBody(t *testing.T) {
	cases := []struct {
		expr  string
		whole bool
		paths string
	}{
		{`body?.status == "error"`, false, "status"},
		{`body?.status == "error" || body?.success == false`, false, "status success"},
		{`body?.error?.code == 429 || body?.error?.details?.reason == "x"`, false, "error.code error.details.reason"},
		{`body?.error != nil && body?.error?.code == 429`, false, "error* error.code"},
		{`len(body.results) == 0`, false, "results"},
		{`body?.errors?.[0]?.message == "a"`, false, "errors"},
		{`status >= 500`, false, ""},
		{`body == nil`, true, ""},
		{`"status" in body`, true, ""},
		{`body?.[0]?.status == "x"`, true, ""},
		{`body[headers["k"]] == 1`, true, ""},
		{`$env.body.status == "x"`, true, ""},
	}
	for _, tc := range cases {
		p := &problems{}
		w := compileErrorWhen(ErrorWhen{{Expr: tc.expr}}, "/e", p)
		if w == nil {
			t.Fatalf("%s: %v", tc.expr, p.list)
		}
		if w.body.Whole != tc.whole {
			t.Errorf("%s: whole %v, want %v", tc.expr, w.body.Whole, tc.whole)
		}
		if tc.whole {
			continue
		}
		if got := strings.Join(w.body.Paths(), " "); got != tc.paths {
			t.Errorf("%s: paths %q, want %q", tc.expr, got, tc.paths)
		}
	}
}

// outcome prints what failed gave.
func outcome(rule *errorRule, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	if rule == nil {
		return "no match"
	}
	return fmt.Sprintf("match %q", rule.src)
}

// TestErrorWhenOutOfRangeNumber: a number beyond float64 fails error_when
// where a rule reads it (as decoding the whole body did), and no longer
// where no rule does.
func TestErrorWhenOutOfRangeNumber(t *testing.T) {
	cases := []struct{ expr, body, want string }{
		{`body?.meta?.count > 0`, `{"meta":{"count":1e400}}`, "error: decoding the body for error_when: json: cannot unmarshal number 1e400 into Go value of type float64"},
		{`body?.meta != nil`, `{"meta":{"count":1e400}}`, "error: decoding the body for error_when: json: cannot unmarshal number 1e400 into Go value of type float64"},
		{`body?.status == "error"`, `{"status":"error","meta":{"count":1e400}}`, `match "body?.status == \"error\""`},
		{`body?.status == "error"`, `{"results":1e400}`, "no match"},
	}
	for _, tc := range cases {
		w := compileErrorWhen(ErrorWhen{{Expr: tc.expr}}, "/e", &problems{})
		if got := outcome(w.failed(200, nil, tc.body)); got != tc.want {
			t.Errorf("%s on %s: %s, want %s", tc.expr, tc.body, got, tc.want)
		}
	}
}

// BenchmarkErrorWhen: the shipped HubSpot error_when on a page of 500
// contacts, reading its one path (paths) and decoding the whole body as
// before (whole).
func BenchmarkErrorWhen(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"results":[`)
	for i := range 500 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"id":"%d","properties":{"email":"u%d@example.com","firstname":"Ann","lastname":"Lee","phone":"(555) 123-4567","lastmodifieddate":"2024-01-01T00:00:00.000Z"},"createdAt":"2024-01-01T00:00:00.000Z","updatedAt":"2024-01-01T00:00:00.000Z","archived":false}`, i, i)
	}
	sb.WriteString(`],"paging":{"next":{"after":"500","link":"?after=500"}}}`)
	body := sb.String()
	w := compileErrorWhen(ErrorWhen{{Expr: `body?.status == "error"`}}, "/e", &problems{})
	whole := *w
	whole.body, whole.headers = &jsonpick.Set{Name: "body", Whole: true}, true
	h := http.Header{"Content-Type": {"application/json"}, "X-Hubspot-Ratelimit-Remaining": {"99"}}
	for _, bc := range []struct {
		name string
		w    *errorWhen
	}{{"paths", w}, {"whole", &whole}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for range b.N {
				if rule, err := bc.w.failed(200, h, body); rule != nil || err != nil {
					b.Fatal(rule, err)
				}
			}
		})
	}
}
