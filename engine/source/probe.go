package source

import (
	"context"
	"net/http"
)

// Probe adjusts one reader for the authoring verbs (crmsync preview,
// check and test), which see, record or replay an entity's exchanges.
type Probe struct {
	// Wrap wraps the transport of the reader's own HTTP client; every
	// request of the reader goes through it, token fetches included.
	Wrap func(http.RoundTripper) http.RoundTripper
	// Attempts, when above 0, replaces the source's retry attempts.
	Attempts int
	// Unlimited drops the rate limits: a replay of recorded pages needs
	// no spacing.
	Unlimited bool
}

// Prober is implemented by openers whose readers can be probed: opened
// with a client of their own, adjusted by a Probe. An opener that is not
// a Prober is opened with Open.
type Prober interface {
	OpenProbe(ctx context.Context, env *Env, p Probe) (Reader, error)
}

// Local is implemented by openers that read only local files: their
// read needs no network and no recorded exchanges to be replayed offline.
type Local interface {
	Local() bool
}

// Diagnosis says in plain words why a read failed.
type Diagnosis struct {
	// Class is a stable name for tests and tools ("sql-auth", …).
	Class   string
	Summary string
	Details []string
}

// Diagnoser is implemented by openers that can explain their own
// kind's errors (a database's error codes, for example) for crmsync
// check and preview.
type Diagnoser interface {
	Diagnose(err error) (Diagnosis, bool)
}
