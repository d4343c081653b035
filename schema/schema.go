// Package schema embeds the JSON Schema of the pipeline language, the one
// that editors (yaml-language-server) and `crmsync lint` both use.
//
// pipeline.schema.json is generated from the Go registries by
// schema/internal/gen; never edit it by hand. After changing a registry,
// a setting or a description, run `go generate ./schema/`.
package schema

//go:generate go run ./internal/genschema -o pipeline.schema.json -docs ../docs/reference

import (
	"bytes"
	_ "embed"
	"fmt"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// JSON is schema/pipeline.schema.json, as shipped in the binary.
//
//go:embed pipeline.schema.json
var JSON []byte

// URL is the schema's $id: the file in the project's repository, which
// editors can fetch when a pipeline's first line names it.
const URL = "https://raw.githubusercontent.com/crmsync/crmsync/main/schema/pipeline.schema.json"

// ServePath is where crmsync serve answers with this schema, versioned by
// the language version (version: 1) so a newer release can serve both.
const ServePath = "/schema/v1/pipeline.schema.json"

var (
	once     sync.Once
	compiled *jsonschema.Schema
	doc      any
	errOnce  error
)

func load() {
	doc, errOnce = jsonschema.UnmarshalJSON(bytes.NewReader(JSON))
	if errOnce != nil {
		errOnce = fmt.Errorf("schema: parsing the embedded schema: %w", errOnce)
		return
	}
	c := jsonschema.NewCompiler()
	if errOnce = c.AddResource(URL, doc); errOnce != nil {
		return
	}
	compiled, errOnce = c.Compile(URL)
}

// Compiled returns the compiled schema.
func Compiled() (*jsonschema.Schema, error) {
	once.Do(load)
	return compiled, errOnce
}

// Doc returns the schema as plain JSON values, for looking up the names a
// location allows.
func Doc() any {
	once.Do(load)
	return doc
}
