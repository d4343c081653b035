// Command genschema writes pipeline.schema.json (in the current folder,
// or the file named by -o) from package schema/internal/gen. It runs from
// `go generate ./schema/`.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/crmsync/crmsync/schema/internal/gen"
)

func main() {
	out := flag.String("o", "pipeline.schema.json", "file to write")
	flag.Parse()
	data, err := gen.Schema()
	if err != nil {
		fmt.Fprintln(os.Stderr, "genschema:", err)
		os.Exit(1)
	}
	if err := os.WriteFile(*out, data, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "genschema:", err)
		os.Exit(1)
	}
}
