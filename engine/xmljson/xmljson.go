// Package xmljson turns an XML document into JSON text, once per response
// body, so that gjson paths (records, fields, paging, error_when) read XML
// the way they read JSON.
//
// The mapping:
//
//   - The document is an object with one key, the root element's.
//   - An element's key is its local name ("d:Id" and "Id" are both Id).
//     An element in a namespace named in Options.Namespaces (prefix → URI)
//     is keyed "<prefix>:<local>" with the prefix given there, never the
//     document's own prefixes (which a server may change at will).
//   - An element without attributes or child elements is its text.
//     An element with them is an object: attributes as "-<name>" keys,
//     child elements by key, and non-blank text as "_text".
//   - Child elements of the same key become an array, in document order;
//     a key listed in Options.Lists is an array even when it appears once.
//   - An element with a namespaced attribute null="true" or nil="true"
//     (OData's m:null, XML Schema's xsi:nil) is JSON null.
//   - An element with a namespaced attribute type="Edm.<T>" (OData) is
//     typed: Boolean → true/false, integer types and Decimal, Double,
//     Single → a JSON number with the document's digits (never rounded),
//     everything else (DateTime, Guid, String, …) text. Text that is not
//     a valid number stays text; empty text of a typed element is null.
//   - Namespace declarations (xmlns) are dropped; comments, processing
//     instructions and the DOCTYPE are skipped.
package xmljson

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/crmsync/crmsync/engine/jsontext"
)

// Key conventions of the mapping.
const (
	AttrPrefix = "-"
	TextKey    = "_text"
)

// Options tune a conversion.
type Options struct {
	// Namespaces maps a prefix the pipeline chooses to a namespace URI;
	// elements and attributes in it are keyed "<prefix>:<local>".
	Namespaces map[string]string
	// Lists are keys whose elements are always an array.
	Lists []string
	// MaxDepth bounds the element nesting (0: no bound).
	MaxDepth int
}

// SyntaxError is a document that is not well-formed XML.
type SyntaxError struct {
	Line, Column int
	Offset       int64
	Msg          string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("not well-formed XML at line %d, column %d (byte %d): %s", e.Line, e.Column, e.Offset, e.Msg)
}

// DepthError is a document nested deeper than Options.MaxDepth.
type DepthError struct {
	Limit, Line int
}

func (e *DepthError) Error() string {
	return fmt.Sprintf("the XML nests elements more than %d levels deep (at line %d); not converted", e.Limit, e.Line)
}

type attr struct{ key, val string }

type node struct {
	key   string
	attrs []attr
	kids  []*node
	text  []byte
	null  bool
	typ   string // Edm type without "Edm.", or ""
}

// Convert converts one XML document to JSON.
func Convert(src string, o *Options) ([]byte, error) {
	if o == nil {
		o = &Options{}
	}
	uriPrefix := make(map[string]string, len(o.Namespaces))
	for p, u := range o.Namespaces {
		uriPrefix[u] = p
	}
	lists := make(map[string]bool, len(o.Lists))
	for _, l := range o.Lists {
		lists[l] = true
	}
	name := func(n xml.Name) string {
		if p, ok := uriPrefix[n.Space]; ok && n.Space != "" {
			return p + ":" + n.Local
		}
		return n.Local
	}
	d := xml.NewDecoder(strings.NewReader(src))
	d.Strict = true
	d.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		switch strings.ToLower(label) {
		case "utf-8", "utf8", "us-ascii", "ascii":
			return in, nil
		}
		return nil, fmt.Errorf("encoding %q is not supported (want UTF-8)", label)
	}
	var stack []*node
	var root *node
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, syntaxErr(d, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if root != nil && len(stack) == 0 {
				return nil, syntaxErr(d, errors.New("a second root element"))
			}
			if o.MaxDepth > 0 && len(stack) >= o.MaxDepth {
				line, _ := d.InputPos()
				return nil, &DepthError{Limit: o.MaxDepth, Line: line}
			}
			n := &node{key: name(t.Name)}
			for _, a := range t.Attr {
				switch {
				case a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns"):
					continue
				case a.Name.Space != "" && (a.Name.Local == "null" || a.Name.Local == "nil"):
					if strings.TrimSpace(a.Value) == "true" {
						n.null = true
					}
					continue
				case a.Name.Space != "" && a.Name.Local == "type" && strings.HasPrefix(a.Value, "Edm."):
					n.typ = strings.TrimPrefix(a.Value, "Edm.")
					continue
				}
				n.attrs = append(n.attrs, attr{AttrPrefix + name(a.Name), a.Value})
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.kids = append(p.kids, n)
			} else {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				top := stack[len(stack)-1]
				top.text = append(top.text, t...)
			}
		}
	}
	if root == nil {
		return nil, &SyntaxError{Line: 1, Column: 1, Msg: "no root element (the body is empty or not XML)"}
	}
	b := make([]byte, 0, len(src))
	b = append(b, '{')
	b = jsontext.AppendString(b, []byte(root.key))
	b = append(b, ':')
	b = root.appendValue(b, lists)
	return append(b, '}'), nil
}

func syntaxErr(d *xml.Decoder, err error) error {
	line, col := d.InputPos()
	msg := err.Error()
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		msg = se.Msg
		line = se.Line
	}
	return &SyntaxError{Line: line, Column: col, Offset: d.InputOffset(), Msg: msg}
}

func (n *node) appendValue(b []byte, lists map[string]bool) []byte {
	if n.null {
		return append(b, "null"...)
	}
	if len(n.attrs) == 0 && len(n.kids) == 0 {
		return appendTyped(b, n.text, n.typ)
	}
	b = append(b, '{')
	first := true
	sep := func() {
		if !first {
			b = append(b, ',')
		}
		first = false
	}
	for _, a := range n.attrs {
		sep()
		b = jsontext.AppendString(b, []byte(a.key))
		b = append(b, ':')
		b = jsontext.AppendString(b, []byte(a.val))
	}
	// Children by key, in the order each key first appears.
	done := make(map[string]bool, 8)
	for i, k := range n.kids {
		if done[k.key] {
			continue
		}
		done[k.key] = true
		count := 0
		for _, o := range n.kids[i:] {
			if o.key == k.key {
				count++
			}
		}
		sep()
		b = jsontext.AppendString(b, []byte(k.key))
		b = append(b, ':')
		if count == 1 && !lists[k.key] {
			b = k.appendValue(b, lists)
			continue
		}
		b = append(b, '[')
		j := 0
		for _, o := range n.kids[i:] {
			if o.key != k.key {
				continue
			}
			if j > 0 {
				b = append(b, ',')
			}
			j++
			b = o.appendValue(b, lists)
		}
		b = append(b, ']')
	}
	if t := bytes.TrimSpace(n.text); len(t) > 0 {
		sep()
		b = jsontext.AppendString(b, []byte(TextKey))
		b = append(b, ':')
		b = appendTyped(b, t, n.typ)
	}
	return append(b, '}')
}

// appendTyped writes element text as JSON, typed by its Edm type.
func appendTyped(b, text []byte, typ string) []byte {
	if typ == "" || typ == "String" {
		return appendString(b, text)
	}
	t := bytes.TrimSpace(text)
	if len(t) == 0 {
		return append(b, "null"...)
	}
	switch typ {
	case "Boolean":
		switch string(t) {
		case "true", "1":
			return append(b, "true"...)
		case "false", "0":
			return append(b, "false"...)
		}
	case "Byte", "SByte", "Int16", "Int32", "Int64", "Decimal", "Double", "Single":
		if isJSONNumber(t) {
			return append(b, t...)
		}
	}
	return appendString(b, text)
}

func appendString(b, s []byte) []byte {
	return jsontext.AppendString(b, s)
}

// isJSONNumber reports whether s is a number as JSON writes one.
func isJSONNumber(s []byte) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i - j
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}
