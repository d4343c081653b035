package postgres

import (
	"fmt"
	"hash/fnv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// maxIdent is PostgreSQL's identifier length (NAMEDATALEN-1). Longer
// names are silently truncated by the server, so crmsync refuses them for
// user names and shortens its own derived names itself.
const maxIdent = 63

// System columns crmsync adds to every table.
const (
	colSyncedAt  = "_synced_at"
	colSyncID    = "_sync_id"
	colRaw       = "_raw"
	colRowHash   = "_row_hash"
	colDeletedAt = "_deleted_at"
)

var systemColumns = map[string]bool{colSyncedAt: true, colSyncID: true, colRaw: true, colRowHash: true, colDeletedAt: true}

func quote(name string) string { return pgx.Identifier{name}.Sanitize() }

// quoteList quotes names and joins them with commas, each prefixed by
// prefix ("t." or "").
func quoteList(prefix string, names []string) string {
	var b strings.Builder
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(prefix)
		b.WriteString(quote(n))
	}
	return b.String()
}

func checkName(what, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%s name is empty", what)
	case len(name) > maxIdent:
		return fmt.Errorf("%s name %q is longer than PostgreSQL's %d-byte limit", what, name, maxIdent)
	case strings.IndexByte(name, 0) >= 0 || !utf8.ValidString(name):
		return fmt.Errorf("%s name %q is not valid UTF-8 text", what, name)
	}
	return nil
}

// derived makes base+suffix fit the identifier limit: a long base is cut
// (on a rune boundary) and marked with a hash of the full name, so two
// long names never share a derived one.
func derived(base, suffix string) string {
	if len(base)+len(suffix) <= maxIdent {
		return base + suffix
	}
	tag := fmt.Sprintf("_%08x", uint32(hash64(base)))
	cut := maxIdent - len(suffix) - len(tag)
	for cut > 0 && !utf8.RuneStart(base[cut]) {
		cut--
	}
	return base[:cut] + tag + suffix
}

// hash64 is FNV-1a over the parts joined by NUL bytes.
func hash64(parts ...string) int64 {
	h := fnv.New64a()
	for i, p := range parts {
		if i > 0 {
			h.Write([]byte{0})
		}
		h.Write([]byte(p))
	}
	return int64(h.Sum64())
}
