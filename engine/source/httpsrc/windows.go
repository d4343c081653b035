package httpsrc

import (
	"fmt"
	"strings"

	"github.com/crmsync/crmsync/engine/source"
)

// checkWindows: an entity partitioned by time windows must filter its
// full read's request (or its job's start request) by {{ window.start }}
// and {{ window.end }}, or every window would read everything.
func checkWindows(spec *source.Spec, ent *EntityConfig, p *problems) {
	if !spec.Windows {
		return
	}
	var reqs []any
	if ent.Request != nil {
		reqs = append(reqs, ent.Request)
	}
	if ent.Job != nil && ent.Job.Start != nil {
		reqs = append(reqs, ent.Job.Start)
	}
	if mentions(reqs, "window.start") && mentions(reqs, "window.end") {
		return
	}
	at := spec.Path + "/partitions"
	if spec.Entity.Partitions == 0 {
		at = spec.Path + "/partition_every"
	}
	p.errf(at, "conflicting-settings", "%s", fmt.Sprintf("entity %q: time-window partitions need its request (or job.start) to filter by {{ window.start }} and {{ window.end }}; without both every window would read everything", spec.Entity.Name))
}

// mentions reports whether any string inside the requests (path,
// params, headers, body) uses the template variable name.
func mentions(reqs []any, name string) bool {
	var walk func(v any) bool
	walk = func(v any) bool {
		switch x := v.(type) {
		case *Request:
			if walk(x.Path) || walk(x.Body) {
				return true
			}
			for k, s := range x.Params {
				if walk(k) || walk(s) {
					return true
				}
			}
			for k, s := range x.Headers {
				if walk(k) || walk(s) {
					return true
				}
			}
		case string:
			for rest := x; ; {
				i := strings.Index(rest, "{{")
				if i < 0 {
					return false
				}
				j := strings.Index(rest[i:], "}}")
				if j < 0 {
					return false
				}
				if strings.TrimSpace(rest[i+2:i+j]) == name {
					return true
				}
				rest = rest[i+j+2:]
			}
		case map[string]any:
			for k, e := range x {
				if walk(k) || walk(e) {
					return true
				}
			}
		case []any:
			for _, e := range x {
				if walk(e) {
					return true
				}
			}
		}
		return false
	}
	for _, r := range reqs {
		if walk(r) {
			return true
		}
	}
	return false
}
