package transform

import (
	"math"
	"testing"

	"github.com/tidwall/gjson"
)

// extractPaths are plain paths the scanner and gjson's walk both read.
var extractPaths = []string{"id", "name", "amount", "n", "neg", "big", "exp", "flag", "off", "none", "notes", "properties.email", "properties.deep.x", "properties", "list", "é"}

// extractInputs are records of every value kind, nested objects, escapes,
// white space, duplicate keys and malformed text.
var extractInputs = []string{
	`{"id":1,"name":"Ann","amount":1234.50,"n":0,"neg":-0.25,"big":12345678901234567890,"exp":1.5e3,"flag":true,"off":false,"none":null}`,
	`{"notes":"line\r\n \"quoted\" \u00e9 😀","properties":{"email":"a@b.c","deep":{"x":[1,{"y":"}"}]}},"list":[1,"]",{"z":null}]}`,
	` { "id" : 7 , "name" : "x" , "id" : 8 , "properties" : { "email" : null } } `,
	`{"\u00e9":"accent key","a\"b":"quote key","amount":-9007199254740993.5,"n":123456789012345,"big":1234567890123456}`,
	`{"id":1,"properties":"not an object","properties":{"email":"second"}}`,
	`{}`, `[]`, `"text"`, `42`, ``, `   `,
	`{"id":1,"name":"unterminated`, `{"id":1 "name":"x"}`, `{"id":}`, `{"id":tru}`, `{"id":1,}`, `{id:1}`,
	`{"amount":0.1,"neg":-123.456,"n":-0,"exp":1E-2,"big":99999999999999.9}`,
	`{"id":1}trailing`, `{"properties":{"email":"a","deep":{"x":1}},"id":2}`,
}

func newTestExtractor() *extractor {
	x := newExtractor()
	for _, p := range extractPaths {
		x.add(p)
	}
	return x
}

func sameResult(a, b gjson.Result) bool {
	return a.Type == b.Type && a.Raw == b.Raw && a.Str == b.Str && a.Index == b.Index &&
		(a.Num == b.Num || math.IsNaN(a.Num) && math.IsNaN(b.Num)) && math.Signbit(a.Num) == math.Signbit(b.Num)
}

// checkScan compares extract (the scanner, falling back to walk) with
// gjson's walk alone, slot by slot.
func checkScan(t *testing.T, x *extractor, rec string, order *keyOrder) {
	t.Helper()
	got, gotF := make([]gjson.Result, x.n), make([]bool, x.n)
	want, wantF := make([]gjson.Result, x.n), make([]bool, x.n)
	x.extract(rec, got, gotF, order)
	x.walk(rec, x.root, want, wantF)
	for i := range got {
		if gotF[i] != wantF[i] || !sameResult(got[i], want[i]) {
			t.Fatalf("record %q, path %q: got %+v (found %v), gjson walk %+v (found %v)", rec, extractPaths[i], got[i], gotF[i], want[i], wantF[i])
		}
	}
}

// TestScanMatchesWalk: the scanner yields what gjson's walk yields for
// every path of every record, malformed ones included.
func TestScanMatchesWalk(t *testing.T) {
	x := newTestExtractor()
	for _, order := range []*keyOrder{nil, {}} {
		// Twice with a key order: remembered keys, then changed ones.
		for _, rec := range append(extractInputs, extractInputs...) {
			checkScan(t, x, rec, order)
		}
	}
}

func FuzzScanMatchesWalk(f *testing.F) {
	for _, rec := range extractInputs {
		f.Add(rec)
	}
	x := newTestExtractor()
	f.Fuzz(func(t *testing.T, rec string) {
		order := &keyOrder{}
		checkScan(t, x, rec, nil)
		checkScan(t, x, rec, order)
		checkScan(t, x, rec, order)
	})
}
