package spec

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lbsg/lbsg/internal/annotations"
)

// TestManageFrontendSGKeepsTheManagedSG: with user SGs and the opt-in, an NLB keeps its
// managed frontend SG (with its client rules) and gets the user SGs as well; target rules
// come from the backend SG as for any managed frontend (or the managed SG without it).
func TestManageFrontendSGKeepsTheManagedSG(t *testing.T) {
	tests := []struct {
		name string
		kv   []string
		s    func(*Settings)
		want frontendView
	}{
		{
			name: "opt-in with user SGs: managed plus user SGs, backend rules",
			kv:   []string{annotations.SvcSecurityGroups, "sg-1, my-sg", annotations.SvcManageFrontendSG, "true"},
			want: frontendView{Frontend: FrontendManaged, CustomSGRefs: []string{"sg-1", "my-sg"}, UseBackendSG: true, HasManagedSG: true, Manage: true, Source: SourceBackend},
		},
		{
			name: "opt-in without backend SG: rules from the managed SG",
			kv:   []string{annotations.SvcSecurityGroups, "sg-1", annotations.SvcManageFrontendSG, "true"},
			s:    func(s *Settings) { s.EnableBackendSG = false },
			want: frontendView{Frontend: FrontendManaged, CustomSGRefs: []string{"sg-1"}, HasManagedSG: true, Manage: true, Source: SourceFrontend},
		},
		{
			name: "opt-in false: user SGs replace the managed SG, as upstream",
			kv:   []string{annotations.SvcSecurityGroups, "sg-1", annotations.SvcManageFrontendSG, "false"},
			want: frontendView{Frontend: FrontendCustom, CustomSGRefs: []string{"sg-1"}},
		},
		{
			name: "opt-in without user SGs: the managed SG alone",
			kv:   []string{annotations.SvcManageFrontendSG, "true"},
			want: frontendView{Frontend: FrontendManaged, UseBackendSG: true, HasManagedSG: true, Manage: true, Source: SourceBackend},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testSettings()
			if tt.s != nil {
				tt.s(&s)
			}
			st := mustBuild(t, testService(ann(tt.kv...)), s, ServiceFacts{})
			if diff := cmp.Diff(tt.want, viewFrontend(st)); diff != "" {
				t.Errorf("frontend mismatch (-want +got):\n%s", diff)
			}
			if st.ManagedSG != nil && len(st.ManagedSG.Ingress) == 0 {
				t.Errorf("managed SG without client rules")
			}
		})
	}
}

// TestManageFrontendSGBadInput: a value that is not a bool, or too many SGs with the managed
// one, is a problem naming the key, the value and the fix.
func TestManageFrontendSGBadInput(t *testing.T) {
	tests := []struct {
		name, key, value, reason string
		kv                       []string
	}{
		{"not a bool", annotations.SvcManageFrontendSG, "yes", "not true or false",
			[]string{annotations.SvcSecurityGroups, "sg-1", annotations.SvcManageFrontendSG, "yes"}},
		{"empty", annotations.SvcManageFrontendSG, "", "",
			[]string{annotations.SvcSecurityGroups, "sg-1", annotations.SvcManageFrontendSG, ""}},
		{"four user SGs, the managed and the backend SG", annotations.SvcSecurityGroups, "sg-1,sg-2,sg-3,sg-4", "plus the managed frontend security group",
			[]string{annotations.SvcSecurityGroups, "sg-1,sg-2,sg-3,sg-4", annotations.SvcManageFrontendSG, "true"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, problems := BuildService(testService(ann(tt.kv...)), testSettings(), ServiceFacts{})
			if st != nil || len(problems) != 1 {
				t.Fatalf("BuildService = %v, %v; want one problem", st, problems)
			}
			p := problems[0]
			if p.Key != tt.key || p.Value != tt.value || !strings.Contains(p.Reason, tt.reason) || p.Fix == "" {
				t.Errorf("problem %+v, want key %s, value %q, reason with %q and a fix", p, tt.key, tt.value, tt.reason)
			}
		})
	}
}

// TestIngressManageFrontendSG: on an Ingress group, the opt-in of any member keeps the
// managed SG next to the user SGs; members that set it must agree; a bad value fails.
func TestIngressManageFrontendSG(t *testing.T) {
	t.Run("opt-in keeps the managed SG", func(t *testing.T) {
		a := testIngress("a", inGroup("team"), ingAnn(annotations.IngSecurityGroups, "sg-1", annotations.IngManageFrontendSG, "true"))
		b := testIngress("b", inGroup("team"))
		st := mustBuildGroup(t, teamGroup, asMembers(a, b), testSettings(), defaultFacts())
		if st.LoadBalancer.Frontend != FrontendManaged || st.ManagedSG == nil || !cmp.Equal(st.LoadBalancer.CustomSGRefs, []string{"sg-1"}) {
			t.Errorf("frontend %q, managed SG %v, user SGs %v; want managed, kept, [sg-1]", st.LoadBalancer.Frontend, st.ManagedSG != nil, st.LoadBalancer.CustomSGRefs)
		}
		if st.Networking.Source != SourceBackend || !st.LoadBalancer.UseBackendSG {
			t.Errorf("target rules from %q (backend SG %v), want the backend SG", st.Networking.Source, st.LoadBalancer.UseBackendSG)
		}
	})
	for _, tc := range []struct {
		name, a, b, reason string
	}{
		{"members disagree", "true", "false", "conflicting manage frontend security group settings"},
		{"not a bool", "maybe", "", "not true or false"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := testIngress("a", inGroup("team"), ingAnn(annotations.IngSecurityGroups, "sg-1", annotations.IngManageFrontendSG, tc.a))
			bAnn := []string{}
			if tc.b != "" {
				bAnn = []string{annotations.IngManageFrontendSG, tc.b}
			}
			b := testIngress("b", inGroup("team"), ingAnn(bAnn...))
			st, problems := BuildIngressGroup(teamGroup, asMembers(a, b), testSettings(), defaultFacts())
			if st != nil || len(problems) == 0 {
				t.Fatalf("BuildIngressGroup = %v, %v; want problems", st, problems)
			}
			found := false
			for _, p := range problems {
				if p.Key == annotations.IngManageFrontendSG && strings.Contains(p.Reason, tc.reason) && p.Fix != "" {
					found = true
				}
			}
			if !found {
				t.Errorf("problems %v, want one on %s with %q", problems, annotations.IngManageFrontendSG, tc.reason)
			}
		})
	}
}
