package authz

import (
	"strings"
	"testing"
	"time"
)

func claim(ns, name string, created int, pinned bool) GroupClaim {
	return GroupClaim{Ingress: Subject{Kind: "Ingress", Namespace: ns, Name: name},
		Created: time.Date(2026, 1, 1, 0, 0, created, 0, time.UTC), Key: "alb.ingress.kubernetes.io/group.name", Pinned: pinned}
}

func TestGroupOwner(t *testing.T) {
	tests := []struct {
		name   string
		claims []GroupClaim
		want   string
	}{
		{"no claim", nil, ""},
		{"one", []GroupClaim{claim("team-a", "web", 5, false)}, "team-a"},
		{"oldest wins whatever the order", []GroupClaim{claim("team-b", "evil", 9, false), claim("team-a", "web", 5, false)}, "team-a"},
		{"a newer namespace never takes over", []GroupClaim{claim("team-a", "web", 5, false), claim("team-b", "aaa", 6, false)}, "team-a"},
		{"same second: namespace/name decides", []GroupClaim{claim("team-b", "a", 5, false), claim("team-a", "z", 5, false)}, "team-a"},
		{"same second, same namespace", []GroupClaim{claim("team-a", "z", 5, false), claim("team-a", "a", 5, false)}, "team-a"},
	}
	for _, tt := range tests {
		if got := GroupOwner(tt.claims); got != tt.want {
			t.Errorf("%s: GroupOwner = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// The namespaces a group's load balancer serves keep it while they ask for it.
func TestGroupOwnerKeeping(t *testing.T) {
	early := claim("team-b", "evil", 1, false)
	recreated := claim("team-a", "web", 9, false)
	tests := []struct {
		name    string
		claims  []GroupClaim
		serving []string
		want    string
	}{
		{"nothing served: the oldest", []GroupClaim{early, recreated}, nil, "team-b"},
		{"the served namespace keeps it", []GroupClaim{early, recreated}, []string{"team-a"}, "team-a"},
		{"the served namespace no longer asks", []GroupClaim{early}, []string{"team-a"}, "team-b"},
		{"several served: the oldest of them", []GroupClaim{early, recreated, claim("team-c", "x", 5, false)}, []string{"team-a", "team-c"}, "team-c"},
	}
	for _, tt := range tests {
		if got := GroupOwnerKeeping(tt.claims, tt.serving); got != tt.want {
			t.Errorf("%s: GroupOwnerKeeping = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestDecideGroup walks group membership over the policies: the owner's namespace joins;
// another namespace joins only with --ingress-group-namespaces=any or a ReferenceGrant
// from the owner; a group pinned by IngressClassParams takes only the Ingresses its
// parameters admitted, whatever the policy.
func TestDecideGroup(t *testing.T) {
	grant := Policy{Grants: []Grant{{Namespace: "team-a",
		From: []GrantFrom{{Group: "networking.k8s.io", Kind: "Ingress", Namespace: "team-b"}},
		To:   []GrantTo{{Group: GrantGroup, Kind: GrantKindIngressGroup, Name: "shop"}}}}}
	grantAll := Policy{Grants: []Grant{{Namespace: "team-a",
		From: []GrantFrom{{Group: "networking.k8s.io", Kind: "Ingress", Namespace: "team-b"}},
		To:   []GrantTo{{Group: GrantGroup, Kind: GrantKindIngressGroup}}}}}
	grantByB := Policy{Grants: []Grant{{Namespace: "team-b",
		From: []GrantFrom{{Group: "networking.k8s.io", Kind: "Ingress", Namespace: "team-b"}},
		To:   []GrantTo{{Group: GrantGroup, Kind: GrantKindIngressGroup, Name: "shop"}}}}}
	grantWrongKind := Policy{Grants: []Grant{{Namespace: "team-a",
		From: []GrantFrom{{Group: "networking.k8s.io", Kind: "Service", Namespace: "team-b"}},
		To:   []GrantTo{{Group: GrantGroup, Kind: GrantKindIngressGroup, Name: "shop"}}}}}
	a1, a2 := claim("team-a", "web", 1, false), claim("team-a", "api", 3, false)
	b := claim("team-b", "evil", 2, false)
	bOld := claim("team-b", "evil", 0, false)
	pa, pb := claim("team-a", "web", 1, true), claim("team-b", "shop", 2, true)
	tests := []struct {
		name     string
		policy   Policy
		pinnedBy []string
		claims   []GroupClaim
		want     []bool
	}{
		{"owner's namespace only", Policy{}, nil, []GroupClaim{a1, b, a2}, []bool{true, false, true}},
		{"the oldest namespace owns the group", Policy{}, nil, []GroupClaim{a1, bOld}, []bool{false, true}},
		{"any namespace", Policy{Groups: GroupAnyNamespace}, nil, []GroupClaim{a1, b}, []bool{true, true}},
		{"ReferenceGrant by name", grant, nil, []GroupClaim{a1, b}, []bool{true, true}},
		{"ReferenceGrant for every group", grantAll, nil, []GroupClaim{a1, b}, []bool{true, true}},
		{"ReferenceGrant in the joiner's own namespace", grantByB, nil, []GroupClaim{a1, b}, []bool{true, false}},
		{"ReferenceGrant for another kind", grantWrongKind, nil, []GroupClaim{a1, b}, []bool{true, false}},
		{"pinned: the parameters decide", Policy{}, []string{"shop"}, []GroupClaim{pa, pb}, []bool{true, true}},
		{"pinned: an annotation is refused, even in the same namespace", Policy{}, []string{"shop"}, []GroupClaim{pa, a2}, []bool{true, false}},
		{"pinned: an annotation is refused even with any", Policy{Groups: GroupAnyNamespace}, []string{"shop"}, []GroupClaim{pa, b}, []bool{true, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.policy.DecideGroup("shop", tt.pinnedBy, tt.claims)
			for i, d := range got {
				if d.Allowed != tt.want[i] {
					t.Errorf("claim %s: %+v, want allowed=%t", tt.claims[i].Ingress, d, tt.want[i])
				}
				if !d.Allowed && (d.Reason == "" || d.Fix == "") {
					t.Errorf("a denial must say why and what to do: %+v", d)
				}
			}
		})
	}
}

// A denial names the group, its owner namespace and the ReferenceGrant that would allow it.
func TestDecideGroupDenialMessage(t *testing.T) {
	d := Policy{}.DecideGroup("shop", nil, []GroupClaim{claim("team-a", "web", 1, false), claim("team-b", "evil", 2, false)})[1]
	msg := d.Reason + "; " + d.Fix
	for _, want := range []string{"Ingress group shop belongs to namespace team-a", "Ingress team-b/evil",
		"ReferenceGrant from kind Ingress (group networking.k8s.io) of namespace team-b to kind IngressGroup (group elbv2.k8s.aws) named shop",
		"--ingress-group-namespaces=any"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q lacks %q", msg, want)
		}
	}
	d = Policy{}.DecideGroup("shop", []string{"shop-params"}, []GroupClaim{claim("team-a", "web", 1, false)})[0]
	if !strings.Contains(d.Reason, "IngressClassParams shop-params") || !strings.Contains(d.Fix, "spec.ingressClassName") {
		t.Errorf("pinned denial %+v must name the parameters and the fix", d)
	}
}
