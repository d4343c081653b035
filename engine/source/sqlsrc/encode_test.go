package sqlsrc

import (
	"encoding/json"
	"testing"
	"time"
)

func TestAppendValue(t *testing.T) {
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		k    kind
		in   string
		tz   *time.Location
		want string
	}{
		{kInt, "-42", nil, `-42`},
		{kNumber, "12345678901234567890.123456789", nil, `12345678901234567890.123456789`},
		{kNumber, "NaN", nil, `"NaN"`},
		{kNumber, "-Infinity", nil, `"-Infinity"`},
		{kNumber, "1e+100", nil, `1e+100`},
		{kNumber, "007", nil, `"007"`},
		{kBool, "t", nil, `true`},
		{kBool, "f", nil, `false`},
		{kTime, "2024-03-01 10:00:00", time.UTC, `"2024-03-01T10:00:00Z"`},
		{kTime, "2024-03-01 10:00:00.123400", chicago, `"2024-03-01T16:00:00.1234Z"`},
		{kTime, "2024-07-01 10:00:00", chicago, `"2024-07-01T15:00:00Z"`},
		{kTimeUTC, "2024-07-01 10:00:00", chicago, `"2024-07-01T10:00:00Z"`},
		{kTimeTZ, "2024-03-01 10:00:00+05:30", chicago, `"2024-03-01T04:30:00Z"`},
		{kTimeTZ, "2024-03-01 10:00:00.5-04", nil, `"2024-03-01T14:00:00.5Z"`},
		{kTimeTZ, "1880-01-01 00:00:00-05:50:36", nil, `"1880-01-01T05:50:36Z"`},
		{kTimeTZ, "infinity", nil, `"infinity"`},
		{kTime, "0000-00-00 00:00:00", time.UTC, `null`},
		{kTime, "2024-02-30 00:00:00", time.UTC, `"2024-02-30 00:00:00"`},
		{kTime, "2024-00-10 00:00:00", time.UTC, `"2024-00-10 00:00:00"`},
		{kDate, "2024-03-01", nil, `"2024-03-01"`},
		{kDate, "0000-00-00", nil, `null`},
		{kJSON, `[{"title":"Result","value":"Sold"}]`, nil, `[{"title":"Result","value":"Sold"}]`},
		{kBytea, `\x68c3a9ff`, nil, `"hé\ufffd"`},
		{kBit, "\x01\x02", nil, `258`},
		{kString, "a\"b\\c\n\t\x01é\xff", nil, `"a\"b\\c\n\t\u0001é\ufffd"`},
	}
	for _, c := range cases {
		var scratch []byte
		tz := c.tz
		if tz == nil {
			tz = time.UTC
		}
		got := string(appendValue(nil, c.k, []byte(c.in), tz, &scratch))
		if got != c.want {
			t.Errorf("kind %d %q: got %s, want %s", c.k, c.in, got, c.want)
		}
		if !json.Valid([]byte(got)) {
			t.Errorf("kind %d %q: %s is not JSON", c.k, c.in, got)
		}
	}
}

// FuzzAppendString: any bytes give valid JSON that decodes to the same
// text when the input is UTF-8.
func FuzzAppendString(f *testing.F) {
	f.Add([]byte("plain"))
	f.Add([]byte("\x00\"\\\xff\xe2\x80\xa8"))
	f.Fuzz(func(t *testing.T, in []byte) {
		out := appendString(nil, in)
		var s string
		if err := json.Unmarshal(out, &s); err != nil {
			t.Fatalf("%q → %s: %v", in, out, err)
		}
		if want := string([]rune(string(in))); s != want {
			t.Fatalf("%q decodes to %q, want %q", in, s, want)
		}
	})
}
