package transform

import (
	"strings"

	"github.com/tidwall/gjson"
)

// extractor reads every field's path from a record in one pass over the
// JSON where it can. gjson.Get scans from the start of the record for
// each path; ten paths into one "properties" object scan it ten times.
// Plain dotted paths (properties.email) are compiled into a trie instead
// and matched while walking each object once. Paths with gjson syntax
// beyond plain keys (#, *, ?, @, |, escapes, array indexes) keep using
// gjson.Get.
type extractor struct {
	root    *trieNode
	complex []complexPath
	n       int // number of slots
	simple  int // number of trie leaves
}

type trieNode struct {
	children map[string]*trieNode
	slots    []int // field slots whose path ends here
	count    int   // leaves at or below this node
}

type complexPath struct {
	slot int
	path string
}

// isPlain reports whether a path is only object keys joined by dots.
func isPlain(p string) bool {
	if p == "" || strings.ContainsAny(p, `#*?@|\!=<>()[]{}"`) {
		return false
	}
	for _, seg := range strings.Split(p, ".") {
		if seg == "" {
			return false
		}
		if seg[0] >= '0' && seg[0] <= '9' {
			return false // could be an array index
		}
	}
	return true
}

func newExtractor() *extractor { return &extractor{root: &trieNode{}} }

// add registers a path and returns its slot.
func (x *extractor) add(path string) int {
	slot := x.n
	x.n++
	if !isPlain(path) {
		x.complex = append(x.complex, complexPath{slot, path})
		return slot
	}
	node := x.root
	node.count++
	for _, seg := range strings.Split(path, ".") {
		if node.children == nil {
			node.children = map[string]*trieNode{}
		}
		next := node.children[seg]
		if next == nil {
			next = &trieNode{}
			node.children[seg] = next
		}
		next.count++
		node = next
	}
	node.slots = append(node.slots, slot)
	x.simple++
	return slot
}

// extract fills out[slot] for every path. out has x.n entries.
func (x *extractor) extract(json string, out []gjson.Result, found []bool) {
	clear(found)
	for i := range out {
		out[i] = gjson.Result{}
	}
	if x.simple > 0 {
		x.walk(json, x.root, out, found)
	}
	for _, c := range x.complex {
		out[c.slot] = gjson.Get(json, c.path)
	}
}

// walk matches one object's keys against a trie node; it returns how many
// leaves it resolved, and stops early once all below the node are found.
func (x *extractor) walk(obj string, node *trieNode, out []gjson.Result, found []bool) int {
	r := gjson.Parse(obj)
	if !r.IsObject() {
		return 0
	}
	done := 0
	r.ForEach(func(k, v gjson.Result) bool {
		child := node.children[k.Str]
		if child == nil {
			return true
		}
		for _, s := range child.slots {
			if !found[s] { // the first of duplicate keys wins, as in gjson.Get
				out[s], found[s] = v, true
				done++
			}
		}
		if child.children != nil && v.IsObject() {
			done += x.walk(v.Raw, child, out, found)
		}
		return done < node.count
	})
	return done
}
