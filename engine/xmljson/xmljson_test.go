package xmljson

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/tidwall/gjson"
)

func TestConvert(t *testing.T) {
	const atom = "http://www.w3.org/2005/Atom"
	tests := []struct {
		name string
		in   string
		o    *Options
		want string
	}{
		{"leaf text", `<a>x &amp; y</a>`, nil, `{"a":"x & y"}`},
		{"empty element", `<a><b/></a>`, nil, `{"a":{"b":""}}`},
		{"local names by default", `<p:a xmlns:p="urn:p"><p:b>1</p:b></p:a>`, nil, `{"a":{"b":"1"}}`},
		{"declared namespace uses the pipeline's prefix", `<x:a xmlns:x="urn:p"><x:b>1</x:b><c>2</c></x:a>`,
			&Options{Namespaces: map[string]string{"p": "urn:p"}}, `{"p:a":{"p:b":"1","c":"2"}}`},
		{"repeated elements are an array", `<a><b>1</b><c/><b>2</b></a>`, nil, `{"a":{"b":["1","2"],"c":""}}`},
		{"lists keeps one element an array", `<a><b>1</b></a>`, &Options{Lists: []string{"b"}}, `{"a":{"b":["1"]}}`},
		{"attributes and text", `<a href="u" xml:lang="en"> hi </a>`, nil, `{"a":{"-href":"u","-lang":"en","_text":"hi"}}`},
		{"xmlns dropped", `<feed xmlns="` + atom + `" xmlns:m="urn:m"><id>1</id></feed>`, nil, `{"feed":{"id":"1"}}`},
		{"typed null", `<a xmlns:m="urn:m"><b m:null="true"/><c m:type="Edm.Int32" m:null="true"/></a>`, nil, `{"a":{"b":null,"c":null}}`},
		{"xsi nil", `<a xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><b xsi:nil="true"/></a>`, nil, `{"a":{"b":null}}`},
		{"edm types", `<p xmlns:m="urn:m">` +
			`<i m:type="Edm.Int32">42</i><l m:type="Edm.Int64">-9007199254740993</l>` +
			`<d m:type="Edm.Decimal">12345678901234567890.123456789</d><f m:type="Edm.Double">0.1</f>` +
			`<t m:type="Edm.Boolean">true</t><z m:type="Edm.Boolean">0</z>` +
			`<dt m:type="Edm.DateTime">2024-05-01T10:00:00</dt><g m:type="Edm.Guid">3f1c</g>` +
			`<bad m:type="Edm.Int32">007</bad><e m:type="Edm.Int32"></e><s>12</s></p>`, nil,
			`{"p":{"i":42,"l":-9007199254740993,"d":12345678901234567890.123456789,"f":0.1,"t":true,"z":false,` +
				`"dt":"2024-05-01T10:00:00","g":"3f1c","bad":"007","e":null,"s":"12"}}`},
		{"comments and declaration skipped", `<?xml version="1.0" encoding="utf-8"?><!-- c --><a>1</a>`, nil, `{"a":"1"}`},
		{"mixed content keeps text", `<a>x<b>1</b>y</a>`, nil, `{"a":{"b":"1","_text":"xy"}}`},
		{"quotes and control characters escaped", `<a>"q"&#9;\</a>`, nil, `{"a":"\"q\"\t\\"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Convert(tc.in, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
			if !gjson.ValidBytes(got) {
				t.Errorf("not JSON: %s", got)
			}
		})
	}
}

func TestConvertErrors(t *testing.T) {
	tests := []struct {
		name, in string
		o        *Options
		line     int
	}{
		{"unclosed element", "<a>\n<b>1</a>", nil, 2},
		{"bad entity", "<a>\n\n&nope;</a>", nil, 3},
		{"not XML at all", `{"json": true}`, nil, 1},
		{"empty", ``, nil, 1},
		{"two roots", `<a/><b/>`, nil, 1},
		{"other encoding", `<?xml version="1.0" encoding="ISO-8859-1"?><a/>`, nil, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Convert(tc.in, tc.o)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want a SyntaxError", err)
			}
			if se.Line != tc.line {
				t.Errorf("line %d, want %d (%v)", se.Line, tc.line, err)
			}
		})
	}
	_, err := Convert("<a><b><c><d/></c></b></a>", &Options{MaxDepth: 3})
	var de *DepthError
	if !errors.As(err, &de) || de.Limit != 3 {
		t.Errorf("deep: err = %v, want a DepthError", err)
	}
	if _, err := Convert("<a><b><c/></b></a>", &Options{MaxDepth: 3}); err != nil {
		t.Errorf("3 levels with max 3: %v", err)
	}
}

// An OData v2 Atom feed (the shape of
// https://www.odata.org/documentation/odata-version-2-0/atom-format/)
// converts to the golden JSON, and the paths a pipeline uses find its parts.
func TestConvertAtomFeed(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "atom_feed.xml"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Convert(string(in), &Options{Lists: []string{"entry", "link"}})
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "atom_feed.json")
	if os.Getenv("UPDATE_GOLDEN") != "" {
		os.WriteFile(golden, []byte(gjson.Get(string(got), "@pretty").String()), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if gjson.Get(string(got), "@pretty").String() != string(want) {
		t.Errorf("got\n%s\nwant\n%s", gjson.Get(string(got), "@pretty"), want)
	}
	for path, want := range map[string]string{
		"feed.entry.#":                             "2",
		"feed.entry.0.content.properties.Id":       "101",
		"feed.entry.0.content.properties.Amount":   "1234567.891",
		"feed.entry.1.content.properties.Email":    "null",
		`feed.link.#(-rel=="next").-href`:          `"Contacts?$skip=2"`,
		"feed.entry.0.content.properties.IsActive": "true",
	} {
		if r := gjson.GetBytes(got, path); r.Raw != want {
			t.Errorf("%s = %s, want %s", path, r.Raw, want)
		}
	}
}

func BenchmarkConvert(b *testing.B) {
	in, _ := os.ReadFile(filepath.Join("testdata", "atom_feed.xml"))
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := Convert(string(in), nil); err != nil {
			b.Fatal(err)
		}
	}
}
