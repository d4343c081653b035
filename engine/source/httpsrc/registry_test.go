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
	registerAuth("bearer", "again", compileBearer)
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

// TestAuthKeysDescribed: every auth type's own keys carry what the schema
// is generated from, none is the shared type key, and oauth2's grant
// offers exactly OAuth2Grants.
func TestAuthKeysDescribed(t *testing.T) {
	for _, typ := range AuthTypes() {
		desc, cfg, _ := AuthConfig(typ)
		if desc == "" {
			t.Errorf("auth type %s has no desc", typ)
		}
		for i := range cfg.NumField() {
			f := cfg.Field(i)
			key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if f.Tag.Get("desc") == "" {
				t.Errorf("auth type %s: field %s has no desc tag", typ, f.Name)
			}
			if key == "type" {
				t.Errorf("auth type %s: field %s takes the shared key type", typ, f.Name)
			}
			if key == "grant" && f.Tag.Get("enum") != strings.Join(OAuth2Grants, ",") {
				t.Errorf("auth type %s: grant offers %q, compile takes %v", typ, f.Tag.Get("enum"), OAuth2Grants)
			}
		}
	}
}
