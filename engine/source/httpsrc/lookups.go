package httpsrc

import (
	"maps"
	"slices"

	"github.com/crmsync/crmsync/engine/config"
	"github.com/crmsync/crmsync/engine/source"
)

// compileLookups compiles source.lookups: each is a reader of its own,
// compiled like an entity's request (same client, auth, limits and
// retries).
func compileLookups(spec *source.Spec, skip func(string) bool) (names []string, out []source.CompiledLookup, probs []source.Problem) {
	lookups := sourceOf(spec).Lookups
	for _, name := range slices.Sorted(maps.Keys(lookups)) {
		names = append(names, name)
		lk := lookups[name]
		path := "/source/lookups/" + config.Escape(name)
		if lk == nil || skip(path) {
			continue
		}
		ent := &config.Entity{Name: "lookup " + name, Settings: &EntityConfig{Request: lk.Request, Records: lk.Records, Paginate: lk.Paginate}}
		opener, problems := compile(&source.Spec{Pipeline: spec.Pipeline, Source: spec.Source, Entity: ent, Path: path,
			BaseDir: spec.BaseDir, Timezone: spec.Timezone})
		probs = append(probs, problems...)
		if opener == nil {
			continue
		}
		if lk.Cache.Set && lk.Cache.Duration <= 0 {
			probs = append(probs, source.Problem{Path: path + "/cache", Code: "invalid-value",
				Message: "lookup \"" + name + "\": cache must be above 0 (leave it out to read the lookup at the start of every sync)"})
		}
		out = append(out, source.CompiledLookup{Name: name, Key: lk.Key, Cache: lk.Cache.Duration, Opener: opener})
	}
	return names, out, probs
}
