package convert

import (
	"testing"

	"github.com/crmsync/crmsync/engine/value"
	"github.com/tidwall/gjson"
)

// BenchmarkFromJSON measures one conversion per type on the inputs real
// sources send most often. The gjson value is parsed once, outside the
// loop, as the record path does before converting.
func BenchmarkFromJSON(b *testing.B) {
	doc := `{"s":"Jane Smith","i":1234567,"is":"1,234","d":1250.75,"ds":"$1,250.75","f":3.25,"b":true,"bs":"yes",
	"dt":"2024-01-02T03:04:05.123Z","ms":1704164645123,"date":"2024-01-02","p":"+1 (415) 555-2671","pn":"(415) 555-2671","pd":"415-555-2671","px":"415-555-2671 ext. 9","pi":"+44 20 7946 0958",
	"e":"Jane.Smith@Example.com","u":"https://example.com/a","j":{"a":1,"b":[1,2]},
	"js":"[{\"title\":\"Result\",\"value\":\"Sold\"}]","a":["Roofing","Siding"],"as":"Roofing;Siding"}`
	cases := []struct {
		name string
		typ  value.Type
		path string
	}{
		{"string", value.String, "s"},
		{"integer", value.Integer, "i"},
		{"integer_text", value.Integer, "is"},
		{"decimal", value.Decimal, "d"},
		{"decimal_text", value.Decimal, "ds"},
		{"float", value.Float, "f"},
		{"boolean", value.Boolean, "b"},
		{"boolean_text", value.Boolean, "bs"},
		{"datetime_rfc3339", value.Datetime, "dt"},
		{"datetime_epoch_ms", value.Datetime, "ms"},
		{"date", value.Date, "date"},
		{"phone", value.Phone, "p"},
		{"phone_national", value.Phone, "pn"},
		{"phone_dashes", value.Phone, "pd"},
		{"phone_extension", value.Phone, "px"},
		{"phone_international", value.Phone, "pi"}, // the phonenumbers path
		{"email", value.Email, "e"},
		{"url", value.URL, "u"},
		{"json", value.JSON, "j"},
		{"json_in_string", value.JSON, "js"},
		{"string_array", value.StringArray, "a"},
		{"string_array_text", value.StringArray, "as"},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			c, err := New(Spec{Type: bc.typ})
			if err != nil {
				b.Fatal(err)
			}
			r := gjson.Get(doc, bc.path)
			if _, err := c.FromJSON(r); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.FromJSON(r); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "values/s")
		})
	}
}
