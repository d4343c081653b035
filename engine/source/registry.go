package source

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
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
	// Source and Entity are the skeleton of the file's source and entity;
	// their Settings hold the kind's own settings, decoded into the
	// kind's types (Kind.Source, Kind.Entity).
	Source  *config.Source
	Entity  *config.Entity
	Path    string // JSON pointer of the entity, "/entities/<name>"
	BaseDir string // folder of the pipeline file, for relative paths
	// BatchSize is the entity's resolved batch size (entity, defaults,
	// environment override): a good page size for sources that choose one.
	BatchSize int
	// Timezone is the resolved zone for naive times (defaults.timezone),
	// nil = UTC; a kind with a zone setting of its own reads that first.
	Timezone *time.Location
	// Windows says the entity's full reads are partitioned by time
	// windows ({{ window.start }}, {{ window.end }}).
	Windows bool
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

// SecretNamer is an Opener that names the request headers and query
// parameters whose values are secrets of its settings (an http source's
// api keys and signed headers), so tools that print requests redact them.
type SecretNamer interface {
	SecretNames() (headers, params []string)
}

// RecordsPather is an Opener that reads records from a path in each
// response body (an http entity's records, else its source's), for the
// tools that explain a read that found none.
type RecordsPather interface {
	RecordsPath() string
}

// CompileFunc checks one entity's source settings and prepares its
// reader. It reports every problem it finds, and returns a nil Opener
// when any is an error.
type CompileFunc func(spec *Spec) (Opener, []Problem)

// Kind is one source type. It owns its settings: Source and Entity are
// nil pointers of the structs its source: mapping and each entity's own
// keys decode into (yaml tags; the JSON Schema and the reference are
// generated from them), and Compile reads them from Spec.Source.Settings
// and Spec.Entity.Settings.
type Kind struct {
	Name    string
	Source  any // e.g. (*httpsrc.SourceConfig)(nil); type: is the skeleton's
	Entity  any // e.g. (*httpsrc.EntityConfig)(nil)
	Compile CompileFunc
	// Optional names keys of the entity skeleton (config.Entity) that
	// only the kinds naming them take: parent (substreams).
	Optional []string
	// Lookups, when set, compiles the source's lookups: requests read
	// once per sync whose records expressions read as lookup.<name>.
	Lookups LookupFunc
}

// CompiledLookup is one compiled lookup of a source.
type CompiledLookup struct {
	Name   string
	Key    string        // gjson path: the records become a map by it
	Cache  time.Duration // keep the records this long (0: read every sync)
	Opener Opener
}

// LookupFunc compiles a source's lookups. names lists every lookup the
// source declares, compiled or not (so expressions naming one are not
// reported as unknown); skip says a path has schema problems already.
type LookupFunc func(spec *Spec, skip func(path string) bool) (names []string, lookups []CompiledLookup, problems []Problem)

var (
	mu    sync.RWMutex
	kinds = map[string]Kind{}
)

// Register makes a source type available by name. It panics on a
// duplicate, as database/sql does, and on a kind without settings types
// or compile step.
func Register(k Kind) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := kinds[k.Name]; dup {
		panic("source: Register called twice for " + k.Name)
	}
	if k.Compile == nil || settingsType(k.Source) == nil || settingsType(k.Entity) == nil {
		panic("source: kind " + k.Name + " needs Compile and pointer-to-struct Source and Entity settings types")
	}
	kinds[k.Name] = k
}

// KindOf returns a registered source type.
func KindOf(typ string) (Kind, bool) {
	mu.RLock()
	defer mu.RUnlock()
	k, ok := kinds[typ]
	return k, ok
}

// Lookup returns the compile function of a source type.
func Lookup(typ string) (CompileFunc, bool) {
	k, ok := KindOf(typ)
	return k.Compile, ok
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

// SourceType and EntityType are the struct types a kind's settings decode
// into.
func (k Kind) SourceType() reflect.Type { return settingsType(k.Source) }
func (k Kind) EntityType() reflect.Type { return settingsType(k.Entity) }

// NewSource and NewEntity return a new zero settings value to decode into.
func (k Kind) NewSource() any { return reflect.New(k.SourceType()).Interface() }
func (k Kind) NewEntity() any { return reflect.New(k.EntityType()).Interface() }

func settingsType(v any) reflect.Type {
	t := reflect.TypeOf(v)
	if t == nil || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return nil
	}
	return t.Elem()
}

// SettingsTypes gives config.Options.SettingsTypes for the registered
// kinds: the types a source type's settings decode into.
func SettingsTypes(typ string) (src, ent reflect.Type, ok bool) {
	k, ok := KindOf(typ)
	if !ok {
		return nil, nil, false
	}
	return k.SourceType(), k.EntityType(), true
}

// Decode decodes a parsed pipeline file: its skeleton, then the settings
// of its source's kind (none when the type is not registered). Like
// config's Decode it fills what it can and returns the first error.
func Decode(d *config.Document) (*config.Pipeline, error) {
	p, err := d.Decode()
	k, ok := KindOf(p.Source.Type)
	if !ok {
		return p, err
	}
	if serr := d.DecodeSettings(p, k.SourceType(), k.EntityType()); err == nil && serr != nil {
		err = fmt.Errorf("decoding %s: %w", d.File, serr)
	}
	return p, err
}
