// Package githubsrc reads records from files in a GitHub repository
// (type: github) through the REST contents API. The bytes are parsed by
// the file source's parser (filesrc.Format), and a file whose blob sha is
// the one of the last sync is not downloaded again.
package githubsrc

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/crmsync/crmsync/engine/source"
	"github.com/crmsync/crmsync/engine/source/filesrc"
)

func init() {
	// A repository file is read like a file, through GitHub's API, with
	// the http settings that make sense for it; an entity's settings are
	// a file entity's.
	source.Register(source.Kind{Name: "github", Source: (*SourceConfig)(nil), Entity: (*filesrc.EntityConfig)(nil), Compile: Compile})
}

// DefaultBaseURL is GitHub's API; GitHub Enterprise is https://host/api/v3.
const DefaultBaseURL = "https://api.github.com"

var repoRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)

type settings struct {
	owner, repo string
	ref         string
	token       string
	baseURL     string
	format      *filesrc.Format
	batch       int
	attempts    int
	initial     time.Duration
	maxWait     time.Duration
	timeout     time.Duration
}

// Compile checks an entity's github settings; it does no I/O.
func Compile(spec *source.Spec) (source.Opener, []source.Problem) {
	gh, _ := spec.Source.Settings.(*SourceConfig)
	if gh == nil {
		gh = &SourceConfig{}
	}
	f, probs := filesrc.CompileFormat(spec, &gh.SourceConfig)
	bad := func(at, code, format string, args ...any) {
		probs = append(probs, source.Problem{Path: at, Code: code, Message: fmt.Sprintf(format, args...)})
	}
	s := &settings{ref: gh.Ref, token: gh.Token.Reveal(), format: f, batch: spec.BatchSize,
		baseURL: strings.TrimRight(gh.BaseURL, "/"), attempts: 4, initial: 500 * time.Millisecond, maxWait: 30 * time.Second}
	switch {
	case gh.Repo == "":
		bad("/source/repo", "missing-setting", `repo is required, as "owner/name"`)
	case !repoRE.MatchString(gh.Repo):
		bad("/source/repo", "invalid-value", `repo %q must be "owner/name"`, gh.Repo)
	default:
		s.owner, s.repo, _ = strings.Cut(gh.Repo, "/")
	}
	p := strings.Trim(f.Path, "/")
	pathAt := "/source/path"
	if ent, _ := spec.Entity.Settings.(*filesrc.EntityConfig); ent != nil && ent.Path != "" {
		pathAt = spec.Path + "/path"
	}
	if dir, _ := splitPath(p); strings.Contains(p, "**") || strings.ContainsAny(dir, "*?[") {
		bad(pathAt, "invalid-value", "path %q: a github path may use a pattern only in its last part, such as data/*.csv", f.Path)
	}
	f.Path = p

	if s.baseURL == "" {
		s.baseURL = DefaultBaseURL
	}
	if u, err := url.Parse(s.baseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		bad("/source/base_url", "invalid-value", "base_url %q must be an http(s) URL such as https://api.github.com or https://github.example.com/api/v3", s.baseURL)
	} else if u.Scheme == "http" && s.token != "" && !isLoopback(u.Hostname()) {
		probs = append(probs, source.Problem{Path: "/source/base_url", Code: "insecure", Warning: true,
			Message: "the token would travel unencrypted over http: use https"})
	}
	s.timeout = gh.Timeout.Or(time.Minute)
	if r := gh.Retry; r != nil {
		if r.Attempts > 0 {
			s.attempts = r.Attempts
		}
		s.initial, s.maxWait = r.Initial.Or(s.initial), r.Max.Or(s.maxWait)
	}
	for _, p := range probs {
		if !p.Warning {
			return nil, probs
		}
	}
	return s, probs
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Open prepares the HTTP client; it does not call GitHub yet.
func (s *settings) Open(_ context.Context, env *source.Env) (source.Reader, error) {
	log := slog.New(slog.DiscardHandler)
	ua, redact := "crmsync", func(s string) string { return s }
	if env != nil {
		if env.Logger != nil {
			log = env.Logger
		}
		if env.Version != "" {
			ua += "/" + env.Version
		}
		if env.Redact != nil {
			redact = env.Redact
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// A download streams for as long as it takes; timeout bounds the wait
	// for each answer to begin.
	tr.ResponseHeaderTimeout = s.timeout
	var rt http.RoundTripper = tr
	if env != nil && env.WrapTransport != nil {
		rt = env.WrapTransport(rt)
	}
	c := &client{settings: s, hc: &http.Client{Transport: rt}, ua: ua, log: log, redact: redact}
	return &reader{settings: s, client: c, log: log}, nil
}

// splitPath splits "a/b/c.csv" into "a/b" and "c.csv".
func splitPath(p string) (dir, name string) {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i], p[i+1:]
	}
	return "", p
}
