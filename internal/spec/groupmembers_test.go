package spec

import (
	"slices"
	"strings"
	"testing"
	"time"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/lbsg/lbsg/internal/annotations"
	"github.com/lbsg/lbsg/internal/naming"
)

func createdAt(sec int) ingOpt {
	return func(ing *networkingv1.Ingress) {
		ing.CreationTimestamp = metav1.NewTime(time.Date(2026, 1, 1, 0, 0, sec, 0, time.UTC))
	}
}

func routedTo(svc string, path string) ingOpt {
	return withRules(httpRule("", prefixPath(path, svcBackend(svc, 80))))
}

// TestBuildIngressGroupMembers: a member's own bad input excludes that member; of two
// members that disagree on a setting the group shares, the newer is excluded (the oldest
// wins); the others converge; only a problem no member alone causes stops the group.
func TestBuildIngressGroupMembers(t *testing.T) {
	old := func(name string, opts ...ingOpt) *networkingv1.Ingress {
		return testIngress(name, append([]ingOpt{inGroup("team"), createdAt(1), routedTo("web", "/"+name)}, opts...)...)
	}
	newer := func(name string, opts ...ingOpt) *networkingv1.Ingress {
		return testIngress(name, append([]ingOpt{inGroup("team"), createdAt(9), routedTo("web", "/"+name)}, opts...)...)
	}
	tests := []struct {
		name         string
		members      []*networkingv1.Ingress
		wantServed   []string // the members the stack routes to
		wantExcluded map[string]string
		wantGroup    string // in the group's own problem
	}{
		{name: "all good", members: []*networkingv1.Ingress{old("a"), newer("b")}, wantServed: []string{"a", "b"}},
		{name: "malformed annotation of one member",
			members:      []*networkingv1.Ingress{old("a"), newer("b", ingAnn(annotations.IngScheme, "public"))},
			wantServed:   []string{"a"},
			wantExcluded: map[string]string{"b": annotations.IngScheme}},
		{name: "the oldest member's own bad input excludes it too",
			members:      []*networkingv1.Ingress{old("a", ingAnn(annotations.IngListenPorts, "[80]")), newer("b")},
			wantServed:   []string{"b"},
			wantExcluded: map[string]string{"a": annotations.IngListenPorts}},
		{name: "missing backend Service",
			members:      []*networkingv1.Ingress{old("a"), newer("b", routedTo("nosuch", "/b"))},
			wantServed:   []string{"a"},
			wantExcluded: map[string]string{"b": "Service shop/nosuch not found"}},
		{name: "protective annotation fails closed for its member only",
			members:      []*networkingv1.Ingress{old("a"), newer("b", ingAnn("alb.ingress.kubernetes.io/auth-type", "cognito"))},
			wantServed:   []string{"a"},
			wantExcluded: map[string]string{"b": "alb.ingress.kubernetes.io/auth-type"}},
		{name: "conflicting scheme: the newer is excluded",
			members: []*networkingv1.Ingress{old("a", ingAnn(annotations.IngScheme, "internal")),
				newer("b", ingAnn(annotations.IngScheme, "internet-facing"))},
			wantServed:   []string{"a"},
			wantExcluded: map[string]string{"b": "the oldest member's setting wins, so Ingress shop/b, the newer, is excluded"}},
		{name: "conflict: the oldest wins whatever the group order",
			members: []*networkingv1.Ingress{newer("a", ingAnn(annotations.IngScheme, "internet-facing")),
				old("z", ingAnn(annotations.IngScheme, "internal"))},
			wantServed:   []string{"z"},
			wantExcluded: map[string]string{"a": "Ingress shop/a, the newer, is excluded"}},
		{name: "conflicting inbound-cidrs on one port",
			members: []*networkingv1.Ingress{old("a", ingAnn(annotations.IngInboundCIDRs, "10.0.0.0/8")),
				newer("b", ingAnn(annotations.IngInboundCIDRs, "0.0.0.0/0"))},
			wantServed:   []string{"a"},
			wantExcluded: map[string]string{"b": annotations.IngInboundCIDRs}},
		{name: "a member's own problem is dealt with before conflicts",
			members: []*networkingv1.Ingress{old("a", ingAnn(annotations.IngScheme, "internal")),
				newer("b", ingAnn(annotations.IngScheme, "internet-facing")),
				newer("c", ingAnn(annotations.IngScheme, "internet-facing", annotations.IngTargetType, "pod"))},
			wantServed:   []string{"a"},
			wantExcluded: map[string]string{"b": "the newer, is excluded", "c": annotations.IngTargetType}},
		{name: "every member excluded",
			members:      []*networkingv1.Ingress{old("a", ingAnn("alb.ingress.kubernetes.io/wafv2-acl-arn", "arn:x"))},
			wantExcluded: map[string]string{"a": "wafv2-acl-arn"}},
		{name: "a limit of the whole group is the group's",
			members:   []*networkingv1.Ingress{old("a"), newer("b")},
			wantGroup: "listener rules"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testSettings()
			if tt.wantGroup != "" {
				// 101 rules exceed an ALB's limit: no member alone causes it.
				for i := range tt.members {
					var paths []networkingv1.HTTPIngressPath
					for p := 0; p < 51; p++ {
						paths = append(paths, prefixPath("/"+tt.members[i].Name+"/"+strings.Repeat("x", p+1), svcBackend("web", 80)))
					}
					tt.members[i].Spec.Rules = []networkingv1.IngressRule{httpRule("", paths...)}
				}
			}
			got := BuildIngressGroupMembers(teamGroup, asMembers(tt.members...), s, defaultFacts())
			if tt.wantGroup != "" {
				if len(got.Problems) == 0 || !strings.Contains(got.Problems[0].Error(), tt.wantGroup) || got.Stack != nil || len(got.Excluded) != 0 {
					t.Fatalf("want the group's own problem and no exclusion, got %+v", got)
				}
				return
			}
			if len(got.Problems) > 0 {
				t.Fatalf("group problems %v", got.Problems)
			}
			excluded := map[string]string{}
			for _, x := range got.Excluded {
				var msgs []string
				for _, p := range x.Problems {
					msgs = append(msgs, p.Error())
				}
				excluded[x.Ingress.Name] = strings.Join(msgs, "; ")
			}
			for name, want := range tt.wantExcluded {
				if !strings.Contains(excluded[name], want) {
					t.Errorf("excluded %s: %q, want it to contain %q", name, excluded[name], want)
				}
			}
			if len(excluded) != len(tt.wantExcluded) {
				t.Errorf("excluded %v, want %v", excluded, tt.wantExcluded)
			}
			if len(tt.wantServed) == 0 {
				if got.Stack != nil {
					t.Errorf("a stack without members")
				}
				return
			}
			if got.Stack == nil {
				t.Fatal("no stack")
			}
			var served []string
			for _, l := range got.Stack.Listeners {
				for _, r := range l.Rules {
					served = append(served, strings.TrimPrefix(strings.TrimSuffix(r.Paths[0], "/*"), "/"))
				}
			}
			slices.Sort(served)
			served = slices.Compact(served)
			if !slices.Equal(served, tt.wantServed) {
				t.Errorf("served %v, want %v", served, tt.wantServed)
			}
		})
	}
}

// TestGroupHolders: only evidence no tenant can write keeps a group without members.
func TestGroupHolders(t *testing.T) {
	a := testIngress("a", inGroup("team"))
	b := testIngress("evil", inNamespace("team-b"), inGroup("team"))
	tgOf := func(ing *networkingv1.Ingress) string {
		return naming.IngressTargetGroupResourceID(ing.Namespace, ing.Name, "web", "80")
	}
	implicit := implicitGroup(a)
	tests := []struct {
		name       string
		g          IngressGroupID
		candidates []*networkingv1.Ingress
		exists     bool
		served     []string
		want       []*networkingv1.Ingress
	}{
		{"nothing in AWS: nothing to hold", teamGroup, []*networkingv1.Ingress{a}, false, nil, nil},
		{"implicit group: its Ingress holds it", implicit, []*networkingv1.Ingress{a}, true, nil, []*networkingv1.Ingress{a}},
		{"explicit: an Ingress the load balancer serves", teamGroup, []*networkingv1.Ingress{a, b}, true, []string{tgOf(a)}, []*networkingv1.Ingress{a}},
		{"explicit: an Ingress it never served holds nothing", teamGroup, []*networkingv1.Ingress{b}, true, []string{tgOf(a)}, nil},
		{"explicit: no target group to tell by", teamGroup, []*networkingv1.Ingress{a}, true, nil, []*networkingv1.Ingress{a}},
		{"a name that only starts the same", teamGroup, []*networkingv1.Ingress{a}, true,
			[]string{naming.IngressTargetGroupResourceID("shop", "ab", "web", "80")}, nil},
	}
	for _, tt := range tests {
		got := GroupHolders(tt.g, tt.candidates, tt.exists, tt.served)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: GroupHolders = %v, want %v", tt.name, names(got), names(tt.want))
		}
	}
}

func names(ings []*networkingv1.Ingress) []string {
	var out []string
	for _, i := range ings {
		out = append(out, i.Namespace+"/"+i.Name)
	}
	return out
}
