package targets

import (
	"slices"
	"strings"
	"testing"
)

func TestSelectSGsPolicies(t *testing.T) {
	const cluster = "c1"
	tags := map[string]map[string]string{
		"sg-a":     {"kubernetes.io/cluster/c1": "owned", "role": "node"},
		"sg-b":     {"kubernetes.io/cluster/c1": ""},
		"sg-plain": {"Name": "plain"},
		"sg-other": {"kubernetes.io/cluster/c2": "owned"},
	}
	twoTagged := ENI{ID: "eni-2t", SecurityGroups: []string{"sg-b", "sg-plain", "sg-a"}}
	noneTagged := ENI{ID: "eni-0t", SecurityGroups: []string{"sg-plain", "sg-other"}}
	oneTagged := ENI{ID: "eni-1t", SecurityGroups: []string{"sg-plain", "sg-b"}}
	single := ENI{ID: "eni-1", SecurityGroups: []string{"sg-plain"}}
	tests := []struct {
		name      string
		eni       ENI
		policy    Policy
		extra     map[string]string
		want      []string
		wantInErr []string
	}{
		{"error: single SG", single, PolicyError, nil, []string{"sg-plain"}, nil},
		{"error: one tagged", oneTagged, PolicyError, nil, []string{"sg-b"}, nil},
		{"error: two tagged fails naming the ENI, its SGs and the policies", twoTagged, PolicyError, nil, nil,
			[]string{"eni-2t", "[sg-a sg-b]", "[sg-a sg-b sg-plain]", "--target-sg-selection", "first-tagged", "all"}},
		{"error: none tagged", noneTagged, PolicyError, nil, nil, []string{"eni-0t", "--target-sg-selection"}},
		{"first-tagged: two tagged takes the first in sorted order", twoTagged, PolicyFirstTagged, nil, []string{"sg-a"}, nil},
		{"first-tagged: extra tags filter before sorting", twoTagged, PolicyFirstTagged, map[string]string{"role": "x"}, nil, []string{"eni-2t"}},
		{"first-tagged: none tagged fails as error does", noneTagged, PolicyFirstTagged, nil, nil, []string{"eni-0t", "got: []"}},
		{"first-tagged: single SG needs no tag", single, PolicyFirstTagged, nil, []string{"sg-plain"}, nil},
		{"all: every SG of the ENI, sorted", twoTagged, PolicyAll, nil, []string{"sg-a", "sg-b", "sg-plain"}, nil},
		{"all: untagged SGs too", noneTagged, PolicyAll, nil, []string{"sg-other", "sg-plain"}, nil},
		{"all: duplicates once", ENI{ID: "eni-d", SecurityGroups: []string{"sg-b", "sg-b"}}, PolicyAll, nil, []string{"sg-b"}, nil},
		{"any policy: no SGs fails", ENI{ID: "eni-e"}, PolicyAll, nil, nil, []string{"eni-e", "no security groups"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SelectSGs(tt.eni, tags, cluster, tt.extra, tt.policy)
			if tt.wantInErr == nil {
				if err != nil || !slices.Equal(got, tt.want) {
					t.Fatalf("SelectSGs = %v, %v; want %v", got, err, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("SelectSGs = %v, want an error", got)
			}
			for _, s := range tt.wantInErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
		})
	}
}

func TestParsePolicy(t *testing.T) {
	for _, v := range []string{"error", "first-tagged", "all"} {
		if p, err := ParsePolicy(v); err != nil || string(p) != v {
			t.Errorf("ParsePolicy(%q) = %q, %v", v, p, err)
		}
	}
	for _, v := range []string{"", "First-Tagged", "any"} {
		if _, err := ParsePolicy(v); err == nil || !strings.Contains(err.Error(), "first-tagged") {
			t.Errorf("ParsePolicy(%q) error = %v, want one listing the policies", v, err)
		}
	}
}
