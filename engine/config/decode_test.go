package config

import "testing"

func TestDecodeInline(t *testing.T) {
	src := `version: 1
name: demo
source:
  type: http
  base_url: http://x
  auth: {type: bearer, token: "${env:TOK}"}
entities:
  contacts:
    request: {path: /c}
    records: results
    primary_key: id
    fields:
      id: id
      email: {path: properties.email, validate: [email, {min_length: 3}]}
`
	d := Parse("demo.yaml", []byte(src), Options{LookupEnv: func(k string) (string, bool) { return "s3cret", k == "TOK" }})
	if len(d.Findings()) > 0 {
		t.Fatal(d.Findings())
	}
	p, err := d.Decode()
	if err != nil {
		t.Fatal(err)
	}
	e := p.Entities[0]
	if p.Source.BaseURL != "http://x" || e.Request.Path != "/c" || e.Records != "results" || e.PrimaryKey[0] != "id" {
		t.Fatalf("inline decode lost settings: %+v %+v", p.Source, e)
	}
	if p.Source.Auth.Token.Reveal() != "s3cret" || p.Source.Auth.Token.String() != "[redacted]" {
		t.Fatal("secret not kept or not redacted")
	}
	if len(e.Fields) != 2 || e.Fields[1].Validate[1].Name != "min_length" || e.Fields[1].Validate[1].Arg != 3 {
		t.Fatalf("fields: %+v", e.Fields[1])
	}
	if len(d.Secrets) != 1 || d.Secrets[0] != "s3cret" {
		t.Fatalf("secrets: %v", d.Secrets)
	}
}
