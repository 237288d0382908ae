package sgrules

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestCheckRuleQuota(t *testing.T) {
	plRule := func(id string) Rule { return Rule{Key: Key{"tcp", 443, 443, PeerPrefixList, id}} }
	many := func(n int) []Rule {
		var out []Rule
		for i := range n {
			out = append(out, cidrRule("tcp", int32(1000+i), int32(1000+i), "0.0.0.0/0", ""))
		}
		return out
	}
	v6 := func(n int) []Rule {
		var out []Rule
		for i := range n {
			out = append(out, Rule{Key: Key{"tcp", int32(2000 + i), int32(2000 + i), PeerCIDRv6, "::/0"}})
		}
		return out
	}
	tests := []struct {
		name      string
		rules     []Rule
		weights   map[string]int
		limit     int
		wantCount int // 0 means no error expected
	}{
		{name: "empty", limit: 1},
		{name: "at the limit", rules: many(60), limit: 60},
		{name: "over the limit", rules: many(61), limit: 60, wantCount: 61},
		{name: "default limit", rules: many(61), limit: 0, wantCount: 61},
		{name: "duplicates count once", rules: append(many(3), many(3)...), limit: 3},
		{name: "prefix list weighted", rules: append(many(10), plRule("pl-1")), weights: map[string]int{"pl-1": 51}, limit: 60, wantCount: 61},
		{name: "prefix list weight fits", rules: append(many(9), plRule("pl-1")), weights: map[string]int{"pl-1": 51}, limit: 60},
		{name: "unknown prefix list weighs 1", rules: []Rule{plRule("pl-1"), plRule("pl-2")}, weights: map[string]int{"pl-1": 1}, limit: 1, wantCount: 2},
		{name: "weight applies to prefix lists only", rules: []Rule{sgRule("tcp", 1, 1, "pl-1", "")}, weights: map[string]int{"pl-1": 50}, limit: 1},
		{name: "IPv4 and IPv6 rules are counted apart", rules: append(many(60), v6(60)...), limit: 60},
		{name: "IPv6 over the limit", rules: append(many(2), v6(61)...), limit: 60, wantCount: 61},
		{name: "SG rules count in both families", rules: append(v6(59), sgRule("tcp", 1, 1, "sg-1", ""), sgRule("tcp", 2, 2, "sg-1", "")), limit: 60, wantCount: 61},
		{name: "prefix lists count in both families", rules: append(v6(10), plRule("pl-1")), weights: map[string]int{"pl-1": 51}, limit: 60, wantCount: 61},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckRuleQuota(tt.rules, tt.weights, tt.limit)
			if tt.wantCount == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			var qe *QuotaError
			if !errors.As(err, &qe) {
				t.Fatalf("error = %v, want a *QuotaError", err)
			}
			limit := tt.limit
			if limit <= 0 {
				limit = DefaultRulesPerSG
			}
			if qe.Count != tt.wantCount || qe.Limit != limit {
				t.Fatalf("QuotaError = %+v, want count %d limit %d", qe, tt.wantCount, limit)
			}
			msg := err.Error()
			for _, s := range []string{strconv.Itoa(tt.wantCount), strconv.Itoa(limit)} {
				if !strings.Contains(msg, s) {
					t.Errorf("message %q does not name %s", msg, s)
				}
			}
		})
	}
}
