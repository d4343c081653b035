package httpsrc

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/engine/source"
)

// TestRows: rows of cells become objects named by the header row (first
// page only; later pages reuse it), ragged rows get nulls, extra cells
// reject the row, bad headers fail the read naming the column, header:
// none takes names:, and cells: through a projection keeps a cell
// without a value as null (query results whose null cells are {}).
func TestRows(t *testing.T) {
	cases := []struct {
		name    string
		rows    string   // the rows block
		pages   []string // the body of page 1, 2, …
		want    []string // the records, in order
		rejects []string // reasons
		wantErr string
	}{
		{"header, ragged rows, two pages", `{header: first}`,
			[]string{
				`{"values":[["Email","First Name","Amount.USD"],["a@x.com","Ann","10"],["b@x.com"]]}`,
				`{"values":[["c@x.com","Cy",3.5]]}`,
			},
			[]string{
				`{"Email":"a@x.com","First Name":"Ann","Amount.USD":"10"}`,
				`{"Email":"b@x.com","First Name":null,"Amount.USD":null}`,
				`{"Email":"c@x.com","First Name":"Cy","Amount.USD":3.5}`,
			}, nil, ""},
		{"more cells than names reject the row", `{}`,
			[]string{`{"values":[["id","name"],["1","a"],["2","b","stray"],["3"]]}`},
			[]string{`{"id":"1","name":"a"}`, `{"id":"3","name":null}`},
			[]string{`row 3 has 3 cells but only 2 columns have a name: the cells from column 3 (C) on have no column to go to`}, ""},
		{"a row that is no array is rejected", `{}`,
			[]string{`{"values":[["id"],{"id":1},["2"]]}`},
			[]string{`{"id":"2"}`},
			[]string{`row 2: the row is an object, not an array of cells (set rows.cells to the path of the cells)`}, ""},
		{"numeric header", `{header: first}`,
			[]string{`{"values":[["region",2024,2025],["EU","1","2"]]}`},
			[]string{`{"region":"EU","2024":"1","2025":"2"}`}, nil, ""},
		{"only a header", `{}`, []string{`{"values":[["a","b"]]}`}, nil, nil, ""},
		{"no rows at all", `{}`, []string{`{"values":[]}`}, nil, nil, ""},
		{"duplicate header", `{}`, []string{`{"values":[["id","name","id"],["1","a","1"]]}`}, nil, nil,
			`page 1: GET URL/values?page=1: status 200: the header row: columns 1 (A) and 3 (C) are both named "id": give every column a distinct header, or use rows: {header: none, names: [...]} and skip the row`},
		{"empty header", `{}`, []string{`{"values":[["id","","name"],["1","","a"]]}`}, nil, nil,
			`the header row: column 2 (B) has an empty name`},
		{"header none with names", `{header: none, names: [id, name]}`,
			[]string{`{"values":[["1","a"],["2"]]}`},
			[]string{`{"id":"1","name":"a"}`, `{"id":"2","name":null}`}, nil, ""},
		{"cells through a projection", `{cells: Data.#.VarCharValue}`,
			[]string{`{"values":[{"Data":[{"VarCharValue":"id"},{"VarCharValue":"name"},{"VarCharValue":"city"}]},{"Data":[{"VarCharValue":"1"},{},{"VarCharValue":"Oslo"}]}]}`},
			[]string{`{"id":"1","name":null,"city":"Oslo"}`}, nil, ""},
		{"cells path", `{cells: c}`,
			[]string{`{"values":[{"c":["id"]},{"c":["7"]}]}`},
			[]string{`{"id":"7"}`}, nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			api := newFake(t, func(w http.ResponseWriter, r *http.Request, _ string, _ int) {
				p, _ := strconv.Atoi(r.URL.Query().Get("page"))
				body := tc.pages[p-1]
				body = strings.Replace(body, "{", `{"next":`+strconv.FormatBool(p < len(tc.pages))+`,`, 1)
				writeJSON(w, 200, []byte(body))
			})
			yml := strings.Replace(`
version: 1
name: t
source: {type: http, base_url: BASE}
entities:
  sheet:
    request: {path: /values}
    records: values
    rows: ROWS
    paginate: {style: page, page_param: page, has_more: next}
    fields: {id: id}
`, "ROWS", tc.rows, 1)
			r := openYAML(t, yml, api.URL, nil)
			pages, err := readAllPages(t, r, source.ReadState{})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), strings.ReplaceAll(tc.wantErr, "URL", api.URL)) {
					t.Fatalf("err %v, want %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got, rejects []string
			for _, p := range pages {
				for _, rec := range p.Records {
					got = append(got, rec.JSON)
				}
				for _, rj := range p.Rejects {
					rejects = append(rejects, rj.Reason)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("records\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if !slices.Equal(rejects, tc.rejects) {
				t.Fatalf("rejects %q, want %q", rejects, tc.rejects)
			}
		})
	}
}

// TestRowsResume: the position stored with a page of a full read carries
// the header, so a read resumed on page 2 still names the columns; a
// stored position without it starts the read over.
func TestRowsResume(t *testing.T) {
	api := newFake(t, func(w http.ResponseWriter, r *http.Request, _ string, _ int) {
		off, _ := strconv.Atoi(r.URL.Query().Get("offset"))
		all := [][]string{{"id", "name"}, {"1", "a"}, {"2", "b"}, {"3", "c"}, {"4", "d"}}
		var b strings.Builder
		b.WriteString(`{"values":[`)
		for i := off; i < min(off+2, len(all)); i++ {
			if i > off {
				b.WriteByte(',')
			}
			b.WriteString(`["` + strings.Join(all[i], `","`) + `"]`)
		}
		b.WriteString(`]}`)
		writeJSON(w, 200, []byte(b.String()))
	})
	const yml = `
version: 1
name: t
source: {type: http, base_url: BASE}
entities:
  sheet:
    request: {path: /values}
    records: values
    rows: {header: first}
    paginate: {style: offset, limit: 2}
    fields: {id: id, name: name}
`
	r := openYAML(t, yml, api.URL, nil)
	pages, err := readAllPages(t, r, source.ReadState{})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(pages, "name"); !slices.Equal(got, []string{"a", "b", "c", "d"}) {
		t.Fatalf("names %v", got)
	}
	stored := pages[0].Resume
	if !strings.Contains(stored, `"header":["id","name"]`) {
		t.Fatalf("the position %s does not carry the header", stored)
	}

	// A fresh reader (another run) resumes from page 1's position.
	r2 := openYAML(t, yml, api.URL, nil)
	pages, err = readAllPages(t, r2, source.ReadState{Resume: stored})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(pages, "name"); !slices.Equal(got, []string{"b", "c", "d"}) {
		t.Fatalf("resumed names %v, want b c d", got)
	}
	if got := ids(pages, "id"); !slices.Equal(got, []string{"2", "3", "4"}) {
		t.Fatalf("resumed ids %v", got)
	}

	// A position without the header: start over, with a warning.
	noHeader := strings.Replace(stored, `"header":`, `"x":`, 1)
	r3 := openYAML(t, yml, api.URL, nil)
	pages, err = readAllPages(t, r3, source.ReadState{Resume: noHeader})
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(pages, "name"); !slices.Equal(got, []string{"a", "b", "c", "d"}) {
		t.Fatalf("names after a headerless position %v", got)
	}
	if !strings.Contains(r3.logs.String(), "no header row names") {
		t.Fatalf("no warning in the log:\n%s", r3.logs)
	}
}

func TestRowsCompileProblems(t *testing.T) {
	cases := []struct {
		name, rows string
		want       []string
	}{
		{"valid", `{header: first, cells: Data.#.VarCharValue}`, nil},
		{"none without names", `{header: none}`, []string{"/entities/e/rows/names missing-setting"}},
		{"names with first", `{names: [a]}`, []string{"/entities/e/rows/names conflicting-settings"}},
		{"duplicate names", `{header: none, names: [a, b, a]}`, []string{"/entities/e/rows/names invalid-value"}},
		{"bad header", `{header: second}`, []string{"/entities/e/rows/header invalid-value"}},
		{"bad cells", `{cells: "a..b"}`, []string{"/entities/e/rows/cells bad-gjson"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, probs := compileYAML(t, `
version: 1
name: t
source: {type: http, base_url: "http://h"}
entities:
  e:
    request: {path: /v}
    records: values
    rows: `+tc.rows+`
    fields: {id: id}
`, "")
			var got []string
			for _, p := range probs {
				got = append(got, p.Path+" "+p.Code)
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("problems %v, want %v (%v)", got, tc.want, probs)
			}
		})
	}
}

// TestChangedWhenProbe: the probe is one request with the source's auth
// that never carries the watermark; its value is a string as is, other
// JSON as its text; a body without the value is an error naming the
// request; bad settings are reported at their place.
func TestChangedWhenProbe(t *testing.T) {
	api := newFake(t, func(w http.ResponseWriter, r *http.Request, _ string, _ int) {
		switch r.URL.Path {
		case "/files/1":
			writeJSON(w, 200, []byte(`{"modifiedTime":"2024-05-01T10:00:00Z","version":7}`))
		default:
			writeJSON(w, 200, []byte(`{"id":"x"}`))
		}
	})
	const yml = `
version: 1
name: t
source: {type: http, base_url: BASE, auth: {type: bearer, token: tok-1}}
entities:
  e:
    changed_when: {request: {path: PATH, params: {fields: modifiedTime}}, value: VALUE}
    request: {path: /rows}
    incremental: {field: u, param: since}
    fields: {id: id, u: u}
`
	for _, tc := range []struct{ name, path, value, want, wantErr string }{
		{"string", "/files/1", "modifiedTime", "2024-05-01T10:00:00Z", ""},
		{"number", "/files/1", "version", "7", ""},
		{"missing", "/files/2", "modifiedTime", "", `changed_when: entity "e": probe: GET BASE/files/2?fields=modifiedTime: status 200: the value path "modifiedTime" is not in the body (top-level keys: id)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := openYAML(t, strings.NewReplacer("PATH", tc.path, "VALUE", tc.value).Replace(yml), api.URL, nil)
			v, ok, err := r.Reader.(source.ChangeProber).ProbeChange(t.Context())
			if tc.wantErr != "" {
				if want := strings.ReplaceAll(tc.wantErr, "BASE", api.URL); err == nil || err.Error() != want {
					t.Fatalf("err %v\nwant %s", err, want)
				}
				return
			}
			if err != nil || !ok || v != tc.want {
				t.Fatalf("probe %q %v %v, want %q", v, ok, err, tc.want)
			}
			q := api.requests()[len(api.requests())-1]
			if q.Header.Get("Authorization") != "Bearer tok-1" || q.Query.Has("since") {
				t.Fatalf("probe request %+v", q)
			}
		})
	}
	t.Run("none", func(t *testing.T) {
		r := openYAML(t, `
version: 1
name: t
source: {type: http, base_url: BASE}
entities:
  e: {request: {path: /rows}, fields: {id: id}}
`, api.URL, nil)
		if _, ok, err := r.Reader.(source.ChangeProber).ProbeChange(t.Context()); ok || err != nil {
			t.Fatalf("an entity without changed_when probed: %v %v", ok, err)
		}
	})
	for _, tc := range []struct {
		name, cw string
		want     []string
	}{
		{"no request", `{value: v}`, []string{"/entities/e/changed_when/request/path missing-setting"}},
		{"no value", `{request: {path: /f}}`, []string{"/entities/e/changed_when/value missing-setting"}},
		{"bad value", `{request: {path: /f}, value: "a..b"}`, []string{"/entities/e/changed_when/value bad-gjson"}},
		{"bad template", `{request: {path: "/f/{{ x"}, value: v}`, []string{"/entities/e/changed_when/request/path bad-template"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, probs := compileYAML(t, `
version: 1
name: t
source: {type: http, base_url: "http://h"}
entities:
  e: {changed_when: `+tc.cw+`, request: {path: /v}, fields: {id: id}}
`, "")
			var got []string
			for _, p := range probs {
				got = append(got, p.Path+" "+p.Code)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("problems %v, want %v", probs, tc.want)
			}
		})
	}
}

// BenchmarkRowShape turns 10,000 spreadsheet rows of 7 cells (one page)
// into objects: the per-record cost rows adds to a read.
func BenchmarkRowShape(b *testing.B) {
	const n = 10000
	recs := make([]source.Record, n+1)
	recs[0] = source.Record{JSON: `["Email","First Name","Last Name","Phone","Lead Source","Created","Estimated Value"]`}
	for i := 1; i <= n; i++ {
		recs[i] = source.Record{JSON: `["lead` + strconv.Itoa(i) + `@example.com","Maria","Gonzalez","(303) 555-0142","Facebook","2024-03-04",12500]`}
	}
	spec := compileRows(&Rows{}, "", &problems{})
	page := make([]source.Record, len(recs))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		copy(page, recs)
		out, rej, err := newRowShaper(spec).shape(page)
		if err != nil || len(out) != n || len(rej) != 0 {
			b.Fatal(err, len(out), len(rej))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/row")
}
