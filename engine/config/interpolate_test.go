package config

import "testing"

// TestInterpolateNested: a default may name another variable; a value
// from the environment is never expanded again; $$ stays a literal $.
func TestInterpolateNested(t *testing.T) {
	env := map[string]string{"AWS_REGION": "eu-west-1", "SET": "https://x.example", "TRICKY": "${env:AWS_REGION}"}
	cases := []struct{ in, want string }{
		{"${env:BASE:-https://athena.${env:AWS_REGION}.amazonaws.com}", "https://athena.eu-west-1.amazonaws.com"},
		{"${env:SET:-https://athena.${env:AWS_REGION}.amazonaws.com}", "https://x.example"},
		{"${env:BASE:-${env:NOPE:-${env:AWS_REGION}}}/x", "eu-west-1/x"},
		{"${env:TRICKY}", "${env:AWS_REGION}"},
		{"$${env:AWS_REGION}", "${env:AWS_REGION}"},
		{"a{b}${env:NOPE:-c{d}}", "a{b}c{d}"},
		{"${env:NOPE:-unclosed", "${env:NOPE:-unclosed"},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			src := "version: 1\nname: t\nsource: {type: http, base_url: 'V'}\n"
			d := Parse("t.yaml", []byte(replaceV(src, c.in)), Options{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }})
			if d.Findings().HasErrors() {
				t.Fatal(d.Findings())
			}
			if got := Lookup(Lookup(d.Root, "source"), "base_url").Value; got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func replaceV(src, v string) string {
	out := ""
	for i := 0; i < len(src); i++ {
		if src[i] == 'V' && i > 0 && src[i-1] == '\'' {
			out += v
			continue
		}
		out += string(src[i])
	}
	return out
}
