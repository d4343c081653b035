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
	registerPager("cursor", pagerKinds["cursor"])
}

func TestRegisterAuthDuplicatePanics(t *testing.T) {
	defer func() {
		if r, _ := recover().(string); !strings.Contains(r, "bearer") {
			t.Fatalf("recover() = %q, want a panic naming bearer", r)
		}
	}()
	registerAuth("bearer", authKinds["bearer"])
}
