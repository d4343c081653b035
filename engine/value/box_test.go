package value

import (
	"fmt"
	"runtime"
	"testing"
)

// TestBoxesString: a boxed string is a string to type switches, equality,
// maps and fmt, keeps its value after many more boxings and collections
// (no slot reused, nothing freed under it), and costs an allocation only
// per slab.
func TestBoxesString(t *testing.T) {
	var b Boxes
	const n = 10 * boxSlab
	vals := make([]any, n)
	for i := range vals {
		vals[i] = b.String(fmt.Sprintf("value %d", i))
		if i%boxSlab == 0 {
			runtime.GC()
		}
	}
	runtime.GC()
	seen := map[any]int{}
	for i, v := range vals {
		want := fmt.Sprintf("value %d", i)
		s, ok := v.(string)
		if !ok || s != want || v != any(want) || fmt.Sprint(v) != want {
			t.Fatalf("box %d = %#v, want %q", i, v, want)
		}
		seen[v] = i
	}
	if len(seen) != n || seen[any("value 7")] != 7 {
		t.Fatalf("as map keys: %d distinct, value 7 at %d", len(seen), seen[any("value 7")])
	}
	if v := b.String(""); v != any("") {
		t.Fatalf("empty string boxed as %#v", v)
	}
	// AllocsPerRun divides whole numbers: under one allocation a call
	// (one a slab) is 0; boxing with any(s) is 1.
	text := "shared text"
	if allocs := testing.AllocsPerRun(1000, func() { _ = b.String(text) }); allocs != 0 {
		t.Fatalf("%.0f allocations a string, want one per %d strings", allocs, boxSlab)
	}
}
