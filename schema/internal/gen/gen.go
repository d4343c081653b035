// Package gen writes schema/pipeline.schema.json from the Go side of the
// pipeline language: the registries (validators, functions, field types,
// source types and the keys each reads, pagination styles, auth types)
// and the lists kept next to the code that reads them (encodings, formats,
// drivers, methods, write modes, policies). The descriptions are here,
// one line per setting; a setting the decoder knows and this file does
// not describe stops the generator.
//
// Run it with `go generate ./schema/`; a test in package schema fails when
// the committed file differs from what this package makes.
//
// Where things are:
//   - a new validator, function, field type, pagination style, auth type
//     or source type appears by registering it; nothing here changes;
//   - a new setting is a yaml key in its owner's settings struct (package
//     config for the skeleton, the source kind's package for its own)
//     plus one line in the def of its mapping here (sourceSettings,
//     entitySettings, fieldDef, …); the generator stops naming any key
//     the structs decode and no line describes, or the reverse
//     (checkDecoded, sameKeys);
//   - which source type reads a source or entity key is what its
//     registered settings types decode (source.Kind), and picks
//     source_<type> and entity_<type>.
//
// The builders mirror the Python generator this replaces, one for one:
// S("…", enum=[…]) is S("…", enum(list)), I("…", minimum=1) is
// I("…", kw("minimum", 1)), D("…", **{"$ref": "#/$defs/x"}) is D("…",
// ref("x")), O("…", {…}, req=["k"]) is O("…", props(kw("k", …), …), "k").
package gen

import (
	"fmt"
	"slices"
	"strings"

	"github.com/crmsync/crmsync/engine/exprfn"
	"github.com/crmsync/crmsync/engine/sink"
	"github.com/crmsync/crmsync/engine/source/filesrc"
	"github.com/crmsync/crmsync/engine/source/httpsrc"
	"github.com/crmsync/crmsync/engine/transform"
	"github.com/crmsync/crmsync/engine/validate"
	"github.com/crmsync/crmsync/engine/value"

	// Every source type built into the binary, so each registers its keys.
	_ "github.com/crmsync/crmsync/engine/source/githubsrc"
)

// URL is the schema's $id (schema.URL; repeated so this package does not
// import the one it generates for).
const URL = "https://raw.githubusercontent.com/crmsync/crmsync/main/schema/pipeline.schema.json"

// Schema returns the JSON Schema of the pipeline language, as written to
// schema/pipeline.schema.json.
func Schema() ([]byte, error) {
	defs := obj()
	defs.Set("duration", obj(
		kw("description", "A duration: 500ms, 30s, 15m, 2h, 1h30m, or a whole number of seconds."),
		kw("anyOf", []any{
			obj(kw("type", "integer"), kw("minimum", 0)),
			obj(kw("type", "string"), kw("pattern", `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`)),
			obj(kw("type", "string"), kw("pattern", "^[0-9]+$")),
		})))
	if err := authDefs(defs); err != nil {
		return nil, err
	}
	defs.Set("rate_limit", rateLimitDef())
	defs.Set("retry", O("Retries with exponential back-off and jitter for 429, 5xx, connection resets, timeouts and truncated bodies, and for the error responses retry.when names.", props(
		kw("attempts", I("How many times a request is tried in all (default 5). <PIPELINE>_RETRY_ATTEMPTS overrides it.", kw("minimum", 0))),
		kw("initial", dur("First back-off delay (default 500ms).")),
		kw("max", dur("Longest back-off delay (default 30s).")),
		kw("when", D("expr over body, status and headers of an error response that is not retried otherwise (a 400, a 403): when true it is tried again with the same back-off, for APIs that throttle with such a status (AWS: 400 with body.__type ending in ThrottlingException). One expression or a list; the first match decides.",
			kw("anyOf", []any{obj(kw("type", "string")), obj(ref("error_rule")),
				obj(kw("type", "array"), kw("minItems", 1), kw("items", obj(kw("anyOf", []any{obj(kw("type", "string")), obj(ref("error_rule"))}))))}))),
	)))
	if err := paginateDefs(defs); err != nil {
		return nil, err
	}
	defs.Set("request", requestDef())
	defs.Set("incremental_request", incrementalRequestDef())
	defs.Set("job", jobDef())
	defs.Set("rows", O("http: records that are arrays of cells (spreadsheet rows, query results) become objects {name: cell}, so fields name columns by their header text. A row with fewer cells than names gets null in the rest; a row with more is rejected.", props(
		kw("header", S("first (default): the first row of the read (first page only) names the columns and is no record; none: names gives them.", enum(httpsrc.RowsHeaders))),
		kw("cells", S("gjson path from a row to its array of cell values (Data.#.VarCharValue: an element without the value is a null cell). Empty: the row itself is the array.")),
		kw("names", strlist("header: none: the column names, in order.")),
	)))
	defs.Set("lookup", O("A request run once per sync whose records expressions read as lookup.<name>.", props(
		kw("request", D("The request; it uses the source's base_url, auth, rate limits and retries.", ref("request"))),
		kw("records", S("gjson path of the record array in the body (default: the source's records); data.#(name==\"Lead source\").options reads one field's options.")),
		kw("paginate", D("Pagination (default: the source's paginate).", ref("paginate"))),
		kw("key", S("gjson path in each record: lookup.<name> is a map of its value (as text) to the record, the first record of a value winning (key: name → lookup.person_fields[\"Lead source\"]). Without it, the list of records.")),
		kw("cache", dur("Keep the records this long for later syncs of the same process (crmsync serve, or one run of several entities) instead of reading them at the start of every sync.")),
	), "request"))
	defs.Set("error_rule", O("One error_when expression and whether a match is retried.", props(
		kw("expr", S("expr over body, status and headers; true means the response failed.")),
		kw("retry", B("Retry a match like a 5xx (default true); false fails the page at once (a bad token, a missing permission).")),
	), "expr"))
	defs.Set("incremental", incrementalDef())
	defs.Set("csv", csvDef())
	defs.Set("validator", validatorDef())
	defs.Set("on_invalid", S("What happens to a value that fails conversion or validation: warn (log, keep the value), null (log, store null), reject (the record goes to crmsync_rejects with every reason), fail (stop the sync).", enum(transform.PolicyNames())))
	defs.Set("field", fieldDef())
	defs.Set("fields", typed("object", "The columns of the table, name → field. Names are column names and expr variable names.",
		kw("minProperties", 1), kw("propertyNames", obj(kw("pattern", ident))), kw("additionalProperties", obj(ref("field")))))
	defs.Set("child", O("A child table filled from a nested array of each record, keyed by the parent's primary key. A re-synced parent replaces its children.", props(
		kw("from", S("gjson path of the array in the source record, or an expr expression (prefix it with = ) yielding a list of objects.")),
		kw("table", S("Destination table (default <pipeline>_<entity>_<child>).", kw("pattern", ident))),
		kw("primary_key", strlist("Fields that identify a child row together with the parent key (default: the row's position).")),
		kw("fields", D("Columns of the child table; paths are read from each array element, expr sees parent.<field> too.", ref("fields"))),
		kw("filter", S("expr boolean: children for which it is false are left out.")),
	), "from", "fields"))

	kinds, err := sourceKinds()
	if err != nil {
		return nil, err
	}
	if err := entityDefs(defs, kinds); err != nil {
		return nil, err
	}
	if err := sourceDefs(defs, kinds); err != nil {
		return nil, err
	}
	defs.Set("defaults", O("Settings every entity takes unless it sets its own.", props(
		kw("batch_size", I("Records per write transaction (default 500).", kw("minimum", 1))),
		kw("max_records", I("Stop each entity after this many records (0: no limit).", kw("minimum", 0))),
		kw("on_invalid", D("Policy for invalid values (default warn).", ref("on_invalid"))),
		kw("timezone", S("IANA zone of dates and times written without one (default UTC).")),
		kw("default_region", S("Region of phone numbers written without a country code (default US).")),
		kw("write", S("Write mode (default upsert).", enum(sink.WriteModes))),
		kw("max_reject_rate", N("Fail a sync when more than this share (0–1) of its records is rejected.", kw("minimum", 0), kw("maximum", 1))),
	)))

	root := obj(
		kw("$schema", "https://json-schema.org/draft/2020-12/schema"),
		kw("$id", URL),
		kw("title", "crmsync pipeline"),
	)
	top := rootDef(kinds)
	for _, k := range top.Keys() {
		root.Set(k, top.Get(k))
	}
	root.Set("$defs", defs)
	if err := checkDecoded(defs); err != nil {
		return nil, err
	}
	return render(root)
}

func rateLimitDef() *Obj {
	return O("A token bucket for requests, shared by every entity of the source.", props(
		kw("per_second", N("Requests per second allowed on average.", kw("exclusiveMinimum", 0))),
		kw("requests", I("The rate as the API states it, with per: this many requests per period (Pipedrive: requests: 40, per: 2s). Another spelling of per_second (requests / per); not together with it.", kw("minimum", 1))),
		kw("per", dur("The period of requests (2s, 1m, 1h). When window is not set, a remaining_header at 0 waits this long.")),
		kw("burst", I("Requests allowed at once before the rate applies (default 1, so a rolling-window server is never overrun at the start).", kw("minimum", 1))),
		kw("budget", S("A name shared by pipelines that call the same CRM account: they draw from one bucket together.")),
		kw("remaining_header", S("Response header that says how many calls remain in the window (X-HubSpot-RateLimit-Remaining, X-RateLimit-Remaining). At 0 crmsync waits for the reset.")),
		kw("reset_header", S("Response header that says when the window resets (epoch seconds or seconds from now).")),
		kw("window", dur("How long to wait when remaining reaches 0 and no reset header says when the window ends (HubSpot: 10s); a 429 without Retry-After waits at least this long (default 1s).")),
	))
}

func requestDef() *Obj {
	return O("The HTTP request of an entity. Strings may use {{ watermark }}, {{ window.start }}, {{ window.end }}, {{ now }}, for child entities {{ parent.<path> }}, and with job: {{ job.id }} and {{ job.<path> }}.", props(
		kw("format", S("How this request's bodies are read and written, overriding the source's format: with xml, a body that is a string is sent as XML text (text/xml; charset=utf-8) with its {{ }} values XML-escaped, and the response is read as XML.", enum(httpsrc.Formats))),
		kw("method", S("HTTP method (default GET).", enum(httpsrc.Methods))),
		kw("path", S("Path joined to the source's base_url, for example /crm/v3/objects/contacts.")),
		kw("params", typed("object", "Query parameters, name → value. A parameter whose value renders empty is left out.",
			kw("additionalProperties", obj(kw("type", []string{"string", "number", "boolean"}))))),
		kw("headers", strmap("Headers for this entity, added to the source's.")),
		kw("body", D("JSON body (POST). Any YAML value; strings may use templates. With format: xml, one string: the XML text, its {{ }} values XML-escaped.")),
	), "path")
}

func jobDef() *Obj {
	return O("http: the read is an asynchronous job (Athena queries, bulk exports): start it, poll it every `every` until done_when holds, fail_when holds or timeout passes, then page its results with the entity's request, where {{ job.id }} is the job's id and {{ job.<path> }} a value of the last poll response. The start request may use {{ watermark }} and {{ window.* }}. A read that starts again (a crash, the next run) starts a new job: job ids expire.", props(
		kw("start", D("The request that starts the job; its response holds the job's id.", ref("request"))),
		kw("id", S("gjson path of the job's id in the start response (Athena: QueryExecutionId).")),
		kw("poll", D("The request that asks for the job's state; {{ job.id }} is set.", ref("request"))),
		kw("every", dur("Wait between two polls (default 2s).")),
		kw("timeout", dur("How long the job may take from its start, polls included, before the read fails (default 10m).")),
		kw("done_when", S(`expr boolean over the poll response's top-level keys: the job's results are ready (QueryExecution.Status.State == "SUCCEEDED").`)),
		kw("fail_when", S(`expr boolean over the poll response's top-level keys: the job ended without results (QueryExecution.Status.State in ["FAILED", "CANCELLED"]); the read fails, naming the job.`)),
		kw("fail_message", S("gjson path of the reason in the poll response, quoted in the error when fail_when holds (QueryExecution.Status.StateChangeReason).")),
	), "start", "id", "poll", "done_when")
}

func incrementalRequestDef() *Obj {
	req := requestDef().Get("properties").(*Obj)
	p := props()
	for _, k := range req.Keys() {
		p.Set(k, req.Get(k))
	}
	p.Set("records", S(`gjson path of the record array in the feed's body (default: the entity's records); data.#.data unwraps {item, id, data} entries, and "data": null is an empty page.`))
	p.Set("paginate", D("Pagination of the feed (default: the entity's paginate).", ref("paginate")))
	p.Set("rows", D("Rows of cells with a header (default: the entity's rows).", ref("rows")))
	return O("http: the request of incremental runs (a change feed such as Pipedrive's /v1/recents) when it differs from the full read's (the list endpoint). A run that continues from a stored watermark reads it; a first run, --full and a --start-date window read request. Same table, fields and checkpoint; records and paginate default to the entity's. Field paths that differ between the two take fallbacks (path: [org_id.value, org_id]).", p, "path")
}

func incrementalDef() *Obj {
	return O("Incremental sync: the field whose maximum becomes the watermark, and how the stored watermark reaches the next read.", props(
		kw("field", S("The field (a name under fields) whose newest value is stored as the watermark.", kw("pattern", ident))),
		kw("param", S("http: name of the query parameter, header or body key that carries the watermark.")),
		kw("in", S("http: where the watermark goes (default query).", enum(httpsrc.Places))),
		kw("format", S("How the watermark is written in requests: rfc3339 (default), epoch_s, epoch_ms, date (2006-01-02), datetime (2006-01-02 15:04:05), http-date (If-Modified-Since), or a Go time layout such as 2006-01-02T15:04:05-07:00.")),
		kw("lookback", dur("Re-read this much before the watermark to catch late updates (upserts make it harmless).")),
		kw("start", S("Watermark of the very first run (and of --full): RFC 3339, a date, or a time before now as a negative duration (-30d, -720h: the last 30 days at the moment of the read); without it the first run reads everything.")),
		kw("sorted", B("The source returns records in ascending order of field (HubSpot search sorted ASCENDING, SQL keyset reads): the watermark then advances with every committed batch, so a killed backfill resumes where it stopped. Otherwise the watermark advances only when a sync completes.")),
		kw("column", S("sql: the SQL expression of the incremental column. Default: the field's path. An expression such as COALESCE(updated_at, add_date) keeps indexes from being used: prefer fallback.")),
		kw("joined", strlist("sql: output columns of the query holding a joined table's change time (tps.updated_at AS tps_updated_at); each is read as its own keyset stream (column, key) from its own watermark, so a change to the joined row alone re-reads the rows it belongs to.")),
		kw("fallback", S("sql: the column that dates rows whose incremental column is NULL, for example add_date. Those rows are read by a second keyset (fallback, key) from its own watermark (kept in the checkpoint); both reads use plain columns, so an index on each serves them.", kw("pattern", "^[A-Za-z_][A-Za-z0-9_.]*$"))),
	), "field")
}

func csvDef() *Obj {
	return O("How a delimited file is read.", props(
		kw("delimiter", S(`Field separator (default ,; a .tsv file defaults to tab). Write "\t" or tab for tabs.`, kw("minLength", 1))),
		kw("quote", S(`Quote character (default "), or none to read quotes as plain text.`, kw("minLength", 1))),
		kw("comment", S("Lines starting with this character are skipped.", kw("maxLength", 1))),
		kw("header", B("Whether the first row (after skip_rows) names the columns (default true).")),
		kw("columns", strarray("Column names when the file has no header row.")),
		kw("skip_rows", I("Lines to skip before the header.", kw("minimum", 0))),
		kw("encoding", S("Text encoding (default utf-8; a UTF-8 or UTF-16 byte-order mark is always honoured).", enum(filesrc.Encodings()))),
	))
}

// validatorDef: a name, or a mapping of a name to its argument. The two
// forms are the branches of an anyOf so that editors offer the names for
// an empty list item as well as for a started one.
func validatorDef() *Obj {
	names := validate.Names()
	keys := props()
	for _, n := range names {
		info, _ := validate.Lookup(n)
		keys.Set(n, D(validatorDoc(info)))
	}
	keys.Set("expr", S("An expr expression over value (and the record's fields) that must be true."))
	keys.Set("message", S("The error text to report instead of the validator's own."))
	return D("A validator: its name (email), or a mapping of its name to its argument ({min_length: 3}, {zip_code: CA}, {one_of: [a, b]}); add message: to replace its error text; {expr: 'value > 0', message: '…'} checks an expression. Every validator is in docs/reference/validators.md.",
		kw("anyOf", []any{
			obj(kw("type", "string"), enum(names)),
			obj(kw("type", "object"), kw("minProperties", 1), kw("maxProperties", 2),
				kw("properties", keys),
				kw("propertyNames", obj(enum(append(slices.Clone(names), "expr", "message"))))),
		}))
}

func validatorDoc(info validate.Info) string {
	doc := strings.TrimSuffix(info.Doc, ".")
	if doc == "" {
		doc = info.Name
	}
	if info.Arg != "" && info.Arg != "none" {
		return fmt.Sprintf("%s. Argument: %s.", upperFirst(doc), strings.TrimSuffix(info.Arg, "."))
	}
	return upperFirst(doc) + "."
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func fieldDef() *Obj {
	return typed([]string{"string", "object", "array"}, "A column. A bare string is the gjson path of the value (shorthand for {path: …}); a list is paths tried in order (shorthand for {path: [a, b]}); a mapping sets more.",
		kw("items", obj(kw("type", "string"))), kw("minItems", 1),
		kw("additionalProperties", false), kw("properties", props(
			kw("path", typed([]string{"string", "array"}, `gjson path of the value in the source record: nested dots (properties.email), array indexes (items.0), queries (items.#(type=="x").value), modifiers. CSV and SQL columns are named the same way. A list of paths is tried in order: the first that finds a non-null value wins (path: [org_id.value, org_id]).`,
				kw("items", obj(kw("type", "string"))), kw("minItems", 1))),
			kw("type", S("Field type (default string).", enum(value.Spellings()))),
			kw("expr", S("An expr expression computing the value from the fields declared before or after it (by name), raw (the source record), and ctx (pipeline, entity, sync_started_at, file, row). Cycles are lint errors. Besides expr's built-ins: "+strings.Join(exprfn.Names(), ", ")+".")),
			kw("default", D("Value used when the path is missing or null.")),
			kw("format", typed([]string{"string", "array"}, `date, datetime: Go time layouts tried first, for example "01/02/2006 3:04 PM".`, kw("items", obj(kw("type", "string"))))),
			kw("timezone", S("date, datetime: IANA zone of values written without one (default: defaults.timezone, else UTC).")),
			kw("default_region", S("phone: region for numbers written without a country code (default: defaults.default_region, else US).")),
			kw("region_from", S("phone: gjson path, in the same record, of each record's region: a two-letter ISO 3166 code in either case (a country field: country, address.country_code). An empty or unknown value falls back to default_region; a number that still cannot be read follows on_invalid.")),
			kw("validate", typed("array", "Validator chain run in order on the converted value.", kw("items", obj(ref("validator"))))),
			kw("on_invalid", D("Overrides the entity's on_invalid for this field.", ref("on_invalid"))),
			kw("required", B("Shorthand for a required validator at the start of the chain.")),
			kw("poison", S(`What a value no database can store does — a NUL byte, bytes that are not UTF-8, and in json values the escapes \u0000 and a lone surrogate: reject (default: the record goes to crmsync_rejects naming the field and byte offset) or strip (NUL bytes removed, bad bytes and lone surrogates replaced by U+FFFD).`, enum(transform.PoisonModes))),
		)))
}
