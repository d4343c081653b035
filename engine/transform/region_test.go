package transform_test

import (
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/engine/config"
	"github.com/crmsync/crmsync/engine/source"
	"github.com/crmsync/crmsync/engine/transform"
)

// TestPhoneRegionFrom: region_from reads each record's region (a country
// code, either case); a record without one, or with an unknown one, uses
// the field's default_region. A number that cannot be read follows
// on_invalid as before.
func TestPhoneRegionFrom(t *testing.T) {
	fields := `      id: id
      phone: {path: [phone.#(primary==true).value, phone.0.value], type: phone, region_from: country, on_invalid: ONINVALID}
`
	cases := []struct {
		name, rec string
		want      any
		errors    int
	}{
		{"GB number, GB record", `{"id":1,"country":"GB","phone":[{"value":"020 7946 0958","primary":true}]}`, "+442079460958", 0},
		{"lower case region", `{"id":2,"country":"de","phone":[{"value":"030 901820"}]}`, "+4930901820", 0},
		{"US default", `{"id":3,"phone":[{"value":"(415) 555-2671"}]}`, "+14155552671", 0},
		{"unknown region: default", `{"id":4,"country":"Narnia","phone":[{"value":"415-555-2671"}]}`, "+14155552671", 0},
		{"international form ignores the region", `{"id":5,"country":"GB","phone":[{"value":"+1 415 555 2671"}]}`, "+14155552671", 0},
		{"canadian record, nanp fast path", `{"id":6,"country":"CA","phone":[{"value":"604-555-0199"}]}`, "+16045550199", 0},
		{"GB number, no region: not a US number", `{"id":7,"phone":[{"value":"020 7946 0958"}]}`, nil, 1},
		{"cannot be read", `{"id":8,"country":"GB","phone":[{"value":"n/a"}]}`, nil, 1},
	}
	for _, policy := range []string{"warn", "null"} {
		pol, _ := transform.ParsePolicy(policy)
		prog := compile(t, strings.Replace(fields, "ONINVALID", policy, 1), "", pol, false)
		for _, tc := range cases {
			t.Run(policy+"/"+tc.name, func(t *testing.T) {
				out := process(t, prog, slog.New(slog.NewTextHandler(io.Discard, nil)), tc.rec)
				if out.Values[1] != tc.want || out.ProcessingErrors != tc.errors || out.Outcome != transform.Keep {
					t.Fatalf("phone %#v, %d processing errors, outcome %v; want %#v, %d", out.Values[1], out.ProcessingErrors, out.Outcome, tc.want, tc.errors)
				}
			})
		}
	}
}

func TestPhoneRegionFromLint(t *testing.T) {
	for _, tc := range []struct{ name, field, want string }{
		{"not a phone", `{path: p, region_from: country}`, "/entities/contacts/fields/x/region_from invalid-value"},
		{"bad path", `{path: p, type: phone, region_from: "country.."}`, "/entities/contacts/fields/x/region_from bad-gjson"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := "version: 1\nname: hubspot\nsource: {type: http}\nentities:\n  contacts:\n    primary_key: id\n    fields:\n      id: id\n      x: " + tc.field + "\n"
			p, err := config.Parse("t.yaml", []byte(src), config.Options{}).Decode()
			if err != nil {
				t.Fatal(err)
			}
			_, problems := transform.Compile(transform.Options{Pipeline: "hubspot", Entity: "contacts", Path: "/entities/contacts",
				Fields: p.Entities[0].Fields, PrimaryKey: []string{"id"}, Timezone: time.UTC, Region: "US"})
			for _, pr := range problems {
				if pr.Path+" "+pr.Code == tc.want {
					return
				}
			}
			t.Fatalf("problems %+v, want %s", problems, tc.want)
		})
	}
}

// BenchmarkPhoneRegionFrom: the per-record region costs no allocation
// beyond the phone parse itself.
func BenchmarkPhoneRegionFrom(b *testing.B) {
	prog := compile(b, "      id: id\n      phone: {path: phone, type: phone, region_from: country}\n", "", transform.Warn, false)
	rec := source.Record{JSON: `{"id":1,"country":"US","phone":"415-555-2671"}`}
	pr := prog.NewProcessor(transform.Context{SyncStarted: time.Now(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	out := transform.Output{Values: make([]any, len(prog.Fields()))}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		pr.Process(rec, &out)
	}
}
