package sgrules

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestOwnerDescription(t *testing.T) {
	if got, want := OwnerDescription("prod"), "elbv2.k8s.aws/cluster=prod"; got != want {
		t.Fatalf("OwnerDescription() = %q, want %q", got, want)
	}
	// Upstream's parser must read it as a label, and it must not carry upstream's
	// shared label (an upstream controller would then revoke it).
	labels := parseLabels(OwnerDescription("prod"))
	if labels[LabelCluster] != "prod" || labels[labelUpstreamTGB] != "" {
		t.Fatalf("labels of OwnerDescription = %v", labels)
	}
}

func TestOwnedBy(t *testing.T) {
	sources := map[string]bool{"sg-backend": true, "sg-frontend": true}
	owned := OwnedBy("c1", sources)
	tests := []struct {
		name string
		rule Rule
		want bool
	}{
		{"our label", sgRule("tcp", 80, 80, "sg-backend", "elbv2.k8s.aws/cluster=c1"), true},
		{"our label, any peer", cidrRule("tcp", 80, 80, "10.0.0.0/8", "elbv2.k8s.aws/cluster=c1"), true},
		{"our label among others", sgRule("tcp", 80, 80, "sg-x", "owner=me,elbv2.k8s.aws/cluster=c1"), true},
		{"our label plus upstream shared", sgRule("tcp", 80, 80, "sg-x", "elbv2.k8s.aws/cluster=c1,elbv2.k8s.aws/targetGroupBinding=shared"), true},
		{"another cluster's label", sgRule("tcp", 80, 80, "sg-backend", "elbv2.k8s.aws/cluster=c2"), false},
		{"cluster name prefix is not a match", sgRule("tcp", 80, 80, "sg-backend", "elbv2.k8s.aws/cluster=c10"), false},
		{"another cluster plus upstream shared, our source", sgRule("tcp", 80, 80, "sg-backend", "elbv2.k8s.aws/cluster=c2,elbv2.k8s.aws/targetGroupBinding=shared"), false},
		{"upstream shared from our backend SG", sgRule("tcp", 8080, 32001, "sg-backend", UpstreamSharedDescription), true},
		{"upstream shared from our frontend SG", sgRule("udp", 0, 65535, "sg-frontend", UpstreamSharedDescription), true},
		{"upstream shared from another cluster's SG", sgRule("tcp", 80, 80, "sg-other", UpstreamSharedDescription), false},
		{"upstream shared from a CIDR", cidrRule("tcp", 80, 80, "10.0.0.0/16", UpstreamSharedDescription), false},
		{"upstream shared with other text", sgRule("tcp", 80, 80, "sg-backend", "legacy elbv2.k8s.aws/targetGroupBinding=shared"), true},
		{"upstream label with another value", sgRule("tcp", 80, 80, "sg-backend", "elbv2.k8s.aws/targetGroupBinding=mine"), false},
		{"user rule, same key as desired", sgRule("tcp", 80, 80, "sg-backend", "allow lb"), false},
		{"user rule, empty description", sgRule("tcp", 80, 80, "sg-backend", ""), false},
		{"label with a space inside is not a label", sgRule("tcp", 80, 80, "sg-backend", "elbv2.k8s.aws/cluster=c1 extra"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := owned(tt.rule); got != tt.want {
				t.Errorf("owned(%q from %s) = %v, want %v", tt.rule.Description, tt.rule.Peer, got, tt.want)
			}
		})
	}
}

func TestOwnedByEmptyCluster(t *testing.T) {
	if OwnedBy("", nil)(sgRule("tcp", 80, 80, "sg-1", "elbv2.k8s.aws/cluster=")) {
		t.Fatal("an empty cluster name must own nothing")
	}
	if OwnedBy("", nil)(sgRule("tcp", 80, 80, "sg-1", UpstreamSharedDescription)) {
		t.Fatal("no sources means no upstream rule is adopted")
	}
}

func TestParseLabels(t *testing.T) {
	tests := []struct {
		in   string
		want map[string]string
	}{
		{"", map[string]string{}},
		{"free text", map[string]string{}},
		{"k1=v1", map[string]string{"k1": "v1"}},
		{"k1=v1,k2=v2", map[string]string{"k1": "v1", "k2": "v2"}},
		{"k1=v1,k1=v2", map[string]string{"k1": "v2"}},
		{"note k1=v1", map[string]string{"k1": "v1"}},
		{"k1=v1 note", map[string]string{}},
		{"a=b=c", map[string]string{"b": "c"}},
		{"k1=,k2=v2", map[string]string{"k2": "v2"}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, parseLabels(tt.in)); diff != "" {
			t.Errorf("parseLabels(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
}
