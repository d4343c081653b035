package httpsrc

import (
	"errors"
	"fmt"
	"mime"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/crmsync/crmsync/engine/source"
	"github.com/crmsync/crmsync/engine/xmljson"
)

// Body formats (source.format, request.format).
const (
	formatAuto = ""
	formatJSON = "json"
	formatXML  = "xml"
)

// Formats are the values format: takes.
var Formats = []string{formatJSON, formatXML}

// compileFormat reads format and xml for one request.
func (o *opener) compileFormat(spec *source.Spec, req *Request, at string, p *problems) {
	src := sourceOf(spec)
	o.bodyFormat = sourceOf(spec).Format
	fat := "/source/format"
	if req.Format != "" {
		o.bodyFormat, fat = req.Format, at+"/format"
	}
	switch o.bodyFormat {
	case formatAuto, formatJSON, formatXML:
	default:
		p.errf(fat, "invalid-value", "format %q is not supported: want json or xml", o.bodyFormat)
	}
	o.req.xml = o.bodyFormat == formatXML
	o.xml = &xmljson.Options{MaxDepth: o.maxDepth}
	if x := src.XML; x != nil {
		o.xml.Namespaces, o.xml.Lists = x.Namespaces, x.Lists
		for _, k := range sortedKeys(x.Namespaces) {
			if k == "" || strings.ContainsAny(k, ".:*?#@|\\ ") {
				p.errf("/source/xml/namespaces/"+escapePointer(k), "invalid-value", "namespace prefix %q must be a plain name (letters, digits, _ or -)", k)
			}
			if x.Namespaces[k] == "" {
				p.errf("/source/xml/namespaces/"+escapePointer(k), "missing-setting", "namespace prefix %q needs its namespace URI", k)
			}
		}
	}
}

// isXML reports whether a response body is read as XML: format: xml,
// or no format and a Content-Type that says XML.
func (o *opener) isXML(h string) bool {
	switch o.bodyFormat {
	case formatXML:
		return true
	case formatJSON:
		return false
	}
	mt, _, err := mime.ParseMediaType(h)
	return err == nil && (mt == "text/xml" || mt == "application/xml" || strings.HasSuffix(mt, "+xml"))
}

// xmlToJSON replaces an XML body by its JSON. On an error the body is
// left as it came (for the error's snippet).
func (r *reader) xmlToJSON(res *response) error {
	if !r.o.isXML(res.header.Get("Content-Type")) {
		return nil
	}
	j, err := xmljson.Convert(res.body, r.o.xml)
	if err != nil {
		var de *xmljson.DepthError
		if errors.As(err, &de) {
			return fmt.Errorf("%v (max_depth)", err)
		}
		return fmt.Errorf("the body is %v", err)
	}
	res.body, res.fromXML = string(j), true
	return nil
}

// parentExists reports whether the nearest part of a plain records path
// that is in the body is an object (feed.entry: feed): the records'
// elements are simply absent.
func parentExists(body, path string) bool {
	if strings.ContainsAny(path, "#|@*?\\") {
		return false
	}
	for i := strings.LastIndexByte(path, '.'); i > 0; i = strings.LastIndexByte(path, '.') {
		path = path[:i]
		if r := gjson.Get(body, path); r.Exists() {
			return r.IsObject()
		}
	}
	return false
}

// soapFault finds a SOAP 1.1 or 1.2 fault in a converted body. client is
// true for a fault the sender caused (Client, Sender), which another try
// does not mend.
func soapFault(body string) (msg string, client, ok bool) {
	f := gjson.Get(body, "Envelope.Body.Fault")
	if !f.Exists() {
		return "", false, false
	}
	code := firstText(f, "faultcode", "Code.Value")
	text := firstText(f, "faultstring", "Reason.Text")
	detail := f.Get("detail")
	if !detail.Exists() {
		detail = f.Get("Detail")
	}
	local := code
	if i := strings.LastIndexByte(local, ':'); i >= 0 {
		local = local[i+1:]
	}
	client = strings.HasPrefix(local, "Client") || strings.HasPrefix(local, "Sender")
	msg = "SOAP fault"
	if code != "" {
		msg += " " + code
	}
	if text != "" {
		msg += ": " + text
	}
	if detail.Exists() && detail.Raw != `""` {
		msg += " (detail " + detail.Raw + ")"
	}
	return msg, client, true
}

// firstText is the text at the first path that has some: a string, or
// the _text of an element with attributes.
func firstText(r gjson.Result, paths ...string) string {
	for _, p := range paths {
		v := r.Get(p)
		if v.IsObject() {
			v = v.Get(xmljson.TextKey)
		}
		if s := strings.TrimSpace(v.String()); s != "" && !v.IsArray() && !v.IsObject() {
			return s
		}
	}
	return ""
}

// serverMessage is the message of an error document in a failed
// response's body: OData's {"error": {"message": …}} in its JSON forms
// and its XML <m:error>, or a SOAP fault.
func serverMessage(body string) string {
	if !gjson.Valid(body) {
		return ""
	}
	r := gjson.Parse(body)
	if msg, _, ok := soapFault(body); ok {
		return msg
	}
	if e := r.Get("error"); e.IsObject() {
		msg := firstText(e, "message.value", "message", "innererror.message")
		if code := firstText(e, "code"); code != "" && msg != "" {
			return code + ": " + msg
		}
		return msg
	}
	return ""
}

// xmlEscape escapes a value for XML text and attribute values.
func xmlEscape(s string) string {
	if !strings.ContainsAny(s, `<>&'"`+"\r") {
		return s
	}
	return xmlReplacer.Replace(s)
}

var xmlReplacer = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;", "\r", "&#xD;")
