package httpsrc_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/crmsync/crmsync/engine/config"
	"github.com/crmsync/crmsync/engine/source"
	_ "github.com/crmsync/crmsync/engine/source/httpsrc"
)

// A page-numbered API that answers bare JSON arrays (Arrivy) and ends with
// an empty page.
func Example() {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("page") {
		case "1":
			fmt.Fprint(w, `[{"id": 1, "title": "Gutter install"}, {"id": 2, "title": "Roof estimate"}]`)
		case "2":
			fmt.Fprint(w, `[{"id": 3, "title": "Siding repair"}]`)
		default:
			fmt.Fprint(w, `[]`)
		}
	}))
	defer srv.Close()

	yml := strings.ReplaceAll(`
version: 1
name: arrivy
source:
  type: http
  base_url: BASE/api
  auth: {type: api_key, headers: {X-Auth-Key: key, X-Auth-Token: token}}
entities:
  tasks:
    request: {path: /tasks, params: {order_by: CREATED}}
    paginate: {style: page, limit_param: items_per_page}
    primary_key: id
    fields: {id: id, title: title}
`, "BASE", srv.URL)
	p, _ := source.Decode(config.Parse("arrivy.yaml", []byte(yml), config.Options{}))
	compile, _ := source.Lookup(p.Source.Type)
	opener, problems := compile(&source.Spec{Pipeline: p.Name, Source: &p.Source, Entity: p.Entities[0], Path: "/entities/tasks"})
	if opener == nil {
		fmt.Println(problems)
		return
	}
	r, _ := opener.Open(context.Background(), &source.Env{Version: "1.0"})
	err := r.Read(context.Background(), source.ReadState{}, func(pg source.Page) error {
		for _, rec := range pg.Records {
			fmt.Println(pg.Number, rec.JSON)
		}
		return nil
	})
	fmt.Println("err:", err, "calls:", r.(source.StatsReporter).Stats().APICalls)
	// Output:
	// 1 {"id": 1, "title": "Gutter install"}
	// 1 {"id": 2, "title": "Roof estimate"}
	// 2 {"id": 3, "title": "Siding repair"}
	// err: <nil> calls: 3
}
