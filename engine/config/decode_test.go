package config

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// A kind's settings as a plugin would declare them; config knows none.
type testSource struct {
	BaseURL string `yaml:"base_url"`
	Auth    *struct {
		Token   Secret            `yaml:"token"`
		Headers map[string]Secret `yaml:"headers"`
		Scheme  string            `yaml:"scheme"`
	} `yaml:"auth"`
}

type testEntity struct {
	Request struct {
		Path string `yaml:"path"`
	} `yaml:"request"`
	Records string `yaml:"records"`
}

func testTypes(typ string) (reflect.Type, reflect.Type, bool) {
	return reflect.TypeFor[testSource](), reflect.TypeFor[testEntity](), typ == "http"
}

func TestDecodeSkeletonAndSettings(t *testing.T) {
	src := `version: 1
name: demo
source:
  type: http
  base_url: http://x
  auth: {type: bearer, token: "${env:TOK}", headers: {X-Key: k3y}, scheme: Token}
entities:
  contacts:
    request: {path: /c}
    records: results
    primary_key: id
    fields:
      id: id
      email: {path: properties.email, validate: [email, {min_length: 3}]}
`
	d := Parse("demo.yaml", []byte(src), Options{SettingsTypes: testTypes,
		LookupEnv: func(k string) (string, bool) { return "s3cret", k == "TOK" }})
	if len(d.Findings()) > 0 {
		t.Fatal(d.Findings())
	}
	p, err := d.Decode()
	if err != nil {
		t.Fatal(err)
	}
	e := p.Entities[0]
	if p.Source.Type != "http" || e.PrimaryKey[0] != "id" || e.Node == nil || p.Source.Node == nil {
		t.Fatalf("skeleton: %+v %+v", p.Source, e)
	}
	if len(e.Fields) != 2 || e.Fields[1].Validate[1].Name != "min_length" || e.Fields[1].Validate[1].Arg != 3 {
		t.Fatalf("fields: %+v", e.Fields[1])
	}
	if err := d.DecodeSettings(p, reflect.TypeFor[testSource](), reflect.TypeFor[testEntity]()); err != nil {
		t.Fatal(err)
	}
	s, es := p.Source.Settings.(*testSource), e.Settings.(*testEntity)
	if s.BaseURL != "http://x" || es.Request.Path != "/c" || es.Records != "results" {
		t.Fatalf("kind settings lost: %+v %+v", s, es)
	}
	if s.Auth.Token.Reveal() != "s3cret" || s.Auth.Token.String() != "[redacted]" {
		t.Fatal("secret not kept or not redacted")
	}
	slices.Sort(d.Secrets)
	if !slices.Equal(d.Secrets, []string{"k3y", "s3cret"}) {
		t.Fatalf("secrets found by type: %v", d.Secrets)
	}
}

func TestIsSecretPathByType(t *testing.T) {
	d := Parse("demo.yaml", []byte("source: {type: http}\n"), Options{SettingsTypes: testTypes})
	for p, want := range map[string]bool{
		"/source/auth/token":          true,
		"/source/auth/headers/X-Key":  true,
		"/source/auth/scheme":         false,
		"/source/auth/headers":        false,
		"/source/base_url":            false,
		"/entities/e/request/path":    false,
		"/source/auth/token/too/deep": false,
	} {
		if got := d.IsSecretPath(p); got != want {
			t.Errorf("IsSecretPath(%s) = %v, want %v", p, got, want)
		}
	}
	other := Parse("demo.yaml", []byte("source: {type: sql}\n"), Options{SettingsTypes: testTypes})
	if other.IsSecretPath("/source/auth/token") {
		t.Error("a path is secret only for the kind whose type says so")
	}
}

// A mapping whose keys depend on a discriminator, as http auth's do.
type testVariantA struct {
	Token Secret `yaml:"token"`
}

type testVariantB struct {
	User string            `yaml:"user"`
	Keys map[string]Secret `yaml:"keys"`
}

type testVariants struct {
	Kind string `yaml:"kind"`
	Held []any  `yaml:"-"`
}

func (*testVariants) SettingsVariants() []reflect.Type {
	return []reflect.Type{reflect.TypeFor[testVariantA](), reflect.TypeFor[testVariantB]()}
}

func (v *testVariants) SettingsValues() []any { return v.Held }

func TestSecretAtVariants(t *testing.T) {
	type holder struct {
		V *testVariants `yaml:"v"`
	}
	ty := reflect.TypeFor[holder]()
	for keys, want := range map[string]bool{
		"v/token": true, "v/keys/x": true, "v/user": false, "v/kind": false, "v/keys": false, "v/nope": false,
	} {
		if got := SecretAt(ty, strings.Split(keys, "/")); got != want {
			t.Errorf("SecretAt(%s) = %v, want %v", keys, got, want)
		}
	}
	h := holder{V: &testVariants{Held: []any{testVariantB{Keys: map[string]Secret{"x": NewSecret("s")}}}}}
	var got []string
	WalkSecrets(&h, "", func(p string, s Secret) { got = append(got, p+"="+s.Reveal()) })
	if !slices.Equal(got, []string{"/v/keys/x=s"}) {
		t.Errorf("WalkSecrets found %v, want the held variant's secret at its path", got)
	}
}
