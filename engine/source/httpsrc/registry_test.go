package httpsrc

import (
	"strings"
	"testing"
)

func TestRegisterPagerDuplicatePanics(t *testing.T) {
	defer func() {
		if r, _ := recover().(string); !strings.Contains(r, "cursor") {
			t.Fatalf("recover() = %q, want a panic naming cursor", r)
		}
	}()
	registerPager("cursor", "again", compileCursor)
}

func TestRegisterAuthDuplicatePanics(t *testing.T) {
	defer func() {
		if r, _ := recover().(string); !strings.Contains(r, "bearer") {
			t.Fatalf("recover() = %q, want a panic naming bearer", r)
		}
	}()
	registerAuth("bearer", authKinds["bearer"])
}

// TestPagerKeysDescribed: every style's own keys carry what the schema is
// generated from, and an in: key offers exactly the places where() takes.
func TestPagerKeysDescribed(t *testing.T) {
	for _, style := range PagerStyles() {
		_, cfg, _ := PagerConfig(style)
		for i := range cfg.NumField() {
			f := cfg.Field(i)
			if f.Tag.Get("desc") == "" {
				t.Errorf("style %s: field %s has no desc tag", style, f.Name)
			}
			if key, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); key == "in" && f.Tag.Get("enum") != strings.Join(Places, ",") {
				t.Errorf("style %s: in offers %q, where() takes %v", style, f.Tag.Get("enum"), Places)
			}
		}
	}
}
