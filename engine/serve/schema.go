package serve

import (
	"net/http"

	"github.com/crmsync/crmsync/schema"
)

// schemaRoutes serves the pipeline schema this binary checks files
// against, so editors can point at a running serve
// (# yaml-language-server: $schema=http://host:port/schema/v1/pipeline.schema.json)
// and complete exactly the keys its version knows.
func schemaRoutes(mux *http.ServeMux) {
	h := func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/schema+json")
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(schema.JSON)
	}
	mux.HandleFunc("GET "+schema.ServePath, h)
	mux.HandleFunc("GET /schema/pipeline.schema.json", h)
}
