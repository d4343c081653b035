package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/crmsync/crmsync/engine/source"
	"github.com/tidwall/gjson"
)

// ReadLookups runs every lookup of the plan once: lookup.<name> is the
// list of its records, or a map of each record's key (as text) to the
// record. open opens each lookup's reader (the runner's, which probes it
// for preview, check and test); cached says whether a lookup's cache:
// applies. calls and retries count the requests.
func (p *Plan) ReadLookups(ctx context.Context, open func(context.Context, source.Opener) (source.Reader, error), log *slog.Logger, cached bool) (out map[string]any, calls, retries int64, err error) {
	out = make(map[string]any, len(p.Lookups))
	for _, l := range p.Lookups {
		if v, ok := cachedLookup(l); ok && cached {
			out[l.Name] = v
			continue
		}
		rd, err := open(ctx, l.Source)
		if err != nil {
			return out, calls, retries, fmt.Errorf("lookup %q: opening: %w", l.Name, err)
		}
		var list []any
		byKey := map[string]any{}
		err = rd.Read(ctx, source.ReadState{}, func(pg source.Page) error {
			for _, rec := range pg.Records {
				var v any
				if err := json.Unmarshal([]byte(rec.JSON), &v); err != nil {
					return fmt.Errorf("a record is not JSON: %w", err)
				}
				if l.Key == "" {
					list = append(list, v)
					continue
				}
				k := gjson.Get(rec.JSON, l.Key)
				if !k.Exists() || k.Type == gjson.Null {
					continue
				}
				if _, dup := byKey[k.String()]; !dup {
					byKey[k.String()] = v
				}
			}
			return nil
		})
		if sr, ok := rd.(source.StatsReporter); ok {
			st := sr.Stats()
			calls += st.APICalls
			retries += st.Retries
		}
		if c, ok := rd.(interface{ Close() error }); ok {
			c.Close()
		}
		if err != nil {
			return out, calls, retries, fmt.Errorf("lookup %q: %w", l.Name, err)
		}
		if l.Key == "" {
			out[l.Name] = list
		} else {
			out[l.Name] = byKey
		}
		if cached {
			storeLookup(l, out[l.Name])
		}
		if log != nil {
			log.Info("lookup read", "lookup", l.Name, "records", max(len(list), len(byKey)))
		}
	}
	return out, calls, retries, nil
}

// lookupCache keeps the records of lookups with cache: for later syncs of
// this process. Entries are keyed by the plan's hash, so a reloaded file
// reads its lookups again.
var lookupCache struct {
	sync.Mutex
	m map[string]cachedRecords
}

type cachedRecords struct {
	v       any
	expires time.Time
}

func cachedLookup(l *Lookup) (any, bool) {
	if l.Cache <= 0 {
		return nil, false
	}
	lookupCache.Lock()
	defer lookupCache.Unlock()
	c, ok := lookupCache.m[l.cacheKey]
	if !ok || time.Now().After(c.expires) {
		return nil, false
	}
	return c.v, true
}

func storeLookup(l *Lookup, v any) {
	if l.Cache <= 0 {
		return
	}
	lookupCache.Lock()
	defer lookupCache.Unlock()
	if lookupCache.m == nil {
		lookupCache.m = map[string]cachedRecords{}
	}
	lookupCache.m[l.cacheKey] = cachedRecords{v: v, expires: time.Now().Add(l.Cache)}
}
