package exprfn

// Doc is the reference entry of a function (or of a pair, upper and lower).
type Doc struct {
	Group   string   // the reference's section: Text, Numbers, …
	Forms   []string // as called, optional arguments in brackets
	Returns string   // what it gives back (Markdown)
	Example string   // a call and its result (Markdown)
}

// Docs is the reference of every function, in reading order; the
// generated docs/reference/functions.md is written from it, and a test
// fails when a registered function has no entry (or an entry names no
// function).
var Docs = []Doc{
	{"Text", []string{"trim(s [, cutset])"}, "text without surrounding white space (or `cutset` characters)", "`trim(\"  Ann \")` → `\"Ann\"`"},
	{"Text", []string{"upper(s)", "lower(s)"}, "text in upper / lower case", "`lower(\"Ann@X.COM\")` → `\"ann@x.com\"`"},
	{"Text", []string{"title_case(s)"}, "each word capitalised, the rest lower-cased, Unicode-aware; a one-letter prefix before an apostrophe is a word of its own", "`title_case(\"o'BRIEN-smith\")` → `\"O'Brien-Smith\"`; `\"DON'T\"` → `\"Don't\"`"},
	{"Text", []string{"concat(a, b, …)"}, "the text of the arguments joined, nils skipped (`\"\"` if all are nil); when every argument is a list, the lists joined", "`concat(first, \" \", last)` → `\"Ann Lee\"`"},
	{"Text", []string{"split(s, sep)"}, "list of text, parts trimmed, empty parts dropped", "`split(\"Roofing; Siding;\", \";\")` → `[\"Roofing\", \"Siding\"]`"},
	{"Text", []string{"join(list [, sep])"}, "the items' text joined by `sep` (default `\"\"`), nils skipped", "`join([\"a\", \"b\"], \", \")` → `\"a, b\"`"},
	{"Text", []string{"left(s, n)", "right(s, n)"}, "the first / last `n` characters (not bytes)", "`left(\"90210-1234\", 5)` → `\"90210\"`"},
	{"Text", []string{"digits_only(s)"}, "only the digits 0-9", "`digits_only(\"(415) 555-2671\")` → `\"4155552671\"`"},
	{"Text", []string{"normalize_key(s)"}, "a stable key: lower case, apostrophes and dots dropped, other punctuation and spaces one `_`, none at the ends", "`normalize_key(\"Both Homeowners Present?\")` → `\"both_homeowners_present\"`"},
	{"Text", []string{"email_domain(s)"}, "the lower-cased part after the last `@`, or nil", "`email_domain(\"Ann@Example.COM\")` → `\"example.com\"`"},
	{"Text", []string{"pad_zip(s)"}, "a US ZIP with its lost leading zeros; 8-9 digits become ZIP+4; anything else trimmed as is", "`pad_zip(2134)` → `\"02134\"`; `pad_zip(\"21345678\")` → `\"02134-5678\"`"},
	{"Text", []string{"sha256(s)"}, "64 hex digits of the SHA-256 of the text, to pseudonymise; normalise first so equal values hash alike", "`sha256(lower(trim(email)))`"},
	{"Text", []string{"to_e164(s [, region])"}, "E.164 phone text, or nil when not a possible number (region default `US`)", "`to_e164(\"020 7946 0958\", \"GB\")` → `\"+442079460958\"`"},
	{"Signing", []string{"hmac_sha256(key, msg)", "hmac_sha1(key, msg)"}, "the HMAC of `msg` under `key` as bytes (32 / 20 of them): wrap it in `base64` or `hex`; text and bytes both work as key and message", "`hex(hmac_sha256(\"Jefe\", \"what do ya want for nothing?\"))` → `\"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843\"` (RFC 4231, test case 2)"},
	{"Signing", []string{"base64(v)", "hex(v)"}, "standard base64 / lower-case hex of bytes or of text's UTF-8", "`base64(\"hi\")` → `\"aGk=\"`; `hex(\"hi\")` → `\"6869\"`"},
	{"Signing", []string{"base64_decode(s)"}, "the bytes of base64 text (standard or URL-safe, padded or not), for a secret handed out in base64; an error that never quotes the text when it is not base64", "`hmac_sha256(base64_decode(secrets.secret_key), msg)`"},
	{"Signing", []string{"unix_now()"}, "the current time in whole seconds since 1970 (an integer)", "`string(unix_now())` → `\"1717171717\"`"},
	{"Regular expressions", []string{"regex_match(s, pattern)"}, "true if the text contains a match; false for nil", "`regex_match(sku, \"^[A-Z]{3}-\\\\d+$\")`"},
	{"Regular expressions", []string{"regex_replace(s, pattern, repl)"}, "every match replaced; `repl` may use `$1`, `${name}`", "`regex_replace(\"Smith, John\", \"^(\\\\w+), (\\\\w+)$\", \"$2 $1\")` → `\"John Smith\"`"},
	{"Regular expressions", []string{"regex_extract(s, pattern [, group])"}, "the first match, or its group; nil if none", "`regex_extract(\"Order #12345\", \"#(\\\\d+)\", 1)` → `\"12345\"`"},
	{"Null handling", []string{"coalesce(a, b, …)"}, "the first argument that is not nil, blank text or an empty list; nil if none is", "`coalesce(mobile, phone, home_phone)`"},
	{"Null handling", []string{"default(v, fallback)"}, "`fallback` when `v` is nil (blank text is kept)", "`default(source, \"web\")`"},
	{"Null handling", []string{"nullif(a, b)"}, "nil when `a` equals `b`, else `a`", "`nullif(status, \"N/A\")`"},
	{"Null handling", []string{"is_blank(v)"}, "true for nil, blank text, empty list or map", "`filter: '!is_blank(email)'`"},
	{"Numbers", []string{"parse_decimal(v)"}, "an exact decimal", "`parse_decimal(\"$1,250.00\")` → `1250`"},
	{"Numbers", []string{"to_int(v)"}, "a 64-bit integer", "`to_int(\"1,234\")` → `1234`"},
	{"Numbers", []string{"to_float(v)"}, "a float", "`to_float(\"2.5\")` → `2.5`"},
	{"Numbers", []string{"to_bool(v)"}, "true or false", "`to_bool(\"Yes\")` → `true`"},
	{"Numbers", []string{"round(x [, places])"}, "`x` rounded half away from zero; floats on their decimal text (`2.675` → `2.68`), decimals exactly; negative places round to tens, hundreds", "`round(amount, 2)`; `round(1234, -2)` → `1200`"},
	{"Dates and times", []string{"parse_datetime(v [, layout [, zone]])"}, "a UTC time from text (layout first, then the `datetime` formats), an epoch number or a time; `zone` applies to text without one", "`parse_datetime(created, \"01/02/2006 3:04 PM\", \"America/Chicago\")`"},
	{"Dates and times", []string{"format_datetime(t, layout [, zone])"}, "text of `t` in `zone` (default UTC); `layout` is a Go layout or `rfc3339`, `date`, `datetime`, `epoch_s`, `epoch_ms`", "`format_datetime(updated_at, \"date\", \"America/New_York\")` → `\"2024-05-14\"`"},
	{"Dates and times", []string{"date_trunc(unit, t [, zone])"}, "`t` cut to the start of its `year`, `quarter`, `month`, `week` (Monday), `day`, `hour`, `minute` or `second`, with day boundaries in `zone`; a UTC time", "`date_trunc(\"month\", closed_at)`"},
	{"Dates and times", []string{"now()"}, "the current time (expr built-in)", "`filter: 'updated_at > now() - duration(\"720h\")'`"},
	{"Key-value lists and JSON", []string{"kv(list, keyField, valueField)"}, "a map from a list of objects (or JSON text of one); keys through `normalize_key`; the last of equal keys wins", "`kv(lead_results, \"title\", \"value\").deposit_type`"},
	{"Key-value lists and JSON", []string{"kv_get(list, keyField, valueField, name, …)"}, "the value of the first `name` found with a non-blank value, keys and names compared after `normalize_key`; a map works too; nil if none", "`kv_get(lead_results, \"title\", \"value\", \"Appointment Result\", \"Result\")`"},
	{"Key-value lists and JSON", []string{"json_parse(s)"}, "maps, lists, text, numbers (whole numbers as integers) from JSON text; nil for blank", "`json_parse(payload).items[0].sku`"},
	{"Key-value lists and JSON", []string{"json_string(v)"}, "compact JSON text of a value", "`json_string({\"source\": \"web\"})` → `{\"source\":\"web\"}`"},
	{"Key-value lists and JSON", []string{"json_get(v, path)"}, "one value from JSON text (or a map or list) by a [gjson path](https://github.com/tidwall/gjson/blob/master/SYNTAX.md); nil if absent", "`json_get(lead_results, \"#(title==\\\"Result\\\").value\")`"},
}
