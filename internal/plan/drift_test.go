package plan

import (
	"testing"

	"github.com/lbsg/lbsg/internal/naming"
	"github.com/lbsg/lbsg/internal/sgrules"
	"github.com/lbsg/lbsg/internal/spec"
	"github.com/lbsg/lbsg/internal/state"
)

// A managed SG has drifted exactly when the stack's plan would change it: a client rule
// added or revoked behind lbsg's back, or its tags. Descriptions, rule order and kept tag
// keys are not drift; nor is a managed SG that does not exist yet.
func TestManagedSGDrifted(t *testing.T) {
	stackTags := tags(naming.TagCluster, "prod", naming.ServiceStackTag, "team/web", naming.ServiceResourceTag, naming.ManagedSGResourceID)
	want := &spec.SecurityGroup{Name: "k8s-team-web-0123456789", Tags: stackTags,
		Ingress: []sgrules.Rule{cidr(443, "0.0.0.0/0"), cidr(443, "::/0")}}
	have := func(tagMap map[string]string, rules ...sgrules.Rule) []state.SecurityGroup {
		return []state.SecurityGroup{{ID: "sg-0managed", Name: want.Name, Tags: tagMap, Ingress: rules}}
	}
	described := cidr(443, "::/0")
	described.Description = "set by hand"
	keepAWS := func(k string) bool { return k == "aws:cloudformation:stack-name" }
	withAWS := tags(naming.TagCluster, "prod", naming.ServiceStackTag, "team/web", naming.ServiceResourceTag, naming.ManagedSGResourceID,
		"aws:cloudformation:stack-name", "x")
	withExtra := tags(naming.TagCluster, "prod", naming.ServiceStackTag, "team/web", naming.ServiceResourceTag, naming.ManagedSGResourceID,
		"team", "b")
	tests := []struct {
		name string
		have []state.SecurityGroup
		want bool
	}{
		{"as wanted", have(stackTags, cidr(443, "0.0.0.0/0"), cidr(443, "::/0")), false},
		{"as wanted, other order", have(stackTags, cidr(443, "::/0"), cidr(443, "0.0.0.0/0")), false},
		{"only a description differs", have(stackTags, cidr(443, "0.0.0.0/0"), described), false},
		{"a kept tag key added", have(withAWS, cidr(443, "0.0.0.0/0"), cidr(443, "::/0")), false},
		{"a rule added out of band", have(stackTags, cidr(443, "0.0.0.0/0"), cidr(443, "::/0"), cidr(9999, "0.0.0.0/0")), true},
		{"a client rule revoked out of band", have(stackTags, cidr(443, "0.0.0.0/0")), true},
		{"a rule replaced", have(stackTags, cidr(443, "10.0.0.0/8"), cidr(443, "::/0")), true},
		{"a tag added", have(withExtra, cidr(443, "0.0.0.0/0"), cidr(443, "::/0")), true},
		{"no managed SG yet", nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ManagedSGDrifted(want, tc.have, keepAWS); got != tc.want {
				t.Errorf("ManagedSGDrifted = %t, want %t", got, tc.want)
			}
		})
	}
	if ManagedSGDrifted(nil, have(stackTags, cidr(9999, "0.0.0.0/0")), keepAWS) {
		t.Error("a stack that wants no managed SG has no managed-SG drift (its plan deletes the SG)")
	}
}
