package authoring

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
)

// Compare lists how the mapped records (got) differ from the expected
// ones (want), at most max lines (0: all); none when they match. Records
// are matched by position: a replay reads them in the recorded order.
func Compare(want, got []string, max int) []string {
	var out []string
	add := func(format string, args ...any) bool {
		out = append(out, fmt.Sprintf(format, args...))
		return max > 0 && len(out) >= max
	}
	if len(want) != len(got) {
		if add("expected %d records, got %d", len(want), len(got)) {
			return out
		}
	}
	for i := 0; i < len(want) || i < len(got); i++ {
		switch {
		case i >= len(got):
			if add("record %d%s: expected, but not produced", i+1, idOf(want[i])) {
				return out
			}
			continue
		case i >= len(want):
			if add("record %d%s: produced, but not expected: %s", i+1, idOf(got[i]), short(got[i])) {
				return out
			}
			continue
		case want[i] == got[i]:
			continue
		}
		for _, d := range lineDiff(want[i], got[i]) {
			if add("record %d%s: %s", i+1, idOf(got[i]), d) {
				return out
			}
		}
	}
	return out
}

type line struct {
	Outcome  string         `json:"outcome"`
	ID       string         `json:"id"`
	Record   map[string]any `json:"record"`
	Children map[string]any `json:"children"`
	Reasons  []string       `json:"reasons"`
}

func parseLine(s string) (line, error) {
	var l line
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	err := d.Decode(&l)
	return l, err
}

func idOf(s string) string {
	l, err := parseLine(s)
	if err != nil || l.ID == "" {
		return ""
	}
	return " (id " + l.ID + ")"
}

// lineDiff names each difference between two record lines.
func lineDiff(a, b string) []string {
	x, errA := parseLine(a)
	y, errB := parseLine(b)
	if errA != nil || errB != nil {
		return []string{fmt.Sprintf("expected %s, got %s", short(a), short(b))}
	}
	var out []string
	if x.ID != y.ID {
		out = append(out, fmt.Sprintf("id: expected %q, got %q", x.ID, y.ID))
	}
	if x.Outcome != y.Outcome {
		out = append(out, fmt.Sprintf("outcome: expected %s, got %s", x.Outcome, y.Outcome))
	}
	out = diffMaps(out, "field", "but the field is gone", x.Record, y.Record)
	out = diffMaps(out, "child rows", "got none", x.Children, y.Children)
	if !reflect.DeepEqual(x.Reasons, y.Reasons) {
		out = append(out, fmt.Sprintf("reasons: expected %s, got %s", compact(x.Reasons), compact(y.Reasons)))
	}
	if len(out) == 0 && !bytes.Equal([]byte(a), []byte(b)) {
		out = append(out, fmt.Sprintf("expected %s, got %s", short(a), short(b)))
	}
	return out
}

func short(s string) string {
	if len(s) > 160 {
		return s[:157] + "..."
	}
	return s
}

// diffMaps appends what differs between the expected map a and the map b
// read now, key by key in order: "<what> k: expected …, got …".
func diffMaps(out []string, what, gone string, a, b map[string]any) []string {
	for _, k := range sortedKeys(a, b) {
		va, okA := a[k]
		vb, okB := b[k]
		switch {
		case !okA:
			out = append(out, fmt.Sprintf("%s %s: not expected, got %s", what, k, compact(vb)))
		case !okB:
			out = append(out, fmt.Sprintf("%s %s: expected %s, %s", what, k, compact(va), gone))
		case !reflect.DeepEqual(va, vb):
			out = append(out, fmt.Sprintf("%s %s: expected %s, got %s", what, k, compact(va), compact(vb)))
		}
	}
	return out
}

func sortedKeys(a, b map[string]any) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range []map[string]any{a, b} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}
