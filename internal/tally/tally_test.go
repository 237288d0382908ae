package tally

import (
	"maps"
	"testing"
)

func TestSubKeepsOnlyChangedKeys(t *testing.T) {
	for _, tc := range []struct {
		name       string
		c, earlier map[string]int
		want       map[string]int
	}{
		{"grown", map[string]int{"a": 3, "b": 1}, map[string]int{"a": 1, "b": 1}, map[string]int{"a": 2}},
		{"new key", map[string]int{"a": 1}, map[string]int{}, map[string]int{"a": 1}},
		{"key gone", map[string]int{}, map[string]int{"a": 2}, map[string]int{"a": -2}},
		{"nothing", map[string]int{"a": 1}, map[string]int{"a": 1}, map[string]int{}},
	} {
		if got := Sub(tc.c, tc.earlier); !maps.Equal(got, tc.want) {
			t.Errorf("%s: Sub = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestTotal(t *testing.T) {
	if got := Total(map[string]int{"a": 2, "b": 3}); got != 5 {
		t.Errorf("Total = %d, want 5", got)
	}
	if got := Total(map[int]int(nil)); got != 0 {
		t.Errorf("Total(nil) = %d, want 0", got)
	}
}
