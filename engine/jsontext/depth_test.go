package jsontext

import "testing"

func TestTooDeep(t *testing.T) {
	cases := []struct {
		s     string
		limit int
		deep  bool
		at    int
	}{
		{`[]`, 1, false, 0},
		{`[[]]`, 1, true, 1},
		{`{"a":[1]}`, 2, false, 0},
		{`{"a":{"b":[1]}}`, 2, true, 10},
		{`["[[[[", "\"[[[", "\\", [1]]`, 2, false, 0},
		{`["\\\"[[", [[1]]]`, 2, true, 12},
		{`"unterminated [[[[`, 1, false, 0},
		{`]]]][[`, 1, true, 5},
		{`[[[`, 3, false, 0},
		{`[[[[`, 3, true, 3},
		{`[[[]]]`, 5, false, 0},
		{`[[[[[[]]]]]]`, 5, true, 5},
	}
	for _, tc := range cases {
		deep, at := TooDeep(tc.s, tc.limit)
		if deep != tc.deep || at != tc.at {
			t.Errorf("TooDeep(%q, %d) = %v, %d; want %v, %d", tc.s, tc.limit, deep, at, tc.deep, tc.at)
		}
	}
}

// TestTooDeepBytes: the []byte form agrees.
func TestTooDeepBytes(t *testing.T) {
	if deep, at := TooDeep([]byte(`{"a":{"b":[1]}}`), 2); !deep || at != 10 {
		t.Errorf("TooDeep([]byte) = %v, %d", deep, at)
	}
}
