// Command genschema writes pipeline.schema.json (in the current folder,
// or the file named by -o) from package schema/internal/gen. It runs from
// `go generate ./schema/`.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/crmsync/crmsync/schema/internal/gen"
	"github.com/crmsync/crmsync/schema/internal/refdoc"
)

func main() {
	out := flag.String("o", "pipeline.schema.json", "file to write")
	docs := flag.String("docs", "", "folder to write the generated reference to (settings.md, validators.md)")
	flag.Parse()
	data, err := gen.Schema()
	if err != nil {
		fail(err)
	}
	if err := os.WriteFile(*out, data, 0o644); err != nil {
		fail(err)
	}
	if *docs == "" {
		return
	}
	settings, err := refdoc.Settings(data)
	if err != nil {
		fail(err)
	}
	for name, text := range map[string][]byte{"settings.md": settings, "validators.md": refdoc.Validators(), "functions.md": refdoc.Functions()} {
		if err := os.WriteFile(filepath.Join(*docs, name), text, 0o644); err != nil {
			fail(err)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "genschema:", err)
	os.Exit(1)
}
