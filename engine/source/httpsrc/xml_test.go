package httpsrc

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/engine/source"
	"github.com/tidwall/gjson"
)

// atomPage is an OData v2 Atom feed with entries from..to (the shape of
// https://www.odata.org/documentation/odata-version-2-0/atom-format/);
// next, when set, is the href of a <link rel="next">.
func atomPage(from, to int, next string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8" standalone="yes"?>
<feed xml:base="http://x/Service.svc/" xmlns="http://www.w3.org/2005/Atom" xmlns:d="http://schemas.microsoft.com/ado/2007/08/dataservices" xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata">
<id>http://x/Service.svc/Contacts</id><title type="text">Contacts</title><link rel="self" title="Contacts" href="Contacts" />`)
	for i := from; i <= to; i++ {
		fmt.Fprintf(&b, `<entry><id>http://x/Service.svc/Contacts(%d)</id><content type="application/xml"><m:properties>`+
			`<d:Id m:type="Edm.Int32">%d</d:Id><d:Name>N%d &amp; co</d:Name><d:Balance m:type="Edm.Decimal">1234567890.12345678%d</d:Balance><d:Note m:null="true" />`+
			`</m:properties></content></entry>`, i, i, i, i%10)
	}
	if next != "" {
		fmt.Fprintf(&b, `<link rel="next" href="%s" />`, next)
	}
	b.WriteString(`</feed>`)
	return b.String()
}

func writeXML(w http.ResponseWriter, status int, ct, body string) {
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(status)
	w.Write([]byte(body))
}

// TestXMLAtomPaging: an Atom feed read as XML pages by $skip/$top (the
// offset pager) and by <link rel="next" href>; records, typed values and
// m:null come through the gjson paths unchanged.
func TestXMLAtomPaging(t *testing.T) {
	const total = 7
	cases := []struct{ name, paginate string }{
		{"offset $skip/$top", `{style: offset, offset_param: $skip, limit_param: $top, limit: 3}`},
		{"next link", `{style: next_url, next_url: 'feed.link.#(-rel=="next").-href'}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			api := newFake(t, func(w http.ResponseWriter, r *http.Request, _ string, _ int) {
				skip, _ := strconv.Atoi(r.URL.Query().Get("$skip"))
				from, to := skip+1, min(skip+3, total)
				next := ""
				if to < total {
					next = fmt.Sprintf("Contacts?$skip=%d", to)
				}
				writeXML(w, 200, "application/atom+xml;type=feed;charset=utf-8", atomPage(from, to, next))
			})
			r := openYAML(t, `
version: 1
name: t
source: {type: http, base_url: BASE/Service.svc, format: xml, xml: {lists: [entry]}}
entities:
  contacts:
    request: {path: /Contacts}
    records: feed.entry
    paginate: `+tc.paginate+`
    fields: {id: content.properties.Id}
`, api.URL, nil)
			pages, err := readAllPages(t, r, source.ReadState{})
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(ids(pages, "content.properties.Id"), ","); got != "1,2,3,4,5,6,7" {
				t.Fatalf("ids %s", got)
			}
			rec := pages[0].Records[0].JSON
			for path, want := range map[string]string{
				"content.properties.Id":      `1`,
				"content.properties.Name":    `"N1 & co"`,
				"content.properties.Balance": `1234567890.123456781`, // exact digits, not a float
				"content.properties.Note":    `null`,
			} {
				if got := gjson.Get(rec, path).Raw; got != want {
					t.Errorf("%s = %s, want %s", path, got, want)
				}
			}
			if acc := api.requests()[0].Header.Get("Accept"); !strings.Contains(acc, "xml") {
				t.Errorf("Accept %q, want XML", acc)
			}
		})
	}
}

// TestXMLFormatChoice: without format, an XML Content-Type is read as
// XML; format: json wins over the Content-Type.
func TestXMLFormatChoice(t *testing.T) {
	api := newFake(t, func(w http.ResponseWriter, r *http.Request, _ string, _ int) {
		writeXML(w, 200, "text/xml; charset=utf-8", `<list><item><id>1</id></item><item><id>2</id></item></list>`)
	})
	yml := `
version: 1
name: t
source: {type: http, base_url: BASE FORMAT}
entities:
  items:
    request: {path: /items}
    records: list.item
    fields: {id: id}
`
	r := openYAML(t, strings.Replace(yml, "FORMAT", "", 1), api.URL, nil)
	pages, err := readAllPages(t, r, source.ReadState{})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ids(pages, "id"), ","); got != "1,2" {
		t.Errorf("by Content-Type: ids %s", got)
	}
	r = openYAML(t, strings.Replace(yml, "FORMAT", ", format: json", 1), api.URL, nil)
	if _, err := readAllPages(t, r, source.ReadState{}); err == nil || !strings.Contains(err.Error(), "the body is not JSON") {
		t.Errorf("format json: err %v, want not JSON", err)
	}
}

// TestXMLBadBodies: a body that is not well-formed XML, an OData error
// document (JSON and XML) and SOAP faults are clear errors naming the
// entity and the request (secrets redacted); a client fault is not
// retried, a server fault is.
func TestXMLBadBodies(t *testing.T) {
	const odataXMLError = `<?xml version="1.0" encoding="utf-8" standalone="yes"?>
<m:error xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"><m:code /><m:message xml:lang="en-US">Resource not found for the segment 'Contactz'.</m:message></m:error>`
	soap := func(code, text string) string {
		return `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault>` +
			`<faultcode>` + code + `</faultcode><faultstring>` + text + `</faultstring>` +
			`<detail><ns2:ObjectDoesntExistFault xmlns:ns2="urn:x"><objectName>L1</objectName></ns2:ObjectDoesntExistFault></detail>` +
			`</soap:Fault></soap:Body></soap:Envelope>`
	}
	cases := []struct {
		name, ct, body string
		status         int
		want           []string
		calls          int
	}{
		{"not well-formed", "application/atom+xml", "<feed>\n<entry><id>1</id></entry>\n<entry>\n</feed>", 200,
			[]string{`entity "contacts": page 1: GET`, "/Contacts?key=REDACTED", "not well-formed XML at line 4", "element <entry> closed by </feed>"}, 1},
		{"OData XML error", "application/xml", odataXMLError, 404,
			[]string{"status 404", `the server says "Resource not found for the segment 'Contactz'."`}, 1},
		{"OData JSON v4 error", "application/json", `{"error":{"code":"BadRequest","message":"The query parameter '$top' is invalid."}}`, 400,
			[]string{`the server says "BadRequest: The query parameter '$top' is invalid."`}, 1},
		{"OData JSON v2 error", "application/json", `{"error":{"code":"","message":{"lang":"en-US","value":"Bad filter."}}}`, 400,
			[]string{`the server says "Bad filter."`}, 1},
		{"SOAP client fault", "text/xml", soap("soap:Client", "List L1 not found"), 500,
			[]string{"status 500", "SOAP fault soap:Client: List L1 not found", "ObjectDoesntExistFault"}, 1},
		{"SOAP server fault is retried", "text/xml", soap("soap:Server", "Temporary failure"), 500,
			[]string{"SOAP fault soap:Server: Temporary failure", "(after 2 tries)"}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			api := newFake(t, func(w http.ResponseWriter, r *http.Request, _ string, _ int) {
				writeXML(w, tc.status, tc.ct, tc.body)
			})
			r := openYAML(t, `
version: 1
name: t
source:
  type: http
  base_url: BASE
  retry: {attempts: 2, initial: 1ms, max: 1ms}
  auth: {type: api_key, query: {key: "${env:KEY}"}}
entities:
  contacts:
    request: {path: /Contacts}
    records: feed.entry
    fields: {id: id}
`, api.URL, map[string]string{"KEY": "s3cr3t-key-value"})
			_, err := readAllPages(t, r, source.ReadState{})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\nlacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("secret in %q", err)
			}
			if n := len(api.requests()); n != tc.calls {
				t.Errorf("%d requests, want %d", n, tc.calls)
			}
		})
	}
}

// TestODataJSONPaging: JSON OData pages with the existing next_url pager
// in its three spellings (v4 @odata.nextLink, v3 odata.nextLink, v2
// d.__next with d.results).
func TestODataJSONPaging(t *testing.T) {
	cases := []struct{ name, records, next, page string }{
		{"v4", "value", `\@odata\.nextLink`, `{"@odata.context":"x","value":[%s]%s}`},
		{"v3", "value", `odata\.nextLink`, `{"odata.metadata":"x","value":[%s]%s}`},
		{"v2", "d.results", `d.__next`, `{"d":{"results":[%s]%s}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			nextKey := map[string]string{"v4": "@odata.nextLink", "v3": "odata.nextLink", "v2": "__next"}[tc.name]
			api := newFake(t, func(w http.ResponseWriter, r *http.Request, _ string, n int) {
				recs := fmt.Sprintf(`{"Id":%d},{"Id":%d}`, 2*n-1, 2*n)
				next := ""
				if n < 3 {
					next = fmt.Sprintf(`,%q:"Contacts?$skiptoken=%d"`, nextKey, 2*n)
				}
				writeJSON(w, 200, []byte(fmt.Sprintf(tc.page, recs, next)))
			})
			r := openYAML(t, `
version: 1
name: t
source: {type: http, base_url: BASE/svc}
entities:
  contacts:
    request: {path: /Contacts}
    records: `+tc.records+`
    paginate: {style: next_url, next_url: '`+tc.next+`'}
    fields: {id: Id}
`, api.URL, nil)
			pages, err := readAllPages(t, r, source.ReadState{})
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(ids(pages, "Id"), ","); got != "1,2,3,4,5,6" {
				t.Errorf("ids %s", got)
			}
		})
	}
}

// TestXMLRequestBody: a string body with format: xml is sent as XML text
// with its {{ }} values XML-escaped, as text/xml, with a SOAPAction
// header; an entity read per parent record of an XML parent gets the
// parent's values.
func TestXMLRequestBody(t *testing.T) {
	api := newFake(t, func(w http.ResponseWriter, r *http.Request, _ string, _ int) {
		writeXML(w, 200, "text/xml", `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><ns2:r xmlns:ns2="urn:x"><return><id>1</id></return></ns2:r></soap:Body></soap:Envelope>`)
	})
	r := openYAML(t, `
version: 1
name: t
source: {type: http, base_url: BASE, format: xml, xml: {lists: [return]}}
entities:
  lists:
    request: {method: POST, path: /ws, body: '<a/>'}
    records: Envelope.Body.r.return
    fields: {id: id}
  items:
    parent: {entity: lists}
    request:
      method: POST
      path: /ws
      headers: {SOAPAction: '""'}
      body: |
        <soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>
        <get><name>{{ parent.name }}</name><since>{{ watermark }}</since></get>
        </soap:Body></soap:Envelope>
    records: Envelope.Body.r.return
    fields: {id: id}
`, api.URL, nil, "items")
	pages, err := readAllPages(t, r, source.ReadState{Parent: `{"name":"A&B <\"list\">"}`, Watermark: "2024-01-01T00:00:00Z"})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(ids(pages, "id"), ","); got != "1" {
		t.Errorf("ids %s", got)
	}
	req := api.requests()[0]
	if !strings.Contains(req.Body, `<name>A&amp;B &lt;&quot;list&quot;&gt;</name><since>2024-01-01T00:00:00Z</since>`) {
		t.Errorf("body %s", req.Body)
	}
	if ct := req.Header.Get("Content-Type"); ct != "text/xml; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if sa, ok := req.Header["Soapaction"]; !ok || sa[0] != `""` {
		t.Errorf("SOAPAction %q", sa)
	}
}

// TestXMLCompileProblems: settings that cannot work are lint errors.
func TestXMLCompileProblems(t *testing.T) {
	cases := []struct{ name, src, req, want string }{
		{"unknown format", `format: yaml`, `{path: /x}`, `format "yaml" is not supported`},
		{"xml body as a map", `format: xml`, `{method: POST, path: /x, body: {a: 1}}`, "the request body is XML text"},
		{"bad prefix", `format: xml, xml: {namespaces: {"a.b": "urn:x"}}`, `{path: /x}`, "must be a plain name"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, probs := compileYAML(t, `
version: 1
name: t
source: {type: http, base_url: http://x, `+tc.src+`}
entities:
  e:
    request: `+tc.req+`
    fields: {id: id}
`, "")
			if !strings.Contains(fmt.Sprint(probs), tc.want) {
				t.Errorf("problems %v, want %q", probs, tc.want)
			}
		})
	}
}
