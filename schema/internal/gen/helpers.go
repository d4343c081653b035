package gen

// The small builders below keep each setting to one line: a description
// and, where it has one, a constraint. kw adds a JSON Schema keyword.

func kw(k string, v any) kv { return kv{k, v} }

// D is a schema with a description.
func D(desc string, kws ...kv) *Obj {
	return obj(append([]kv{{"description", desc}}, kws...)...)
}

func typed(t any, desc string, kws ...kv) *Obj {
	return obj(append([]kv{{"description", desc}, {"type", t}}, kws...)...)
}

// S, I, B and N are a string, an integer, a boolean and a number.
func S(desc string, kws ...kv) *Obj { return typed("string", desc, kws...) }
func I(desc string, kws ...kv) *Obj { return typed("integer", desc, kws...) }
func B(desc string, kws ...kv) *Obj { return typed("boolean", desc, kws...) }
func N(desc string, kws ...kv) *Obj { return typed("number", desc, kws...) }

// O is a mapping with exactly the given keys; required lists the keys it
// must have.
func O(desc string, props *Obj, required ...string) *Obj {
	o := typed("object", desc, kw("properties", props), kw("additionalProperties", false))
	if len(required) > 0 {
		o.Set("required", required)
	}
	return o
}

// props is an ordered set of settings.
func props(pairs ...kv) *Obj { return obj(pairs...) }

func ref(def string) kv { return kw("$ref", "#/$defs/"+def) }

func enum(values []string) kv { return kw("enum", values) }

func dur(desc string) *Obj {
	return D(desc+" Written as a number with a unit (500ms, 30s, 15m, 2h) or a whole number of seconds.", ref("duration"))
}

func strmap(desc string) *Obj {
	return typed("object", desc, kw("additionalProperties", obj(kw("type", "string"))))
}

func secret(desc string) *Obj {
	return S(desc + " A secret: write it as ${env:NAME} or ${file:PATH}; it never appears in logs, errors or history.")
}

func secretmap(desc string) *Obj {
	return typed("object", desc+" Values are secrets: write them as ${env:NAME} or ${file:PATH}.",
		kw("additionalProperties", obj(kw("type", "string"))))
}

func strlist(desc string) *Obj {
	return typed([]string{"string", "array"}, desc+" One name, or a list.", kw("items", obj(kw("type", "string"))))
}

func strarray(desc string, kws ...kv) *Obj {
	return typed("array", desc, append([]kv{kw("items", obj(kw("type", "string")))}, kws...)...)
}

const ident = "^[A-Za-z_][A-Za-z0-9_]*$"
