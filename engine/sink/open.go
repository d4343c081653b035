package sink

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// OpenFunc opens a destination from its DSN.
type OpenFunc func(ctx context.Context, dsn string) (Destination, error)

var (
	mu      sync.RWMutex
	schemes = map[string]OpenFunc{}
)

// Register makes a DSN scheme ("postgres", "sqlite") available.
func Register(scheme string, f OpenFunc) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := schemes[scheme]; dup {
		panic("sink: Register called twice for " + scheme)
	}
	schemes[scheme] = f
}

type existingKey struct{}

// OpenExisting opens a destination for reading only what is there: an
// embedded file that does not exist is an error wrapping fs.ErrNotExist,
// not a new empty database (history and rejects use it; run and serve
// create the file with Open).
func OpenExisting(ctx context.Context, dsn string) (Destination, error) {
	return Open(context.WithValue(ctx, existingKey{}, true), dsn)
}

// MustExist reports whether the destination is opened by OpenExisting:
// a destination that would create its storage must not.
func MustExist(ctx context.Context) bool {
	v, _ := ctx.Value(existingKey{}).(bool)
	return v
}

// DefaultDSN is the embedded default destination.
const DefaultDSN = "sqlite:crmsync.db"

// schemeOf is the destination a DSN names: sqlite, postgres (also
// written postgresql).
func schemeOf(dsn string) (string, error) {
	scheme, _, ok := strings.Cut(dsn, ":")
	if !ok {
		// Not echoed: a key=value DSN may hold a password.
		return "", fmt.Errorf("destination: want sqlite:PATH or postgres://… (the value given has no scheme)")
	}
	if scheme == "postgresql" {
		scheme = "postgres"
	}
	return scheme, nil
}

// Open opens the destination a DSN names: sqlite:PATH, postgres://… or
// postgresql://…. The scheme picks the destination.
func Open(ctx context.Context, dsn string) (Destination, error) {
	scheme, err := schemeOf(dsn)
	if err != nil {
		return nil, err
	}
	mu.RLock()
	f, ok := schemes[scheme]
	mu.RUnlock()
	if !ok {
		var names []string
		mu.RLock()
		for k := range schemes {
			names = append(names, k)
		}
		mu.RUnlock()
		sort.Strings(names)
		return nil, fmt.Errorf("destination scheme %q is not supported (supported: %s)", scheme, strings.Join(names, ", "))
	}
	return f(ctx, dsn)
}
