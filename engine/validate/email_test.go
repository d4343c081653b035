package validate

import (
	"encoding/csv"
	"os"
	"strings"
	"testing"
)

type emailChoice struct {
	accept bool
	why    string
}

// emailPolicy decides every is_email diagnosis that is neither
// ISEMAIL_VALID (always accepted) nor ISEMAIL_ERR_* (always refused).
// Changing a decision here must go with the "Email" section of docs/guides/writing-a-pipeline.md.
var emailPolicy = map[string]emailChoice{
	"ISEMAIL_DNSWARN_NO_RECORD":    {true, "syntax is ordinary; the validator does no DNS look-ups"},
	"ISEMAIL_DNSWARN_NO_MX_RECORD": {true, "syntax is ordinary; the validator does no DNS look-ups"},

	"ISEMAIL_RFC5321_TLD":            {false, "a domain needs a dot (test@org, a@b)"},
	"ISEMAIL_RFC5321_TLDNUMERIC":     {false, "an all-digit top-level label is an IP address or a typo"},
	"ISEMAIL_RFC5321_QUOTEDSTRING":   {false, "quoted local parts (\"John Doe\"@x.org) are refused"},
	"ISEMAIL_RFC5321_ADDRESSLITERAL": {false, "IP address literals (user@[1.2.3.4]) are refused"},
	"ISEMAIL_RFC5321_IPV6DEPRECATED": {false, "IP address literals are refused"},

	"ISEMAIL_RFC5322_LOCAL_TOOLONG":   {false, "local part over 64 octets"},
	"ISEMAIL_RFC5322_LABEL_TOOLONG":   {false, "domain label over 63 octets"},
	"ISEMAIL_RFC5322_DOMAIN_TOOLONG":  {false, "domain over 253 octets"},
	"ISEMAIL_RFC5322_TOOLONG":         {false, "address over 254 octets"},
	"ISEMAIL_RFC5322_DOMAIN":          {false, "domain characters outside letters, digits and hyphens"},
	"ISEMAIL_RFC5322_DOMAINLITERAL":   {false, "domain literals are refused"},
	"ISEMAIL_RFC5322_DOMLIT_OBSDTEXT": {false, "domain literals are refused"},
	"ISEMAIL_RFC5322_IPV6_2X2XCOLON":  {false, "domain literals are refused"},
	"ISEMAIL_RFC5322_IPV6_BADCHAR":    {false, "domain literals are refused"},
	"ISEMAIL_RFC5322_IPV6_COLONEND":   {false, "domain literals are refused"},
	"ISEMAIL_RFC5322_IPV6_COLONSTRT":  {false, "domain literals are refused"},
	"ISEMAIL_RFC5322_IPV6_GRPCOUNT":   {false, "domain literals are refused"},
	"ISEMAIL_RFC5322_IPV6_MAXGRPS":    {false, "domain literals are refused"},

	"ISEMAIL_CFWS_COMMENT": {false, "comments ((comment)a@b.org) are refused"},
	"ISEMAIL_CFWS_FWS":     {false, "folding white space (CRLF + space) is refused; see the exceptions for plain blanks"},

	"ISEMAIL_DEPREC_CFWS_NEAR_AT": {false, "comments and white space around @ are refused"},
	"ISEMAIL_DEPREC_COMMENT":      {false, "comments are refused"},
	"ISEMAIL_DEPREC_CTEXT":        {false, "comments are refused"},
	"ISEMAIL_DEPREC_FWS":          {false, "folding white space is refused"},
	"ISEMAIL_DEPREC_LOCALPART":    {false, "obsolete local parts with quoted words are refused"},
	"ISEMAIL_DEPREC_QP":           {false, "quoted local parts are refused"},
	"ISEMAIL_DEPREC_QTEXT":        {false, "quoted local parts are refused"},
}

// emailExceptions are single cases (set/id) decided against the policy of
// their diagnosis or category.
var emailExceptions = map[string]emailChoice{
	// The suite calls test@io valid because io. had an MX record in 2011.
	// A CRM address without a dot in its domain is nearly always a typo.
	"tests/5": {false, "test@io: a domain needs a dot"},
	// Blanks around a hand-typed address are trimmed (the trimmed address
	// is kept); CR/LF are not.
	"tests/157": {true, "' test@iana.org': leading space trimmed"},
	"tests/158": {true, "'test@iana.org ': trailing space trimmed"},
}

// unpicture turns the suite's control pictures (U+2400–U+241F) into the
// control characters they stand for.
func unpicture(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 0x2400 && r <= 0x241f {
			return r - 0x2400
		}
		return r
	}, s)
}

func TestEmailIsEmailSuite(t *testing.T) {
	f, err := os.Open("testdata/email/isemail-tests.flat.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	v := mustBuild(t, "email", nil)
	used := map[string]bool{}
	var valid, errs int
	for _, r := range rows[1:] {
		set, id, addr, cat, diag, ctl := r[0], r[1], r[2], r[3], r[5], r[6]
		if ctl == "true" {
			addr = unpicture(addr)
		}
		key := set + "/" + id
		var want emailChoice
		switch {
		case cat == "ISEMAIL_VALID_CATEGORY":
			want, valid = emailChoice{true, "valid"}, valid+1
		case cat == "ISEMAIL_ERR":
			want, errs = emailChoice{false, "error case"}, errs+1
		default:
			var ok bool
			if want, ok = emailPolicy[diag]; !ok {
				t.Errorf("%s %q: no policy for diagnosis %s", key, addr, diag)
				continue
			}
		}
		if ex, ok := emailExceptions[key]; ok {
			want, used[key] = ex, true
		}
		if addr == "" {
			// The empty string is absent, not invalid: required and
			// not_empty judge it. The suite's case 1 is checked here.
			if isEmail(addr) != want.accept {
				t.Errorf("%s: isEmail(\"\") = %v", key, !want.accept)
			}
			continue
		}
		got, err := v.Validate(addr)
		if (err == nil) != want.accept {
			t.Errorf("%s %q (%s): accepted=%v, want %v (%s)", key, addr, diag, err == nil, want.accept, want.why)
			continue
		}
		if err != nil && err.Error() != "Invalid email format" {
			t.Errorf("%s: error %q", key, err)
		}
		if err == nil && got != strings.Trim(addr, " ") {
			t.Errorf("%s: kept %q, want the trimmed address", key, got)
		}
	}
	if valid != 43 || errs != 154 {
		t.Errorf("suite changed: %d valid, %d error cases", valid, errs)
	}
	for k := range emailExceptions {
		if !used[k] {
			t.Errorf("exception %s matches no case", k)
		}
	}
}

func TestEmail(t *testing.T) {
	tests := []struct {
		in   any
		want any // nil: rejected
	}{
		{"john.doe@example.com", "john.doe@example.com"},
		{"John.Doe+crm@Example.COM", "John.Doe+crm@Example.COM"},
		{"  jane@example.org\t", "jane@example.org"},
		{"", ""},
		{"   ", "   "},
		{"josé.garcía@ejemplo.es", "josé.garcía@ejemplo.es"},
		{"用户@例子.广告", "用户@例子.广告"},
		{"почта@пример.рф", "почта@пример.рф"},
		{"info@xn--mller-kva.de", "info@xn--mller-kva.de"},
		{"o'brien@example.ie", "o'brien@example.ie"},
		{"N/A", nil},
		{"none", nil},
		{"john@example", nil},
		{"john@@example.com", nil},
		{"John Doe <john@example.com>", nil},
		{"john doe@example.com", nil},
		{"john@example..com", nil},
		{"john@example.com.", nil},
		{"john@-example.com", nil},
		{"john@exa_mple.com", nil},
		{"john@example.com\n", nil},
		{"john\u200b@example.com", nil}, // zero-width space pasted from a web page
		{"john\xff@example.com", nil},   // invalid UTF-8
		{"john@example.com;jane@example.com", nil},
		{"john@192.168.1.1", nil},
		{strings.Repeat("a", 64) + "@example.com", strings.Repeat("a", 64) + "@example.com"},
		{strings.Repeat("a", 65) + "@example.com", nil},
		{"a@" + strings.Repeat("b", 63) + ".com", "a@" + strings.Repeat("b", 63) + ".com"},
		{"a@" + strings.Repeat("b", 64) + ".com", nil},
		{[]string{"a@example.com", " b@example.com"}, []string{"a@example.com", "b@example.com"}},
		{[]string{"a@example.com", "nope"}, nil},
		{int64(42), nil},
	}
	v := mustBuild(t, "email", nil)
	for _, tt := range tests {
		got, err := v.Validate(tt.in)
		if tt.want == nil {
			if err == nil || err.Error() != "Invalid email format" {
				t.Errorf("Validate(%q) = %q, %v; want Invalid email format", tt.in, got, err)
			}
			continue
		}
		if err != nil || !equal(got, tt.want) {
			t.Errorf("Validate(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func FuzzEmail(f *testing.F) {
	for _, s := range []string{"a@b.co", "用户@例子.广告", "a..b@c.d", "@", "a@b.c-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !isEmail(s) {
			return
		}
		at := strings.IndexByte(s, '@')
		if at < 1 || at > 64 || len(s) > 254 || !strings.Contains(s[at+1:], ".") || strings.ContainsAny(s, " \t\r\n\"()[]\\,;<>") {
			t.Fatalf("accepted %q", s)
		}
	})
}

func BenchmarkEmail(b *testing.B) {
	v := mustBuild(b, "email", nil)
	for _, bc := range []struct{ name, in string }{
		{"valid", "john.doe+crm@example-company.co.uk"},
		{"utf8", "josé.garcía@ejemplo.es"},
		{"invalid", "John Doe <john@example.com>"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var in any = bc.in
			b.ReportAllocs()
			for b.Loop() {
				_, _ = v.Validate(in)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "values/s")
		})
	}
}
