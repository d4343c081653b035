package httpsrc

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/engine/source"
)

// stripeList serves ids prefix1…prefixN in order as Stripe's list
// endpoints do: limit, starting_after (an id), data and has_more.
func stripeList(t *testing.T, n int, prefix string) *fakeAPI {
	return newFake(t, func(w http.ResponseWriter, r *http.Request, _ string, _ int) {
		lim, _ := strconv.Atoi(r.URL.Query().Get("limit"))
		if lim == 0 {
			lim = 10
		}
		from := 1
		if after := r.URL.Query().Get("starting_after"); after != "" {
			i, err := strconv.Atoi(strings.TrimPrefix(after, prefix))
			if err != nil {
				writeJSON(w, 400, []byte(`{"error":"bad starting_after"}`))
				return
			}
			from = i + 1
		}
		var recs []string
		for i := from; i <= n && len(recs) < lim; i++ {
			id := strconv.Quote(prefix + strconv.Itoa(i))
			if prefix == "" {
				id = strconv.Itoa(i)
			}
			recs = append(recs, fmt.Sprintf(`{"id":%s,"email":"c%d@example.com"}`, id, i))
		}
		more := from+len(recs)-1 < n
		writeJSON(w, 200, []byte(fmt.Sprintf(`{"object":"list","data":[%s],"has_more":%t}`, strings.Join(recs, ","), more)))
	})
}

// TestKeyset pages on the last record's id: a short last page ends the
// read, an exactly full one costs one empty page, has_more ends it
// without that page; string ids and number ids go back as written.
func TestKeyset(t *testing.T) {
	cases := []struct {
		name, prefix, paginate string
		n                      int
		wantAfter              []string // starting_after of each request
	}{
		{"short last page", "cus_", `{style: keyset, key: id, param: starting_after, limit: 3}`, 7, []string{"", "cus_3", "cus_6"}},
		{"exactly full last page", "cus_", `{style: keyset, key: id, param: starting_after, limit: 3}`, 6, []string{"", "cus_3", "cus_6"}},
		{"has_more ends it", "cus_", `{style: keyset, key: id, param: starting_after, limit: 3, has_more: has_more}`, 6, []string{"", "cus_3"}},
		{"number ids", "", `{style: keyset, key: id, param: starting_after, limit: 4}`, 9, []string{"", "4", "8"}},
		{"limit from the request", "cus_", `{style: keyset, key: id, param: starting_after}`, 5, []string{"", "cus_2", "cus_4"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			api := stripeList(t, tc.n, tc.prefix)
			yml := strings.NewReplacer("PAGINATE", tc.paginate).Replace(`
version: 1
name: stripe
source: {type: http, base_url: BASE}
entities:
  customers:
    request: {path: /v1/customers, params: {limit: "2"}}
    records: data
    paginate: PAGINATE
    primary_key: id
    fields: {id: id}
`)
			pages, err := readAllPages(t, openYAML(t, yml, api.URL, nil), source.ReadState{})
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for i := 1; i <= tc.n; i++ {
				want = append(want, tc.prefix+strconv.Itoa(i))
			}
			if got := ids(pages, "id"); !slices.Equal(got, want) {
				t.Fatalf("ids %v, want %v", got, want)
			}
			var after []string
			for _, q := range api.requests() {
				after = append(after, q.Query.Get("starting_after"))
			}
			if !slices.Equal(after, tc.wantAfter) {
				t.Errorf("starting_after %q, want %q", after, tc.wantAfter)
			}
		})
	}
}

// TestKeysetLastRecordWithoutKey: a page whose last record lacks the key
// fails the read instead of starting over or stopping short.
func TestKeysetLastRecordWithoutKey(t *testing.T) {
	api := newFake(t, func(w http.ResponseWriter, _ *http.Request, _ string, _ int) {
		writeJSON(w, 200, []byte(`{"data":[{"id":"a"},{"name":"no id"}]}`))
	})
	yml := `
version: 1
name: stripe
source: {type: http, base_url: BASE}
entities:
  customers:
    request: {path: /v1/customers}
    records: data
    paginate: {style: keyset, key: id, param: starting_after, limit: 2}
    primary_key: id
    fields: {id: id}
`
	_, err := readAllPages(t, openYAML(t, yml, api.URL, nil), source.ReadState{})
	if err == nil || !strings.Contains(err.Error(), "has no id to start the next page after") {
		t.Fatalf("err = %v, want the missing key named", err)
	}
}

// TestKeysetCompile: key and param are required, key must be a gjson path.
func TestKeysetCompile(t *testing.T) {
	cases := []struct{ paginate, want string }{
		{`{style: keyset, param: starting_after}`, "/entities/e/paginate/key missing-setting"},
		{`{style: keyset, key: id}`, "/entities/e/paginate/param missing-setting"},
		{`{style: keyset, key: "a.", param: after}`, "/entities/e/paginate/key bad-gjson"},
		{`{style: keyset, key: id, param: after, in: body}`, "/entities/e/paginate/in invalid-value"},
	}
	for _, tc := range cases {
		yml := fmt.Sprintf("version: 1\nname: p\nsource: {type: http, base_url: \"http://h\"}\nentities:\n  e: {request: {path: /x}, paginate: %s}\n", tc.paginate)
		o, probs := compileYAML(t, yml, "")
		var got []string
		for _, p := range probs {
			got = append(got, p.Path+" "+p.Code)
		}
		if o != nil || !slices.Equal(got, []string{tc.want}) {
			t.Errorf("%s: problems %v, want [%s]", tc.paginate, got, tc.want)
		}
	}
}
