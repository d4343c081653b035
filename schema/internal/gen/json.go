package gen

import (
	"bytes"
	"encoding/json"
)

// Obj is a JSON object that keeps its keys in the order they were set, so
// the generated file reads top-down like the language it describes.
type Obj struct {
	keys []string
	vals map[string]any
}

// kv is one key and value, for building an Obj in one expression.
type kv struct {
	k string
	v any
}

// obj builds an Obj from pairs.
func obj(pairs ...kv) *Obj {
	o := &Obj{vals: map[string]any{}}
	for _, p := range pairs {
		o.Set(p.k, p.v)
	}
	return o
}

// Set sets a key, keeping its place when it exists.
func (o *Obj) Set(k string, v any) *Obj {
	if _, ok := o.vals[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.vals[k] = v
	return o
}

// Get returns a key's value.
func (o *Obj) Get(k string) any { return o.vals[k] }

// Keys lists the keys in order.
func (o *Obj) Keys() []string { return o.keys }

// MarshalJSON writes the keys in order, without HTML escaping.
func (o *Obj) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		if err := encode(&b, k); err != nil {
			return nil, err
		}
		b.WriteByte(':')
		if err := encode(&b, o.vals[k]); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func encode(b *bytes.Buffer, v any) error {
	e := json.NewEncoder(b)
	e.SetEscapeHTML(false)
	if err := e.Encode(v); err != nil {
		return err
	}
	b.Truncate(b.Len() - 1) // Encode's newline
	return nil
}

// render writes v indented by two spaces, ending in a newline.
func render(v any) ([]byte, error) {
	var raw bytes.Buffer
	if err := encode(&raw, v); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, raw.Bytes(), "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}
