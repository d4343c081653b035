package sqlite

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/crmsync/crmsync/engine/sink"
)

// TestOpenExisting: opened for reading, a missing file is fs.ErrNotExist
// and is not created; an existing one opens; Open still creates.
func TestOpenExisting(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "x.db")
	if _, err := sink.OpenExisting(ctx, "sqlite:"+path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v, want fs.ErrNotExist", err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Fatal("OpenExisting created the file")
	}
	d, err := sink.Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	d, err = sink.OpenExisting(ctx, "sqlite:"+path+"?_pragma=cache_size(-2000)")
	if err != nil {
		t.Fatalf("existing file: %v", err)
	}
	d.Close()
}
