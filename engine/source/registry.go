package source

import (
	"context"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/crmsync/crmsync/engine/config"
	"github.com/crmsync/crmsync/engine/diag"
)

// Problem is a finding of a source kind's compile step, at a JSON pointer
// into the pipeline file ("/source/base_url", "/entities/contacts/paginate").
type Problem = diag.Problem

// Spec is what a source kind compiles one entity from.
type Spec struct {
	Pipeline string
	Source   *config.Source
	Entity   *config.Entity
	Path     string // JSON pointer of the entity, "/entities/<name>"
	BaseDir  string // folder of the pipeline file, for relative paths
	// BatchSize is the entity's resolved batch size (entity, defaults,
	// environment override): a good page size for sources that choose one.
	BatchSize int
	// Timezone is the resolved zone for naive times (source, defaults), nil = UTC.
	Timezone *time.Location
}

// Env is what a reader gets at run time.
type Env struct {
	Logger *slog.Logger
	// Redact removes every secret of the pipeline from a text; use it on
	// anything that reaches a log, an error or the history.
	Redact func(string) string
	// Version is crmsync's version, for the User-Agent.
	Version string
	// WrapTransport, when set, wraps the transport the reader's requests
	// go through (crmsync serve counts them by host and status class).
	WrapTransport func(http.RoundTripper) http.RoundTripper
}

// Opener opens a reader at run time (connects, authenticates lazily).
// Compiling does no I/O; opening may.
type Opener interface {
	Open(ctx context.Context, env *Env) (Reader, error)
}

// CompileFunc checks one entity's source settings and prepares its
// reader. It reports every problem it finds, and returns a nil Opener
// when any is an error.
type CompileFunc func(spec *Spec) (Opener, []Problem)

var (
	mu    sync.RWMutex
	kinds = map[string]CompileFunc{}
)

// Register makes a source type available by name. It panics on a
// duplicate, as database/sql does.
func Register(typ string, f CompileFunc) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := kinds[typ]; dup {
		panic("source: Register called twice for " + typ)
	}
	kinds[typ] = f
}

// Lookup returns the compile function of a source type.
func Lookup(typ string) (CompileFunc, bool) {
	mu.RLock()
	defer mu.RUnlock()
	f, ok := kinds[typ]
	return f, ok
}

// Types lists the registered source types.
func Types() []string {
	mu.RLock()
	defer mu.RUnlock()
	var out []string
	for k := range kinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Settings names the keys a source type reads: under source: and in each
// entity, beside the keys every entity has. The JSON Schema offers a
// source and its entities only the keys of its type.
type Settings struct {
	Source []string
	Entity []string
}

var settings = map[string]Settings{}

// RegisterSettings records the keys a source type reads. It panics on a
// duplicate.
func RegisterSettings(typ string, s Settings) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := settings[typ]; dup {
		panic("source: RegisterSettings called twice for " + typ)
	}
	settings[typ] = s
}

// SettingsOf returns the keys a source type reads.
func SettingsOf(typ string) (Settings, bool) {
	mu.RLock()
	defer mu.RUnlock()
	s, ok := settings[typ]
	return s, ok
}
