package validate

import (
	"slices"
	"testing"
)

func TestUUID(t *testing.T) {
	v, err := Build("uuid", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"123e4567-e89b-12d3-a456-426614174000", "123e4567-e89b-12d3-a456-426614174000", true},
		{"123E4567-E89B-12D3-A456-426614174000", "123e4567-e89b-12d3-a456-426614174000", true},
		{"{123E4567-E89B-12D3-A456-426614174000}", "123e4567-e89b-12d3-a456-426614174000", true},
		{"urn:uuid:123e4567-e89b-12d3-a456-426614174000", "123e4567-e89b-12d3-a456-426614174000", true},
		{" 123e4567-e89b-12d3-a456-426614174000 ", "123e4567-e89b-12d3-a456-426614174000", true},
		{"00000000-0000-0000-0000-000000000000", "00000000-0000-0000-0000-000000000000", true},
		{"", "", true}, // empty is not_empty's business
		{"123e4567e89b12d3a456426614174000", "", false},
		{"123e4567-e89b-12d3-a456-42661417400", "", false},
		{"123e4567-e89b-12d3-a456-4266141740000", "", false},
		{"123e4567-e89b-12d3-a456_426614174000", "", false},
		{"g23e4567-e89b-12d3-a456-426614174000", "", false},
		{"{123e4567-e89b-12d3-a456-426614174000", "", false},
	} {
		got, err := v.Validate(c.in)
		if (err == nil) != c.ok {
			t.Errorf("uuid(%q): err %v, want ok=%v", c.in, err, c.ok)
			continue
		}
		if c.ok && got != c.want {
			t.Errorf("uuid(%q) = %q, want %q", c.in, got, c.want)
		}
		if !c.ok && err.Error() != "Invalid UUID" {
			t.Errorf("uuid(%q): message %q", c.in, err)
		}
	}
	got, err := v.Validate([]string{"{123E4567-E89B-12D3-A456-426614174000}", ""})
	if err != nil || !slices.Equal(got.([]string), []string{"123e4567-e89b-12d3-a456-426614174000", ""}) {
		t.Errorf("a list: %v, %v", got, err)
	}
	if _, err := Build("uuid", "v4"); err == nil {
		t.Error("uuid takes no argument")
	}
}
