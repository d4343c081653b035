package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/crmsync/crmsync/engine/diag"
	"go.yaml.in/yaml/v3"
)

// expandRefs replaces $$ by $ and each ${env:…} or ${file:…} by what
// sub gives for its kind and argument. The argument ends at the brace
// that balances the opening one, so a default may hold another
// reference: ${env:ATHENA_BASE_URL:-https://athena.${env:AWS_REGION}.amazonaws.com}.
// Values sub returns are not expanded again. A ${ without its closing
// brace is left as it is.
func expandRefs(s string, sub func(kind, arg string) string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], "$$") {
			b.WriteByte('$')
			i += 2
			continue
		}
		kind := ""
		switch {
		case strings.HasPrefix(s[i:], "${env:"):
			kind = "env"
		case strings.HasPrefix(s[i:], "${file:"):
			kind = "file"
		}
		if kind != "" {
			start := i + len(kind) + 3
			depth, j := 1, start
			for ; j < len(s) && depth > 0; j++ {
				switch {
				case s[j] == '$' && j+1 < len(s) && s[j+1] == '{':
					depth++
					j++
				case s[j] == '}':
					depth--
				}
			}
			if depth == 0 {
				b.WriteString(sub(kind, s[start:j-1]))
				i = j
				continue
			}
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

// interpolate replaces ${env:NAME}, ${env:NAME:-default} and ${file:PATH}
// in every scalar value ($$ is a literal $). It leaves the profiles it did
// not choose alone: their variables need not be set.
func (d *Document) interpolate(n *yaml.Node, path, dir string, opts Options) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := path + "/" + escape(n.Content[i].Value)
			if p == "/environments" {
				continue
			}
			d.interpolate(n.Content[i+1], p, dir, opts)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			d.interpolate(c, path+"/"+strconv.Itoa(i), dir, opts)
		}
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "$") {
			return
		}
		changed := false
		var sub func(kind, arg string) string
		sub = func(kind, arg string) string {
			changed = true
			switch kind {
			case "env":
				name, def, hasDef := strings.Cut(arg, ":-")
				if !envNameRE.MatchString(name) {
					d.findings = append(d.findings, diag.Finding{File: d.File, Line: n.Line, Column: n.Column,
						Severity: diag.Error, Code: "bad-interpolation",
						Message: fmt.Sprintf("${env:%s}: %q is not an environment variable name", arg, name)})
					return ""
				}
				if what := d.overrideCollision(name, path); what != "" {
					d.findings = append(d.findings, diag.Finding{File: d.File, Line: n.Line, Column: n.Column,
						Severity: diag.Warning, Code: "env-override-collision",
						Message: fmt.Sprintf("${env:%s} is also the variable crmsync reads to override %s of this pipeline: setting it changes both; give this setting a name of its own", name, what)})
				}
				if v, ok := opts.LookupEnv(name); ok && v != "" {
					return v
				}
				if hasDef {
					return expandRefs(def, sub) // a default may name another variable
				}
				d.findings = append(d.findings, diag.Finding{File: d.File, Line: n.Line, Column: n.Column,
					Severity: envSeverity(opts), Code: "env-unset",
					Message: d.unsetMessage(name, path)})
				return ""
			default: // file
				p := strings.TrimSpace(arg)
				if p == "" {
					d.findings = append(d.findings, diag.Finding{File: d.File, Line: n.Line, Column: n.Column,
						Severity: diag.Error, Code: "bad-interpolation", Message: "${file:} needs a path"})
					return ""
				}
				if !filepath.IsAbs(p) {
					p = filepath.Join(dir, p)
				}
				b, err := opts.ReadFile(p)
				if err != nil {
					msg := err.Error()
					if errors.Is(err, os.ErrNotExist) {
						msg = "no such file"
					}
					d.findings = append(d.findings, diag.Finding{File: d.File, Line: n.Line, Column: n.Column,
						Severity: envSeverity(opts), Code: "file-unreadable",
						Message: fmt.Sprintf("${file:%s}: cannot read secret file: %s", arg, msg)})
					return ""
				}
				v := strings.TrimRight(string(b), "\r\n")
				d.Secrets = append(d.Secrets, v)
				return v
			}
		}
		if strings.Contains(n.Value, "$$") {
			changed = true
		}
		out := expandRefs(n.Value, sub)
		if changed {
			if d.Interpolated == nil {
				d.Interpolated = map[string]bool{}
			}
			d.Interpolated[path] = true
			n.Value = out
			// "${env:RATE:-4}" is a number where a number goes, quoted or
			// not; where a string goes, the schema check accepts any
			// interpolated scalar as its text.
			n.Tag, n.Style = retag(out), 0
		}
	}
}

func envSeverity(o Options) diag.Severity {
	if o.StrictEnv {
		return diag.Error
	}
	return diag.Warning
}

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// retag gives an interpolated plain scalar the tag YAML would have given
// the text, so "${env:BATCH:-500}" is still a number.
func retag(s string) string {
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(s), &n); err == nil && len(n.Content) == 1 && n.Content[0].Kind == yaml.ScalarNode {
		return n.Content[0].Tag
	}
	return "!!str"
}

// unsetMessage says what to do about an unset variable: export a secret,
// or give an ordinary setting a default.
func (d *Document) unsetMessage(name, path string) string {
	if d.IsSecretPath(path) {
		return fmt.Sprintf("environment variable %s is not set: export it before running (a secret has no default in the file)", name)
	}
	return fmt.Sprintf("environment variable %s is not set and has no default (export it, or write ${env:%s:-default})", name, name)
}

// overrideSettings are the general <PIPELINE>_<SETTING> overrides (see
// applyOverrides): what each changes, and where in a file a ${env:} of
// that name means the same thing.
var overrideSettings = []struct {
	suffix, what string
	at           *regexp.Regexp
}{
	{"BATCH_SIZE", "every entity's batch_size", regexp.MustCompile(`^/(defaults|entities/[^/]+)/batch_size$`)},
	{"MAX_RECORDS", "every entity's max_records", regexp.MustCompile(`^/(defaults|entities/[^/]+)/max_records$`)},
	{"STRICT_VALIDATION", "whether warnings reject", nil},
	{"RETRY_ATTEMPTS", "source.retry.attempts", regexp.MustCompile(`^/source/retry/attempts$`)},
	{"TIMEOUT", "source.timeout (every request's time limit)", regexp.MustCompile(`^/source/timeout$`)},
	{"RATE_LIMIT", "the source's rate_limit", regexp.MustCompile(`^/source/rate_limit/(per_second|requests)$`)},
}

// overrideCollision says which general override the variable name is,
// when the file reads it for something else ("" when it does not).
func (d *Document) overrideCollision(name, path string) string {
	nameNode := Lookup(d.Root, "name")
	if nameNode == nil || nameNode.Kind != yaml.ScalarNode || nameNode.Value == "" {
		return ""
	}
	rest, ok := strings.CutPrefix(name, EnvPrefix(nameNode.Value))
	if !ok {
		return ""
	}
	for _, o := range overrideSettings {
		if rest == o.suffix && (o.at == nil || !o.at.MatchString(path)) {
			return o.what
		}
	}
	return ""
}
