package httpsrc

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestCompileProblems: every bad setting is reported at its JSON pointer
// with its code, all of them at once, and any error means no opener.
func TestCompileProblems(t *testing.T) {
	cases := []struct {
		name, source, entity string
		want                 []string // "path code", sorted; warnings end in " (warning)"
	}{
		{"valid", `{type: http, base_url: "https://api.hubapi.com", auth: {type: bearer, token: x}}`,
			`{request: {path: /crm/v3/objects/contacts, params: {after: "{{ watermark }}"}}, records: results, paginate: {style: cursor, cursor: paging.next.after, param: after}}`, nil},
		{"missing base_url", `{type: http}`, `{request: {path: /x}}`,
			[]string{"/source/base_url missing-setting"}},
		{"full URL path needs no base_url", `{type: http}`, `{request: {path: "https://example.com/x"}}`, nil},
		{"bad base_url", `{type: http, base_url: "ftp://files"}`, `{}`,
			[]string{"/source/base_url invalid-value"}},
		{"templates", `{type: http, base_url: "http://h", headers: {X-Since: "{{ since }}"}}`,
			`{request: {path: "/tasks/{{ parent.id", params: {q: "{{ window.begin }}", ok: "{{ now }}"}, headers: {X-P: "{{ parent..x }}"}}}`,
			[]string{"/entities/e/request/headers/X-P bad-template", "/entities/e/request/params/q bad-template",
				"/entities/e/request/path bad-template", "/source/headers/X-Since bad-template"}},
		{"parent variable without parent", `{type: http, base_url: "http://h"}`, `{request: {path: "/tasks/{{ parent.id }}/status"}}`,
			[]string{"/entities/e/request bad-template"}},
		{"parent without entity", `{type: http, base_url: "http://h"}`, `{parent: {}, request: {path: "/t/{{ parent.id }}"}}`,
			[]string{"/entities/e/parent/entity missing-setting"}},
		{"bad body template", `{type: http, base_url: "http://h"}`,
			`{request: {method: post, path: /s, body: {filterGroups: [{filters: [{value: "{{ watermark }"}]}]}}}`,
			[]string{"/entities/e/request/body/filterGroups/0/filters/0/value bad-template"}},
		{"body with GET", `{type: http, base_url: "http://h"}`, `{request: {path: /s, body: {a: 1}}}`,
			[]string{"/entities/e/request/body invalid-value"}},
		{"method", `{type: http, base_url: "http://h"}`, `{request: {method: DELETE, path: /s}}`,
			[]string{"/entities/e/request/method invalid-value"}},
		{"bad records paths", `{type: http, base_url: "http://h", records: "data..items"}`, `{}`,
			[]string{"/source/records bad-gjson"}},
		{"entity records win", `{type: http, base_url: "http://h", records: "data..items"}`, `{records: "results.#(archived==false)#"}`, nil},
		{"entity records bad", `{type: http, base_url: "http://h"}`, `{records: "results[0"}`,
			[]string{"/entities/e/records bad-gjson"}},
		{"inherited cursor without settings", `{type: http, base_url: "http://h", paginate: {style: cursor}}`, `{}`,
			[]string{"/source/paginate/cursor missing-setting", "/source/paginate/param missing-setting"}},
		{"entity paginate replaces the source's", `{type: http, base_url: "http://h", paginate: {style: cursor}}`, `{paginate: {style: none}}`, nil},
		{"offset without limit", `{type: http, base_url: "http://h"}`, `{paginate: {style: offset}}`,
			[]string{"/entities/e/paginate/limit missing-setting"}},
		{"offset limit from params", `{type: http, base_url: "http://h"}`, `{request: {params: {limit: "100"}}, paginate: {style: offset}}`, nil},
		{"page limit without limit_param", `{type: http, base_url: "http://h"}`, `{paginate: {style: page, limit: 100, start_page: 2}}`,
			[]string{"/entities/e/paginate/limit_param missing-setting", "/entities/e/paginate/start_page invalid-value"}},
		{"style", `{type: http, base_url: "http://h"}`, `{paginate: {style: scroll}}`,
			[]string{"/entities/e/paginate/style invalid-value"}},
		{"no style", `{type: http, base_url: "http://h"}`, `{paginate: {limit: 5}}`,
			[]string{"/entities/e/paginate/style missing-setting"}},
		{"cursor in body with GET", `{type: http, base_url: "http://h"}`, `{paginate: {style: cursor, cursor: "next", param: after, in: body}}`,
			[]string{"/entities/e/paginate/in invalid-value"}},
		{"cursor in nowhere", `{type: http, base_url: "http://h"}`, `{paginate: {style: cursor, cursor: "next", param: after, in: path}}`,
			[]string{"/entities/e/paginate/in invalid-value"}},
		{"next_url and shared paths", `{type: http, base_url: "http://h"}`, `{paginate: {style: next_url, total: "a.", has_more: "(x", max_pages: -1}}`,
			[]string{"/entities/e/paginate/has_more bad-gjson", "/entities/e/paginate/max_pages invalid-value",
				"/entities/e/paginate/next_url missing-setting", "/entities/e/paginate/total bad-gjson"}},
		{"restart without watermark path", `{type: http, base_url: "http://h"}`,
			`{paginate: {style: cursor, cursor: c, param: after, restart_after: 10000}}`,
			[]string{"/entities/e/paginate/restart_watermark missing-setting"}},
		{"restart without a watermark in the request", `{type: http, base_url: "http://h"}`,
			`{paginate: {style: cursor, cursor: c, param: after, restart_after: 10000, restart_watermark: updatedAt}}`,
			[]string{"/entities/e/paginate/restart_after invalid-value"}},
		{"restart with incremental.param", `{type: http, base_url: "http://h"}`,
			`{incremental: {field: u, param: since}, paginate: {style: cursor, cursor: c, param: after, restart_after: 10000, restart_watermark: updatedAt}}`, nil},
		{"body limits", `{type: http, base_url: "http://h", max_body_bytes: -1, max_depth: 10001}`, `{}`,
			[]string{"/source/max_body_bytes invalid-value", "/source/max_depth invalid-value"}},
		{"body limits set", `{type: http, base_url: "http://h", max_body_bytes: 1048576, max_depth: 64}`, `{}`, nil},
		{"timeouts", `{type: http, base_url: "http://h", header_timeout: 0s, idle_timeout: 0}`, `{}`,
			[]string{"/source/header_timeout invalid-value", "/source/idle_timeout invalid-value"}},
		{"timeouts set", `{type: http, base_url: "http://h", timeout: 20s, header_timeout: 10s, idle_timeout: 5s}`, `{}`, nil},
		{"max_empty_pages", `{type: http, base_url: "http://h"}`, `{paginate: {style: cursor, cursor: c, param: after, max_empty_pages: -1}}`,
			[]string{"/entities/e/paginate/max_empty_pages invalid-value"}},
		{"allow_origins", `{type: http, base_url: "http://h", allow_origins: ["https://cdn.example.com", "http://localhost:8080/", "cdn.example.com", "https://cdn.example.com/files", "ftp://x"]}`, `{}`,
			[]string{"/source/allow_origins/2 invalid-value", "/source/allow_origins/3 invalid-value", "/source/allow_origins/4 invalid-value"}},
		{"error_when syntax", `{type: http, base_url: "http://h", error_when: 'body.status =='}`, `{}`,
			[]string{"/source/error_when expr-syntax"}},
		{"error_when type", `{type: http, base_url: "http://h", error_when: 'status == "ok"'}`, `{}`,
			[]string{"/source/error_when expr-type"}},
		{"error_when not a bool", `{type: http, base_url: "http://h", error_when: 'status + 1'}`, `{}`,
			[]string{"/source/error_when expr-type"}},
		{"bearer", `{type: http, base_url: "http://h", auth: {type: bearer, format: "Token {{ tok }}"}}`, `{}`,
			[]string{"/source/auth/format bad-template", "/source/auth/token missing-setting"}},
		{"bearer scheme and format", `{type: http, base_url: "http://h", auth: {type: bearer, token: x, scheme: Token, format: "Token {{ token }}"}}`, `{}`,
			[]string{"/source/auth/format invalid-value"}},
		{"api_key", `{type: http, base_url: "http://h", auth: {type: api_key}}`, `{}`,
			[]string{"/source/auth/headers missing-setting"}},
		{"api_key empty value", `{type: http, base_url: "http://h", auth: {type: api_key, headers: {X-Auth-Key: ""}}}`, `{}`,
			[]string{"/source/auth/headers/X-Auth-Key missing-setting"}},
		{"basic", `{type: http, base_url: "http://h", auth: {type: basic, password: p}}`, `{}`,
			[]string{"/source/auth/username missing-setting"}},
		{"oauth2 client_credentials", `{type: http, base_url: "http://h", auth: {type: oauth2, token_url: "not a url"}}`, `{}`,
			[]string{"/source/auth/client_id missing-setting", "/source/auth/client_secret missing-setting", "/source/auth/token_url invalid-value"}},
		{"oauth2 refresh_token", `{type: http, base_url: "http://h", auth: {type: oauth2, grant: refresh_token, client_id: c}}`, `{}`,
			[]string{"/source/auth/refresh_token missing-setting", "/source/auth/token_url missing-setting"}},
		{"auth type", `{type: http, base_url: "http://h", auth: {type: digest}}`, `{}`,
			[]string{"/source/auth/type invalid-value"}},
		{"retry and timeout", `{type: http, base_url: "http://h", timeout: 0s, retry: {attempts: -1, initial: 2m, max: 1m}}`, `{}`,
			[]string{"/source/retry/attempts invalid-value", "/source/retry/initial invalid-value", "/source/timeout invalid-value"}},
		{"rate limits", `{type: http, base_url: "http://h", rate_limit: {budget: hubspot, window: 0s}}`, `{rate_limit: {per_second: -1}}`,
			[]string{"/entities/e/rate_limit/per_second invalid-value", "/source/rate_limit/per_second missing-setting", "/source/rate_limit/window invalid-value"}},
		{"requests per", `{type: http, base_url: "http://h", rate_limit: {requests: 40, per: 2s, burst: 40, budget: pd}}`, `{rate_limit: {requests: 5, per: 1s}}`, nil},
		{"requests without per", `{type: http, base_url: "http://h", rate_limit: {requests: 40}}`, `{rate_limit: {per: 2s}}`,
			[]string{"/entities/e/rate_limit/requests missing-setting", "/source/rate_limit/per missing-setting"}},
		{"requests and per_second", `{type: http, base_url: "http://h", rate_limit: {requests: 40, per: 2s, per_second: 20}}`, `{}`,
			[]string{"/source/rate_limit/requests conflicting-settings"}},
		{"incremental_request", `{type: http, base_url: "http://h"}`,
			`{incremental: {field: u}, incremental_request: {path: "/v1/recents", params: {since: "{{ watermark }}"}, records: data.#.data, paginate: {style: offset, limit: 100}}}`, nil},
		{"incremental_request without incremental", `{type: http, base_url: "http://h"}`, `{incremental_request: {path: /v1/recents}}`,
			[]string{"/entities/e/incremental_request missing-setting"}},
		{"incremental_request problems at its own path", `{type: http, base_url: "http://h"}`,
			`{incremental: {field: u}, incremental_request: {method: PUT, params: {a: "{{ watermrk }}"}, records: "a..b", paginate: {style: cursor}}}`,
			[]string{"/entities/e/incremental_request/method invalid-value", "/entities/e/incremental_request/paginate/cursor missing-setting",
				"/entities/e/incremental_request/paginate/param missing-setting", "/entities/e/incremental_request/params/a bad-template",
				"/entities/e/incremental_request/path missing-setting", "/entities/e/incremental_request/records bad-gjson"}},
		{"error_when rules", `{type: http, base_url: "http://h", error_when: [{expr: 'body?.errorCode == 401', retry: false}, {expr: "status +"}, 'status + 1']}`, `{}`,
			[]string{"/source/error_when/1 expr-syntax", "/source/error_when/2 expr-type"}},
		{"incremental", `{type: http, base_url: "http://h"}`, `{incremental: {field: u, param: since, in: sql, format: iso}}`,
			[]string{"/entities/e/incremental/format invalid-value", "/entities/e/incremental/in invalid-value"}},
		{"incremental body with GET", `{type: http, base_url: "http://h"}`, `{incremental: {field: u, param: since, in: body}}`,
			[]string{"/entities/e/incremental/in invalid-value"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			yml := fmt.Sprintf("version: 1\nname: p\nsource: %s\nentities:\n  e: %s\n", tc.source, tc.entity)
			o, probs := compileYAML(t, yml, "")
			var got []string
			hasErr := false
			for _, p := range probs {
				s := p.Path + " " + p.Code
				if p.Warning {
					s += " (warning)"
				} else {
					hasErr = true
				}
				if p.Message == "" {
					t.Errorf("%s: no message", s)
				}
				got = append(got, s)
			}
			slices.Sort(got)
			got = slices.Compact(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("problems:\n  %s\nwant:\n  %s\nmessages: %v", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "), probs)
			}
			if hasErr != (o == nil) {
				t.Errorf("opener %v with errors=%v", o != nil, hasErr)
			}
		})
	}
}

// TestCompileMessages: messages say what is missing and for which style.
func TestCompileMessages(t *testing.T) {
	yml := "version: 1\nname: p\nsource: {type: http, base_url: \"http://h\"}\nentities:\n  e: {paginate: {style: cursor}, request: {params: {a: \"{{ watermrk }}\"}}}\n"
	_, probs := compileYAML(t, yml, "")
	var msgs []string
	for _, p := range probs {
		msgs = append(msgs, p.Message)
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{
		"pagination style cursor needs cursor: the gjson path of the next cursor in the body (HubSpot: paging.next.after)",
		"pagination style cursor needs param",
		"unknown variable {{ watermrk }}: want watermark, window.start, window.end, now, parent.<path>, job.id or job.<path>",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no message %q in\n%s", want, all)
		}
	}
}
