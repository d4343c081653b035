import json
D=lambda d,**kw: dict(description=d,**kw)
S=lambda d,**kw: D(d,type="string",**kw)
I=lambda d,**kw: D(d,type="integer",**kw)
B=lambda d,**kw: D(d,type="boolean",**kw)
N=lambda d,**kw: D(d,type="number",**kw)
def O(d, props, req=None, addl=False, **kw):
    o=D(d,type="object",properties=props,**kw)
    if addl is False: o["additionalProperties"]=False
    if req: o["required"]=req
    return o
dur = lambda d: D(d+" Written as a number with a unit (500ms, 30s, 15m, 2h) or a whole number of seconds.", **{"$ref":"#/$defs/duration"})
strmap = lambda d: D(d, type="object", additionalProperties={"type":"string"})
secret = lambda d: S(d+" A secret: write it as ${env:NAME} or ${file:PATH}; it never appears in logs, errors or history.")
secretmap = lambda d: D(d+" Values are secrets: write them as ${env:NAME} or ${file:PATH}.", type="object", additionalProperties={"type":"string"})
strlist = lambda d: D(d+" One name, or a list.", type=["string","array"], items={"type":"string"})

ident = "^[A-Za-z_][A-Za-z0-9_]*$"

defs = {}
defs["duration"] = {"description":"A duration: 500ms, 30s, 15m, 2h, 1h30m, or a whole number of seconds.",
  "anyOf":[{"type":"integer","minimum":0},{"type":"string","pattern":r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$"},{"type":"string","pattern":"^[0-9]+$"}]}

defs["auth"] = O("How HTTP requests authenticate. type picks the scheme; each scheme reads its own settings.", {
  "type": S("Authentication scheme.", enum=["none","api_key","bearer","basic","oauth2"]),
  "headers": secretmap("api_key: headers to send, name → value (Arrivy: X-Auth-Key and X-Auth-Token)."),
  "query": secretmap("api_key: query parameters to send, name → value. Their values are redacted from every URL crmsync prints."),
  "token": secret("bearer: the token sent as `Authorization: <scheme> <token>`."),
  "scheme": S("bearer: the word before the token in the Authorization header (default Bearer)."),
  "format": S("bearer: the whole Authorization value with {{ token }} in it, for APIs with their own form (CallRail: 'Token token=\"{{ token }}\"'). Not together with scheme."),
  "username": S("basic: the user name."),
  "password": secret("basic: the password."),
  "grant": S("oauth2: the grant used to get tokens.", enum=["client_credentials","refresh_token"]),
  "token_url": S("oauth2: the token endpoint."),
  "client_id": S("oauth2: the client id."),
  "client_secret": secret("oauth2: the client secret."),
  "refresh_token": secret("oauth2 refresh_token grant: the long-lived refresh token."),
  "scopes": D("oauth2: scopes to request.", type="array", items={"type":"string"}),
}, req=["type"])

defs["rate_limit"] = O("A token bucket for requests, shared by every entity of the source.", {
  "per_second": N("Requests per second allowed on average.", exclusiveMinimum=0),
  "burst": I("Requests allowed at once before the rate applies (default 1, so a rolling-window server is never overrun at the start).", minimum=1),
  "budget": S("A name shared by pipelines that call the same CRM account: they draw from one bucket together."),
  "remaining_header": S("Response header that says how many calls remain in the window (X-HubSpot-RateLimit-Remaining, X-RateLimit-Remaining). At 0 crmsync waits for the reset."),
  "reset_header": S("Response header that says when the window resets (epoch seconds or seconds from now)."),
  "window": dur("How long to wait when remaining reaches 0 and no reset header says when the window ends (HubSpot: 10s); a 429 without Retry-After waits at least this long (default 1s)."),
})

defs["retry"] = O("Retries with exponential back-off and jitter for 429, 5xx, connection resets, timeouts and truncated bodies.", {
  "attempts": I("How many times a request is tried in all (default 5). <PIPELINE>_RETRY_ATTEMPTS overrides it.", minimum=0),
  "initial": dur("First back-off delay (default 500ms)."),
  "max": dur("Longest back-off delay (default 30s)."),
})

defs["paginate"] = O("How to get the next page. style picks the method; each style reads its own settings.", {
  "style": S("Pagination style.", enum=["none","offset","page","cursor","next_url","link_header"]),
  "offset_param": S("offset: query parameter for the offset (default offset)."),
  "page_param": S("page: query parameter for the page number (default page)."),
  "limit_param": S("offset, page: query parameter for the page size (default limit for offset)."),
  "limit": I("offset, page: page size to ask for.", minimum=1),
  "start_page": I("page: number of the first page, 0 or 1 (default 1).", minimum=0, maximum=1),
  "total": S("offset, page: gjson path of the total record count in the body; reading stops when it is reached."),
  "total_pages": S("page: gjson path of the total page count in the body."),
  "cursor": S("cursor: gjson path of the next cursor in the body (HubSpot: paging.next.after). Reading stops when it is missing or empty."),
  "param": S("cursor: name of the query parameter, body key or header that carries the cursor."),
  "in": S("cursor: where the cursor goes (default query).", enum=["query","body","header"]),
  "next_url": S("next_url: gjson path of the next page's full URL in the body."),
  "has_more": S("gjson path of a boolean in the body that says whether more pages follow."),
  "max_pages": I("Stop after this many pages (0: no limit).", minimum=0),
  "max_empty_pages": I("Stop, with a warning, after this many pages in a row without records even when the server says more follow (a cursor handed out for every empty page would otherwise be followed forever). The records read so far count; the sync succeeds. Default 3; 0: the default.", minimum=0),
  "restart_after": I("cursor: restart the query after this many records (HubSpot search stops at 10,000), from the newest restart_watermark seen.", minimum=1),
  "restart_watermark": S("cursor: gjson path, in each record, of the value the query is sorted by; its newest value becomes {{ watermark }} when the query restarts."),
})

defs["request"] = O("The HTTP request of an entity. Strings may use {{ watermark }}, {{ window.start }}, {{ window.end }}, {{ now }} and, for child entities, {{ parent.<path> }}.", {
  "method": S("HTTP method (default GET).", enum=["GET","POST","PUT","PATCH"]),
  "path": S("Path joined to the source's base_url, for example /crm/v3/objects/contacts."),
  "params": D("Query parameters, name → value. A parameter whose value renders empty is left out.", type="object", additionalProperties={"type":["string","number","boolean"]}),
  "headers": strmap("Headers for this entity, added to the source's."),
  "body": D("JSON body (POST). Any YAML value; strings may use templates.")
}, req=["path"])

defs["incremental"] = O("Incremental sync: the field whose maximum becomes the watermark, and how the stored watermark reaches the next read.", {
  "field": S("The field (a name under fields) whose newest value is stored as the watermark.", pattern=ident),
  "param": S("http: name of the query parameter, header or body key that carries the watermark."),
  "in": S("http: where the watermark goes (default query).", enum=["query","header","body"]),
  "format": S("How the watermark is written in requests: rfc3339 (default), epoch_s, epoch_ms, date (2006-01-02), datetime (2006-01-02 15:04:05), http-date (If-Modified-Since), or a Go time layout such as 2006-01-02T15:04:05-07:00."),
  "lookback": dur("Re-read this much before the watermark to catch late updates (upserts make it harmless)."),
  "start": S("Watermark of the very first run (RFC 3339 or a date); without it the first run reads everything."),
  "sorted": B("The source returns records in ascending order of field (HubSpot search sorted ASCENDING, SQL keyset reads): the watermark then advances with every committed batch, so a killed backfill resumes where it stopped. Otherwise the watermark advances only when a sync completes."),
  "column": S("sql: the SQL expression of the incremental column. Default: the field's path. An expression such as COALESCE(updated_at, add_date) keeps indexes from being used: prefer fallback."),
  "joined": strlist("sql: output columns of the query holding a joined table's change time (tps.updated_at AS tps_updated_at); each is read as its own keyset stream (column, key) from its own watermark, so a change to the joined row alone re-reads the rows it belongs to."),
  "fallback": S("sql: the column that dates rows whose incremental column is NULL, for example add_date. Those rows are read by a second keyset (fallback, key) from its own watermark (kept in the checkpoint); both reads use plain columns, so an index on each serves them.", pattern="^[A-Za-z_][A-Za-z0-9_.]*$"),
}, req=["field"])

defs["csv"] = O("How a delimited file is read.", {
  "delimiter": S("Field separator (default ,; a .tsv file defaults to tab). Write \"\\t\" or tab for tabs.", minLength=1),
  "quote": S("Quote character (default \"), or none to read quotes as plain text.", minLength=1),
  "comment": S("Lines starting with this character are skipped.", maxLength=1),
  "header": B("Whether the first row (after skip_rows) names the columns (default true)."),
  "columns": D("Column names when the file has no header row.", type="array", items={"type":"string"}),
  "skip_rows": I("Lines to skip before the header.", minimum=0),
  "encoding": S("Text encoding (default utf-8; a UTF-8 or UTF-16 byte-order mark is always honoured).", enum=["utf-8","utf8","utf-16","utf-16le","utf-16be","windows-1252","cp1252","latin-1","latin1","iso-8859-1","iso-8859-15","latin-9"]),
})

validator_names = None
VALIDATORS = "boolean,date,datetime,decimal,digits,email,integer,length,max,max_length,min,min_length,not_empty,object_id,one_of,phone,regex,required,state,url,zip_code".split(",")
defs["validator"] = D("A validator: its name (email), or a mapping of its name to its argument ({min_length: 3}, {zip_code: CA}, {one_of: [a, b]}); add message: to replace its error text; {expr: 'value > 0', message: '…'} checks an expression. See the README's Validators table.",
  type=["string","object"], minProperties=1, maxProperties=2,
  propertyNames={"enum": VALIDATORS + ["expr","message"]},
  **{"if": {"type":"string"}, "then": {"enum": VALIDATORS}})

defs["on_invalid"] = S("What happens to a value that fails conversion or validation: warn (log, keep the value), null (log, store null), reject (the record goes to crmsync_rejects with every reason), fail (stop the sync).", enum=["warn","null","reject","fail"])

defs["field"] = D("A column. A bare string is the gjson path of the value (shorthand for {path: …}); a mapping sets more.",
  type=["string","object"], additionalProperties=False, properties={
  "path": S("gjson path of the value in the source record: nested dots (properties.email), array indexes (items.0), queries (items.#(type==\"x\").value), modifiers. CSV and SQL columns are named the same way."),
  "type": S("Field type (default string).", enum=["string","text","integer","int","bigint","decimal","number","numeric","float","boolean","bool","date","datetime","timestamp","phone","email","url","json","string[]","array","strings"]),
  "expr": S("An expr expression computing the value from the fields declared before or after it (by name), raw (the source record), and ctx (pipeline, entity, sync_started_at, file, row). Cycles are lint errors. Besides expr's built-ins: coalesce, concat, date_trunc, default, digits_only, email_domain, format_datetime, is_blank, join, json_get, json_parse, json_string, kv, kv_get, left, lower, normalize_key, nullif, pad_zip, parse_datetime, parse_decimal, regex_extract, regex_match, regex_replace, right, round, sha256, split, title_case, to_bool, to_e164, to_float, to_int, trim, upper."),
  "default": D("Value used when the path is missing or null."),
  "format": D("date, datetime: Go time layouts tried first, for example \"01/02/2006 3:04 PM\".", type=["string","array"], items={"type":"string"}),
  "timezone": S("date, datetime: IANA zone of values written without one (default: defaults.timezone, else UTC)."),
  "default_region": S("phone: region for numbers written without a country code (default: defaults.default_region, else US)."),
  "validate": D("Validator chain run in order on the converted value.", type="array", items={"$ref":"#/$defs/validator"}),
  "on_invalid": D("Overrides the entity's on_invalid for this field.", **{"$ref":"#/$defs/on_invalid"}),
  "required": B("Shorthand for a required validator at the start of the chain."),
})

defs["fields"] = D("The columns of the table, name → field. Names are column names and expr variable names.", type="object", minProperties=1,
  propertyNames={"pattern":ident}, additionalProperties={"$ref":"#/$defs/field"})

defs["child"] = O("A child table filled from a nested array of each record, keyed by the parent's primary key. A re-synced parent replaces its children.", {
  "from": S("gjson path of the array in the source record, or an expr expression (prefix it with = ) yielding a list of objects."),
  "table": S("Destination table (default <pipeline>_<entity>_<child>).", pattern=ident),
  "primary_key": strlist("Fields that identify a child row together with the parent key (default: the row's position)."),
  "fields": D("Columns of the child table; paths are read from each array element, expr sees parent.<field> too.", **{"$ref":"#/$defs/fields"}),
  "filter": S("expr boolean: children for which it is false are left out."),
}, req=["from","fields"])

defs["entity"] = O("One stream of records landing in one table.", {
  "description": S("What this entity is, for people."),
  "table": S("Destination table (default <pipeline>_<entity>).", pattern=ident),
  "primary_key": strlist("Fields that identify a record; rows are upserted on them."),
  "incremental": D("Incremental sync settings.", **{"$ref":"#/$defs/incremental"}),
  "full_refresh": B("Re-read everything on every run (lookup tables without a timestamp)."),
  "fields": D("The columns.", **{"$ref":"#/$defs/fields"}),
  "filter": S("expr boolean over the mapped fields: records for which it is false are dropped and counted as filtered."),
  "children": D("Child tables from nested arrays, name → child.", type="object", propertyNames={"pattern":ident}, additionalProperties={"$ref":"#/$defs/child"}),
  "batch_size": I("Records per write transaction (default: defaults.batch_size, else 500). <PIPELINE>_BATCH_SIZE overrides it.", minimum=1),
  "max_records": I("Stop after this many records and commit what was read (0: no limit). <PIPELINE>_MAX_RECORDS overrides it.", minimum=0),
  "on_invalid": D("Policy for invalid values of this entity.", **{"$ref":"#/$defs/on_invalid"}),
  "keep_raw": B("Store the source record in a _raw column."),
  "write": S("upsert (default) on the primary key; append every record as a new row; replace the whole table atomically when a full sync succeeds.", enum=["upsert","append","replace"]),
  "delete_missing": S("On a complete successful full sync, rows whose key was not seen are marked _deleted_at (soft) or deleted (hard).", enum=["soft","hard"]),
  "max_reject_rate": N("Fail the sync when more than this share (0–1) of the records is rejected.", minimum=0, maximum=1),
  # http
  "request": D("http: the request.", **{"$ref":"#/$defs/request"}),
  "records": S("http: gjson path of the record array in the body (HubSpot: results). Empty: the body is the array."),
  "paginate": D("http: pagination, replacing the source's paginate.", **{"$ref":"#/$defs/paginate"}),
  "rate_limit": D("http: an extra bucket for this entity, waited on after the source's (HubSpot search has its own per-second limit); with budget it can be shared.", **{"$ref":"#/$defs/rate_limit"}),
  "parent": O("http: read once per record of another entity (a substream); {{ parent.<path> }} reaches the request, and fields with a path _parent.<path> store parent values (task_id: {path: _parent.id}).", {
     "entity": S("The parent entity's name.", pattern=ident),
     "batch": I("Read once per batch of up to this many parent records: {{ parent.<path> }} then reads a JSON array of them, and a body value that is exactly \"{{ parent.#.{id} }}\" becomes that JSON array (HubSpot's v4 associations batch read takes 100).", minimum=1, maximum=10000),
  }, req=["entity"]),
  # sql
  "from": S("sql: the table to read (schema.table allowed)."),
  "columns": strlist("sql: columns to select from the table (default all)."),
  "where": S("sql: an SQL condition added to the read (written as SQL; values never reach it)."),
  "query": S("sql: a full SELECT instead of from; it is wrapped for keyset paging, and may read the bound parameters :watermark, :window_start and :window_end (never pasted into the SQL)."),
  "key_columns": strlist("sql: the columns to page on when they differ from the primary_key field names (default: primary_key)."),
  "count": B("sql: run a COUNT(*) first so progress can show a total (default false)."),
  # file
  "path": S("file, github: the file or glob for this entity, overriding the source's."),
  "format": S("file, github: csv, jsonl or json (default from the file name).", enum=["csv","jsonl","json"]),
  "csv": D("file, github: CSV settings, overriding the source's.", **{"$ref":"#/$defs/csv"}),
  "required_columns": strlist("file, github: columns every file must have; a file without them stops with an error naming them."),
}, req=["fields"])

http_keys = ["base_url","headers","auth","rate_limit","retry","timeout","header_timeout","idle_timeout","max_body_bytes","max_depth","allow_origins","paginate","error_when","records"]
sql_keys = ["driver","dsn","timezone"]
file_keys = ["path","format","csv"]
gh_keys = ["repo","ref","token"]
defs["source"] = O("Where records come from. type picks the reader; each type has its own settings.", {
  "type": S("Source type.", enum=["http","sql","file","github"]),
  "base_url": S("http: the API's base URL (github: the API URL, default https://api.github.com)."),
  "headers": strmap("http: headers sent with every request."),
  "auth": D("http: authentication.", **{"$ref":"#/$defs/auth"}),
  "rate_limit": D("http: request rate limit.", **{"$ref":"#/$defs/rate_limit"}),
  "retry": D("http: retry policy.", **{"$ref":"#/$defs/retry"}),
  "timeout": dur("http: timeout of one request (default 30s). <PIPELINE>_TIMEOUT overrides it."),
  "header_timeout": dur("http: longest wait for a response's status line and headers, per try (default: timeout). A try that waits longer fails and is retried."),
  "idle_timeout": dur("http: longest gap between two reads of a response body, per try (default 15s). A server that sends headers and then stalls fails the try within this long; it is retried."),
  "max_body_bytes": I("http: largest response body read, in bytes (default 268435456, 256 MiB; at most 4 GiB; 0: the default). A larger body fails the page with an error, and is never cut short.", minimum=0, maximum=4<<30),
  "max_depth": I("http: deepest nesting of arrays and objects a response body may have (default 512; at most 10000; 0: the default). It is checked before the body is parsed, so a hostile body fails the page instead of the process.", minimum=0, maximum=10000),
  "allow_origins": D("http: other origins (scheme://host or scheme://host:port, such as https://cdn.example.com) that redirects and next-page links (next_url, link_header) may go to. Requests there carry no credentials: no Authorization, no auth or configured headers, no auth query parameters. Without an entry, a redirect or next link to another origin is an error; redirects within the origin are followed (at most 10), and one that would turn a POST into a GET is an error.", type="array", items={"type":"string","pattern":"^https?://[^/?#]+/?$"}),
  "paginate": D("http: pagination for every entity that does not set its own.", **{"$ref":"#/$defs/paginate"}),
  "error_when": S("http: expr over body, status and headers; when true, a response is an error even with status 200 (for example body.status == \"error\")."),
  "records": S("http: gjson path of the record array for every entity that does not set its own."),
  "driver": S("sql: the database driver (postgresql, pgx and mariadb are accepted as aliases).", enum=["postgres","postgresql","pgx","mysql","mariadb"]),
  "dsn": secret("sql: the connection string."),
  "timezone": S("sql: IANA zone of naive database times (default UTC)."),
  "path": S("file: the file or glob (relative to the pipeline file); github: the path in the repository."),
  "format": S("file, github: csv, jsonl or json (default from the file name).", enum=["csv","jsonl","json"]),
  "csv": D("file, github: CSV settings.", **{"$ref":"#/$defs/csv"}),
  "repo": S("github: owner/name.", pattern="^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$"),
  "ref": S("github: branch, tag or commit (default: the default branch)."),
  "token": secret("github: a token with read access to the repository's contents."),
})
allk = set(defs["source"]["properties"])-{"type"}
def only(t, keys):
    return {"if":{"properties":{"type":{"const":t}},"required":["type"]},
            "then":{"properties":{k:False for k in sorted(allk-set(keys))}}}
defs["source"]["allOf"] = [only("http",http_keys), only("sql",sql_keys), only("file",file_keys),
   only("github", gh_keys+file_keys+["base_url","retry","timeout","rate_limit"])]

defs["defaults"] = O("Settings every entity takes unless it sets its own.", {
  "batch_size": I("Records per write transaction (default 500).", minimum=1),
  "max_records": I("Stop each entity after this many records (0: no limit).", minimum=0),
  "on_invalid": D("Policy for invalid values (default warn).", **{"$ref":"#/$defs/on_invalid"}),
  "timezone": S("IANA zone of dates and times written without one (default UTC)."),
  "default_region": S("Region of phone numbers written without a country code (default US)."),
  "write": S("Write mode (default upsert).", enum=["upsert","append","replace"]),
  "max_reject_rate": N("Fail a sync when more than this share (0–1) of its records is rejected.", minimum=0, maximum=1),
})

schedule = S("When crmsync serve runs the pipeline: every 15m, every 1h30m, or a five-field cron expression (optionally prefixed CRON_TZ=Zone).")
root = O("A crmsync pipeline: one CRM described in YAML.", {
  "version": D("Version of the pipeline language; 1.", const=1),
  "name": S("The pipeline's name: prefix of its tables (<name>_<entity>) and of its environment overrides (<NAME>_BATCH_SIZE).", pattern="^[a-z][a-z0-9_]*$"),
  "description": S("What this pipeline syncs and what it needs (account settings, scopes, environment variables)."),
  "source": D("Where records come from.", allOf=[{"$ref":"#/$defs/source"}], required=["type"]),
  "defaults": D("Defaults for every entity.", **{"$ref":"#/$defs/defaults"}),
  "schedule": schedule,
  "environments": D("Named profiles (development, staging, production) chosen with --env; each overrides source, defaults and schedule.", type="object",
      propertyNames={"pattern":ident}, additionalProperties=O("A profile: settings merged over the file's.", {
         "source": D("Source settings to override.", **{"$ref":"#/$defs/source"}),
         "defaults": D("Defaults to override.", **{"$ref":"#/$defs/defaults"}),
         "schedule": schedule})),
  "entities": D("The entities to sync, name → entity. Each lands in its own table.", type="object", minProperties=1,
      propertyNames={"pattern":ident}, additionalProperties={"$ref":"#/$defs/entity"}),
}, req=["version","name","source","entities"])
root = {"$schema":"https://json-schema.org/draft/2020-12/schema","$id":"https://crmsync.dev/schema/pipeline.schema.json","title":"crmsync pipeline", **root, "$defs":defs}
json.dump(root, open('pipeline.schema.json','w'), indent=2, ensure_ascii=False)
print("ok")
