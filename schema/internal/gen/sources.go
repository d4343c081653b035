package gen

import (
	"fmt"
	"slices"

	"github.com/crmsync/crmsync/engine/config"
	"github.com/crmsync/crmsync/engine/sink"
	"github.com/crmsync/crmsync/engine/source"
	"github.com/crmsync/crmsync/engine/source/filesrc"
	"github.com/crmsync/crmsync/engine/source/httpsrc"
	"github.com/crmsync/crmsync/engine/source/sqlsrc"
)

// kind is one registered source type and the keys it reads: those of
// its settings types, and the skeleton keys only it takes.
type kind struct {
	name           string
	Source, Entity []string
}

func sourceKinds() ([]kind, error) {
	var out []kind
	for _, t := range source.Types() {
		k, _ := source.KindOf(t)
		out = append(out, kind{name: t, Source: config.YAMLKeys(k.Source),
			Entity: append(config.YAMLKeys(k.Entity), k.Optional...)})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no source type is registered")
	}
	return out, nil
}

func typeNames(kinds []kind) []string {
	var out []string
	for _, k := range kinds {
		out = append(out, k.name)
	}
	return out
}

// sourceSettings describes every key of source:, whatever its type.
func sourceSettings() *Obj {
	return props(
		kw("base_url", S("http: the API's base URL (github: the API URL, default https://api.github.com).")),
		kw("headers", strmap("http: headers sent with every request.")),
		kw("auth", D("http: authentication.", ref("auth"))),
		kw("rate_limit", D("http: request rate limit.", ref("rate_limit"))),
		kw("retry", D("http: retry policy.", ref("retry"))),
		kw("timeout", dur("http: timeout of one request (default 30s). <PIPELINE>_TIMEOUT overrides it.")),
		kw("header_timeout", dur("http: longest wait for a response's status line and headers, per try (default: timeout). A try that waits longer fails and is retried.")),
		kw("idle_timeout", dur("http: longest gap between two reads of a response body, per try (default 15s). A server that sends headers and then stalls fails the try within this long; it is retried.")),
		kw("max_body_bytes", I("http: largest response body read, in bytes (default 268435456, 256 MiB; at most 4 GiB; 0: the default). A larger body fails the page with an error, and is never cut short.", kw("minimum", 0), kw("maximum", int64(4)<<30))),
		kw("max_depth", I("http: deepest nesting of arrays and objects a response body may have (default 512; at most 10000; 0: the default). It is checked before the body is parsed, so a hostile body fails the page instead of the process.", kw("minimum", 0), kw("maximum", 10000))),
		kw("allow_origins", typed("array", "http: other origins (scheme://host or scheme://host:port, such as https://cdn.example.com) that redirects and next-page links (next_url, link_header) may go to. Requests there carry no credentials: no Authorization, no auth or configured headers, no auth query parameters. Without an entry, a redirect or next link to another origin is an error; redirects within the origin are followed (at most 10), and one that would turn a POST into a GET is an error.",
			kw("items", obj(kw("type", "string"), kw("pattern", "^https?://[^/?#]+/?$"))))),
		kw("paginate", D("http: pagination for every entity that does not set its own.", ref("paginate"))),
		kw("error_when", D("http: expr over body, status and headers; when true, a response is an error even with status 200 (for example body?.success != true). A match is retried like a 5xx (retry's attempts and back-off) unless written {expr: …, retry: false}; a list is tried in order and the first match decides.",
			kw("anyOf", []any{obj(kw("type", "string")), obj(ref("error_rule")),
				obj(kw("type", "array"), kw("minItems", 1), kw("items", obj(kw("anyOf", []any{obj(kw("type", "string")), obj(ref("error_rule"))}))))}))),
		kw("records", S("http: gjson path of the record array for every entity that does not set its own.")),
		kw("lookups", typed("object", "http: requests run once at the start of each sync of an entity whose expressions read them, name → lookup; expressions read the records as lookup.<name> (a map by key, or the list). For a CRM's custom-field definitions (lookup.person_fields[\"Lead source\"].key) or the labels of option ids.",
			kw("propertyNames", obj(kw("pattern", ident))), kw("additionalProperties", obj(ref("lookup"))))),
		kw("driver", S("sql: the database driver (postgresql, pgx and mariadb are accepted as aliases).", enum(sqlsrc.Drivers()))),
		kw("dsn", secret("sql: the connection string.")),
		kw("timezone", S("sql: IANA zone of naive database times (default UTC).")),
		kw("path", S("file: the file or glob (relative to the pipeline file); github: the path in the repository.")),
		kw("format", S("file, github: csv, jsonl or json (default from the file name). http: how response bodies are read, json or xml (default: json, or xml when the Content-Type says XML); an XML body is converted to JSON once per page, so records, field paths, paginate and error_when read it with gjson paths (see docs/guides/xml-soap-odata.md).", enum(union(filesrc.Formats, httpsrc.Formats)))),
		kw("xml", O("http: how XML bodies map to JSON keys.", props(
			kw("namespaces", strmap("prefix → namespace URI: elements and attributes in that namespace are keyed <prefix>:<local> with this prefix (never the document's own). Every other element is keyed by its local name.")),
			kw("lists", strarray("Element names that are always an array, even when one element appears (entry, link).")),
		))),
		kw("csv", D("file, github: CSV settings.", ref("csv"))),
		kw("repo", S("github: owner/name.", kw("pattern", "^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$"))),
		kw("ref", S("github: branch, tag or commit (default: the default branch).")),
		kw("token", secret("github: a token with read access to the repository's contents.")),
	)
}

// entitySettings describes every key of an entity, whatever the source's
// type.
func entitySettings() *Obj {
	return props(
		kw("description", S("What this entity is, for people.")),
		kw("table", S("Destination table (default <pipeline>_<entity>).", kw("pattern", ident))),
		kw("primary_key", strlist("Fields that identify a record; rows are upserted on them.")),
		kw("incremental", D("Incremental sync settings.", ref("incremental"))),
		kw("full_refresh", B("Re-read everything on every run (lookup tables without a timestamp).")),
		kw("fields", D("The columns.", ref("fields"))),
		kw("filter", S("expr boolean over the mapped fields: records for which it is false are dropped and counted as filtered.")),
		kw("children", typed("object", "Child tables from nested arrays, name → child.", kw("propertyNames", obj(kw("pattern", ident))), kw("additionalProperties", obj(ref("child"))))),
		kw("batch_size", I("Records per write transaction (default: defaults.batch_size, else 500). <PIPELINE>_BATCH_SIZE overrides it.", kw("minimum", 1))),
		kw("max_records", I("Stop after this many records and commit what was read (0: no limit). <PIPELINE>_MAX_RECORDS overrides it.", kw("minimum", 0))),
		kw("on_invalid", D("Policy for invalid values of this entity.", ref("on_invalid"))),
		kw("keep_raw", B("Store the source record in a _raw column.")),
		kw("write", S("upsert (default) on the primary key; append every record as a new row; replace the whole table atomically when a full sync succeeds.", enum(sink.WriteModes))),
		kw("delete_missing", S("On a complete successful full sync, rows whose key was not seen are marked _deleted_at (soft) or deleted (hard).", enum(sink.DeleteModes))),
		kw("max_reject_rate", N("Fail the sync when more than this share (0–1) of the records is rejected.", kw("minimum", 0), kw("maximum", 1))),
		kw("partitions", I("Split a full read into this many partitions, read in parallel, each resuming on its own; incremental runs stay one stream. sql: primary-key ranges of equal row counts (first sync, --full, or every run without incremental). http: time windows of equal length from incremental.start (required) to the sync's start (first sync or --full); the request (or job.start) must use {{ window.start }} and {{ window.end }}.", kw("minimum", 1), kw("maximum", 1024))),
		kw("partition_rows", I("sql: partitions by size: one primary-key range per this many rows.", kw("minimum", 1000))),
		kw("partition_every", S("http: partitions by length: one time window per this long (7d, 12h; at least 1m) from incremental.start to the sync's start, at most 1024 windows.")),
		// http
		kw("request", D("http: the request.", ref("request"))),
		kw("incremental_request", D("http: the request of incremental runs, when it differs from request (a list endpoint for full reads, a change feed for increments).", ref("incremental_request"))),
		kw("job", D("http: the read is an asynchronous job: start, poll until done, then page its results with request ({{ job.id }}).", ref("job"))),
		kw("records", S("http: gjson path of the record array in the body (HubSpot: results). Empty: the body is the array.")),
		kw("paginate", D("http: pagination, replacing the source's paginate.", ref("paginate"))),
		kw("rows", D("http: the records are arrays of cells; a header row (or names) turns each into an object.", ref("rows"))),
		kw("changed_when", O("http: change detection by probe. request is sent before the read; when value (a gjson path into its body) equals the value stored with the entity's last complete sync, the sync reads nothing and says so (status success, counts 0). --full reads anyway; the new value is stored with the checkpoint of the sync that read everything, so a failed read probes and reads again.", props(
			kw("request", D("The probe: a cheap request (Drive: GET /drive/v3/files/{id}?fields=modifiedTime) with the source's base_url or a full URL, auth, limits and retries.", ref("request"))),
			kw("value", S("gjson path of the value in the probe's body (modifiedTime, etag, version).")),
		), "request", "value")),
		kw("rate_limit", D("http: an extra bucket for this entity, waited on after the source's (HubSpot search has its own per-second limit); with budget it can be shared.", ref("rate_limit"))),
		kw("parent", O("http: read once per record of another entity (a substream); {{ parent.<path> }} reaches the request, and fields with a path _parent.<path> store parent values (task_id: {path: _parent.id}).", props(
			kw("entity", S("The parent entity's name.", kw("pattern", ident))),
			kw("batch", I(`Read once per batch of up to this many parent records: {{ parent.<path> }} then reads a JSON array of them, and a body value that is exactly "{{ parent.#.{id} }}" becomes that JSON array (HubSpot's v4 associations batch read takes 100).`, kw("minimum", 1), kw("maximum", 10000))),
		), "entity")),
		// sql
		kw("from", S("sql: the table to read (schema.table allowed).")),
		kw("columns", strlist("sql: columns to select from the table (default all).")),
		kw("where", S("sql: an SQL condition added to the read (written as SQL; values never reach it).")),
		kw("query", S("sql: a full SELECT instead of from; it is wrapped for keyset paging, and may read the bound parameters :watermark, :window_start and :window_end (never pasted into the SQL).")),
		kw("key_columns", strlist("sql: the columns to page on when they differ from the primary_key field names (default: primary_key).")),
		kw("count", B("sql: run a COUNT(*) first so progress can show a total (default false).")),
		// file
		kw("path", S("file, github: the file or glob for this entity, overriding the source's.")),
		kw("format", S("file, github: csv, jsonl or json (default from the file name).", enum(filesrc.Formats))),
		kw("csv", D("file, github: CSV settings, overriding the source's.", ref("csv"))),
		kw("required_columns", strlist("file, github: columns every file must have; a file without them stops with an error naming them.")),
	)
}

// pick copies the described keys of all, in the order of all, keeping
// those in keep (or all when keep is nil).
func pick(all *Obj, keep func(string) bool) *Obj {
	out := props()
	for _, k := range all.Keys() {
		if keep == nil || keep(k) {
			out.Set(k, all.Get(k))
		}
	}
	return out
}

// entityDefs writes entity (every key, for a source of unknown type) and
// entity_<type> (the shared keys and the type's own) for each type.
func entityDefs(defs *Obj, kinds []kind) error {
	all := entitySettings()
	decoded := config.YAMLKeys(config.Entity{})
	for _, k := range kinds {
		decoded = union(decoded, k.Entity)
	}
	if err := sameKeys("entity", all.Keys(), decoded); err != nil {
		return err
	}
	kindKey := map[string]bool{}
	for _, k := range kinds {
		for _, key := range k.Entity {
			if all.Get(key) == nil {
				return fmt.Errorf("source type %q reads entity key %q, which schema/internal/gen does not describe", k.name, key)
			}
			kindKey[key] = true
		}
	}
	const desc = "One stream of records landing in one table."
	defs.Set("entity", O(desc, all, "fields"))
	for _, k := range kinds {
		defs.Set("entity_"+k.name, O(fmt.Sprintf("%s Read from a source of type %s.", desc, k.name),
			pick(all, func(key string) bool { return !kindKey[key] || slices.Contains(k.Entity, key) }), "fields"))
	}
	return nil
}

// sourceDefs writes source: a mapping whose type picks source_<type>, the
// keys that type reads; with no type, or an unknown one, source_any has
// every key.
func sourceDefs(defs *Obj, kinds []kind) error {
	all := sourceSettings()
	decoded := config.YAMLKeys(config.Source{})
	for _, k := range kinds {
		decoded = union(decoded, k.Source)
	}
	if err := sameKeys("source", append([]string{"type"}, all.Keys()...), decoded); err != nil {
		return err
	}
	types := typeNames(kinds)
	var branches []any
	for _, k := range kinds {
		for _, key := range k.Source {
			if all.Get(key) == nil {
				return fmt.Errorf("source type %q reads source key %q, which schema/internal/gen does not describe", k.name, key)
			}
		}
		keys := props(kw("type", D("Source type.", kw("const", k.name))))
		for _, key := range all.Keys() {
			if slices.Contains(k.Source, key) {
				keys.Set(key, all.Get(key))
			}
		}
		defs.Set("source_"+k.name, O("The settings of a source of type "+k.name+".", keys))
		branches = append(branches, obj(
			kw("if", obj(kw("properties", obj(kw("type", obj(kw("const", k.name))))), kw("required", []string{"type"}))),
			kw("then", obj(ref("source_"+k.name)))))
	}
	anyKeys := props(kw("type", D("Source type.")))
	for _, key := range all.Keys() {
		anyKeys.Set(key, all.Get(key))
	}
	defs.Set("source_any", O("The settings of a source whose type is not set here (an environment's override) or unknown: every key of every type.", anyKeys))
	branches = append(branches, obj(
		kw("if", obj(kw("properties", obj(kw("type", obj(enum(types))))), kw("required", []string{"type"}))),
		kw("else", obj(ref("source_any")))))
	defs.Set("source", typed("object", "Where records come from. type picks the reader; each type has its own settings.",
		kw("properties", props(kw("type", S("Source type.", enum(types))))),
		kw("allOf", branches)))
	return nil
}

// rootDef is the pipeline file. Which entity keys apply depends on
// source.type, so the entities' schema is picked at the top.
func rootDef(kinds []kind) *Obj {
	schedule := func() *Obj {
		return S("When crmsync serve runs the pipeline: every 15m, every 1h30m, or a five-field cron expression (optionally prefixed CRON_TZ=Zone).")
	}
	sourceIs := func(cond *Obj) *Obj {
		return obj(
			kw("properties", obj(kw("source", obj(kw("properties", obj(kw("type", cond))), kw("required", []string{"type"}))))),
			kw("required", []string{"source"}))
	}
	entitiesAre := func(def string) *Obj {
		return obj(kw("properties", obj(kw("entities", obj(kw("additionalProperties", obj(ref(def))))))))
	}
	var branches []any
	for _, k := range kinds {
		branches = append(branches, obj(kw("if", sourceIs(obj(kw("const", k.name)))), kw("then", entitiesAre("entity_"+k.name))))
	}
	branches = append(branches, obj(kw("if", sourceIs(obj(enum(typeNames(kinds))))), kw("else", entitiesAre("entity"))))

	o := O("A crmsync pipeline: one CRM described in YAML.", props(
		kw("version", D("Version of the pipeline language; 1.", kw("const", 1))),
		kw("name", S("The pipeline's name: prefix of its tables (<name>_<entity>) and of its environment overrides (<NAME>_BATCH_SIZE).", kw("pattern", "^[a-z][a-z0-9_]*$"))),
		kw("description", S("What this pipeline syncs and what it needs (account settings, scopes, environment variables).")),
		kw("source", D("Where records come from.", kw("allOf", []any{obj(ref("source"))}), kw("required", []string{"type"}))),
		kw("defaults", D("Defaults for every entity.", ref("defaults"))),
		kw("schedule", schedule()),
		kw("environments", typed("object", "Named profiles (development, staging, production) chosen with --env; each overrides source, defaults and schedule.",
			kw("propertyNames", obj(kw("pattern", ident))),
			kw("additionalProperties", O("A profile: settings merged over the file's.", props(
				kw("source", D("Source settings to override.", ref("source"))),
				kw("defaults", D("Defaults to override.", ref("defaults"))),
				kw("schedule", schedule()),
			))))),
		kw("entities", typed("object", "The entities to sync, name → entity. Each lands in its own table; which keys an entity has depends on source.type.",
			kw("minProperties", 1), kw("propertyNames", obj(kw("pattern", ident))))),
	), "version", "name", "source", "entities")
	o.Set("allOf", branches)
	return o
}

// checkDecoded: every mapping the schema describes has exactly the keys
// the decoder reads, so a key added to config without a line here stops
// the generator instead of being rejected by lint.
func checkDecoded(defs *Obj) error {
	for _, c := range []struct {
		def string
		v   any
	}{
		{"auth", httpsrc.Auth{}}, {"rate_limit", httpsrc.RateLimit{}}, {"retry", httpsrc.Retry{}},
		{"request", httpsrc.Request{}}, {"incremental", config.Incremental{}},
		{"error_rule", httpsrc.ErrorRule{}}, {"lookup", httpsrc.LookupRequest{}}, {"incremental_request", httpsrc.IncrementalRequest{}}, {"job", httpsrc.Job{}}, {"rows", httpsrc.Rows{}},
		{"csv", filesrc.CSVFormat{}}, {"field", config.Field{}}, {"child", config.Child{}}, {"defaults", config.Defaults{}},
	} {
		d := defs.Get(c.def).(*Obj)
		if err := sameKeys(c.def, d.Get("properties").(*Obj).Keys(), config.YAMLKeys(c.v)); err != nil {
			return err
		}
	}
	cw := defs.Get("entity").(*Obj).Get("properties").(*Obj).Get("changed_when").(*Obj)
	if err := sameKeys("changed_when", cw.Get("properties").(*Obj).Keys(), config.YAMLKeys(httpsrc.ChangedWhen{})); err != nil {
		return err
	}
	parent := defs.Get("entity").(*Obj).Get("properties").(*Obj).Get("parent").(*Obj)
	return sameKeys("parent", parent.Get("properties").(*Obj).Keys(), config.YAMLKeys(config.Parent{}))
}

func sameKeys(what string, described, decoded []string) error {
	var missing, extra []string
	for _, k := range decoded {
		if !slices.Contains(described, k) {
			missing = append(missing, k)
		}
	}
	for _, k := range described {
		if !slices.Contains(decoded, k) {
			extra = append(extra, k)
		}
	}
	if len(missing)+len(extra) > 0 {
		return fmt.Errorf("%s: keys decoded but not described in schema/internal/gen: %v; described but not decoded: %v", what, missing, extra)
	}
	return nil
}

// union lists the values of lists, each once, in order.
func union(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		for _, v := range l {
			if !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	return out
}
