package controller

import (
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	elbv2api "github.com/lbsg/lbsg/api/v1beta1"
	"github.com/lbsg/lbsg/internal/authz"
	"github.com/lbsg/lbsg/internal/spec"
)

// TestIngressGroupsTenancy sorts two tenants' Ingresses into groups: who is a member, who
// is excluded (and whether that is the reference policy's denial, which never holds a
// group), and who may freeze it as unresolved.
func TestIngressGroupsTenancy(t *testing.T) {
	str := func(s string) *string { return &s }
	ing := func(ns, name string, created int, class *string, ann map[string]string, finalizers ...string) networkingv1.Ingress {
		return networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: ann, Finalizers: finalizers,
			CreationTimestamp: metav1.NewTime(time.Date(2026, 1, 1, 0, 0, created, 0, time.UTC))},
			Spec: networkingv1.IngressSpec{IngressClassName: class}}
	}
	shop := map[string]string{"alb.ingress.kubernetes.io/group.name": "shop"}
	legacy := map[string]string{"kubernetes.io/ingress.class": "alb", "alb.ingress.kubernetes.io/group.name": "shop"}
	legacyOnly := map[string]string{"kubernetes.io/ingress.class": "alb"}
	class := func(name, params string) networkingv1.IngressClass {
		c := networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: networkingv1.IngressClassSpec{Controller: spec.IngressController}}
		if params != "" {
			c.Spec.Parameters = &networkingv1.IngressClassParametersReference{APIGroup: str("elbv2.k8s.aws"), Kind: "IngressClassParams", Name: params}
		}
		return c
	}
	pinned := elbv2api.IngressClassParams{ObjectMeta: metav1.ObjectMeta{Name: "shop"}, Spec: elbv2api.IngressClassParamsSpec{
		Group:             &elbv2api.IngressGroup{Name: "shop"},
		NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"shop": "yes"}}}}
	selectorOnly := elbv2api.IngressClassParams{ObjectMeta: metav1.ObjectMeta{Name: "team-a-only"}, Spec: elbv2api.IngressClassParamsSpec{
		NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}}}
	namespaces := []corev1.Namespace{
		{ObjectMeta: metav1.ObjectMeta{Name: "team-a", Labels: map[string]string{"team": "a", "shop": "yes"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "team-b", Labels: map[string]string{"team": "b"}}},
	}
	grant := authz.Grant{Namespace: "team-a", From: []authz.GrantFrom{{Group: "networking.k8s.io", Kind: "Ingress", Namespace: "team-b"}},
		To: []authz.GrantTo{{Group: authz.GrantGroup, Kind: authz.GrantKindIngressGroup, Name: "shop"}}}
	albClass := class("alb", "")
	const shopFin = "group.ingress.k8s.aws/shop"
	shopID := spec.IngressGroupID{Name: "shop"}

	tests := []struct {
		name       string
		ingresses  []networkingv1.Ingress
		classes    []networkingv1.IngressClass
		params     []elbv2api.IngressClassParams
		grants     []authz.Grant
		rules      GroupRules
		group      spec.IngressGroupID
		owner      string
		members    []string
		unresolved []string
		denied     []string // excluded by the reference policy
		refused    []string // excluded by their class or the flags
	}{
		{name: "another namespace may not join", group: shopID, owner: "team-a",
			ingresses: []networkingv1.Ingress{ing("team-a", "web", 1, str("alb"), shop), ing("team-b", "evil", 2, str("alb"), shop)},
			classes:   []networkingv1.IngressClass{albClass}, members: []string{"team-a/web"}, denied: []string{"team-b/evil"}},
		{name: "the oldest namespace owns the group", group: shopID, owner: "team-b",
			ingresses: []networkingv1.Ingress{ing("team-a", "web", 3, str("alb"), shop), ing("team-b", "early", 2, str("alb"), shop)},
			classes:   []networkingv1.IngressClass{albClass}, members: []string{"team-b/early"}, denied: []string{"team-a/web"}},
		{name: "the namespace its load balancer serves keeps the group", group: shopID, owner: "team-a",
			rules:     GroupRules{Serving: map[spec.IngressGroupID][]string{shopID: {"team-a"}}},
			ingresses: []networkingv1.Ingress{ing("team-a", "web", 3, str("alb"), shop), ing("team-b", "early", 2, str("alb"), shop)},
			classes:   []networkingv1.IngressClass{albClass}, members: []string{"team-a/web"}, denied: []string{"team-b/early"}},
		{name: "--ingress-group-namespaces=any", group: shopID, owner: "team-a", rules: GroupRules{Policy: authz.Policy{Groups: authz.GroupAnyNamespace}},
			ingresses: []networkingv1.Ingress{ing("team-a", "web", 1, str("alb"), shop), ing("team-b", "evil", 2, str("alb"), shop)},
			classes:   []networkingv1.IngressClass{albClass}, members: []string{"team-a/web", "team-b/evil"}},
		{name: "ReferenceGrant from the owner", group: shopID, owner: "team-a", grants: []authz.Grant{grant},
			ingresses: []networkingv1.Ingress{ing("team-a", "web", 1, str("alb"), shop), ing("team-b", "evil", 2, str("alb"), shop)},
			classes:   []networkingv1.IngressClass{albClass}, members: []string{"team-a/web", "team-b/evil"}},
		{name: "pinned: the namespaceSelector decides; the annotation is refused", group: shopID, owner: "team-a",
			ingresses: []networkingv1.Ingress{ing("team-a", "web", 1, str("alb-shop"), nil), ing("team-a", "side", 2, str("alb"), shop)},
			classes:   []networkingv1.IngressClass{albClass, class("alb-shop", "shop")}, params: []elbv2api.IngressClassParams{pinned},
			members: []string{"team-a/web"}, denied: []string{"team-a/side"}},
		{name: "pinned: a namespace the selector rejects is refused, not a member", group: shopID, owner: "team-a",
			ingresses: []networkingv1.Ingress{ing("team-a", "web", 2, str("alb-shop"), nil), ing("team-b", "evil", 1, str("alb-shop"), nil, shopFin)},
			classes:   []networkingv1.IngressClass{class("alb-shop", "shop")}, params: []elbv2api.IngressClassParams{pinned},
			members: []string{"team-a/web"}, refused: []string{"team-b/evil"}},
		{name: "the legacy annotation gets the class's parameters", group: shopID, owner: "team-a",
			ingresses: []networkingv1.Ingress{ing("team-a", "web", 2, str("alb"), nil), ing("team-b", "evil", 1, nil, legacyOnly)},
			classes:   []networkingv1.IngressClass{class("alb", "shop")}, params: []elbv2api.IngressClassParams{pinned},
			members: []string{"team-a/web"}, refused: []string{"team-b/evil"}},
		{name: "the legacy annotation cannot join a pinned group by name", group: shopID, owner: "team-a",
			ingresses: []networkingv1.Ingress{ing("team-a", "web", 2, str("alb-shop"), nil), ing("team-a", "side", 3, nil, legacy)},
			classes:   []networkingv1.IngressClass{class("alb-shop", "shop")}, params: []elbv2api.IngressClassParams{pinned},
			members: []string{"team-a/web"}, denied: []string{"team-a/side"}},
		{name: "a class's selector refuses its namespace: excluded from the group it asks for", group: shopID, owner: "team-a",
			ingresses: []networkingv1.Ingress{ing("team-a", "web", 2, str("alb"), shop), ing("team-b", "evil", 1, str("alb-a"), shop)},
			classes:   []networkingv1.IngressClass{albClass, class("alb-a", "team-a-only")}, params: []elbv2api.IngressClassParams{selectorOnly},
			members: []string{"team-a/web"}, refused: []string{"team-b/evil"}},
		{name: "another namespace's unresolved Ingress does not freeze the group", group: shopID, owner: "team-a",
			ingresses: []networkingv1.Ingress{ing("team-a", "web", 1, str("alb"), shop), ing("team-b", "evil", 2, str("gone"), shop, shopFin)},
			classes:   []networkingv1.IngressClass{albClass}, members: []string{"team-a/web"}, denied: []string{"team-b/evil"}},
		{name: "the owner's unresolved Ingress freezes it", group: shopID, owner: "team-a",
			ingresses: []networkingv1.Ingress{ing("team-a", "web", 1, str("gone"), shop, shopFin), ing("team-a", "api", 2, str("alb"), shop)},
			classes:   []networkingv1.IngressClass{albClass}, members: []string{"team-a/api"}, unresolved: []string{"team-a/web"}},
		{name: "--disable-ingress-group-name-annotation", group: shopID, rules: GroupRules{Classes: spec.ClassRules{DisableGroupNameAnnotation: true}},
			ingresses: []networkingv1.Ingress{ing("team-a", "web", 1, str("alb"), shop, shopFin)},
			classes:   []networkingv1.IngressClass{albClass}, refused: []string{"team-a/web"}},
		{name: "--disable-ingress-class-annotation", group: spec.IngressGroupID{Namespace: "team-a", Name: "web"},
			rules:     GroupRules{Classes: spec.ClassRules{DisableClassAnnotation: true}},
			ingresses: []networkingv1.Ingress{ing("team-a", "web", 1, nil, legacyOnly)}, refused: []string{"team-a/web"}},
	}
	keys := func(ings []*networkingv1.Ingress) []string {
		var out []string
		for _, i := range ings {
			out = append(out, i.Namespace+"/"+i.Name)
		}
		slices.Sort(out)
		return out
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := ClusterObjects{Ingresses: tt.ingresses, Classes: tt.classes, Params: tt.params, Namespaces: namespaces, Grants: tt.grants}
			g := IngressGroups(objs, tt.rules)[tt.group]
			if g == nil {
				t.Fatalf("no group %s", tt.group.String())
			}
			var members, unresolved, denied, refused []*networkingv1.Ingress
			for _, m := range g.Members {
				members = append(members, m.Ingress)
			}
			for _, u := range g.Unresolved {
				unresolved = append(unresolved, u.Ingress)
			}
			for _, x := range g.Excluded {
				if x.Denied {
					denied = append(denied, x.Ingress)
				} else {
					refused = append(refused, x.Ingress)
				}
				if msg := x.Problem.Error(); !strings.Contains(msg, "fix: ") {
					t.Errorf("exclusion of %s says no fix: %s", x.Ingress.Name, msg)
				}
			}
			for what, got := range map[string][]string{"members": keys(members), "unresolved": keys(unresolved), "denied": keys(denied), "refused": keys(refused)} {
				want := map[string][]string{"members": tt.members, "unresolved": tt.unresolved, "denied": tt.denied, "refused": tt.refused}[what]
				if !slices.Equal(got, want) {
					t.Errorf("%s = %v, want %v", what, got, want)
				}
			}
			if g.Owner != tt.owner {
				t.Errorf("owner = %q, want %q", g.Owner, tt.owner)
			}
		})
	}
}

// A denial names the group, its owner namespace and the ReferenceGrant that would allow it.
func TestIngressGroupsDenialMessage(t *testing.T) {
	alb := "alb"
	objs := ClusterObjects{Classes: []networkingv1.IngressClass{{ObjectMeta: metav1.ObjectMeta{Name: "alb"}, Spec: networkingv1.IngressClassSpec{Controller: spec.IngressController}}}}
	for i, ns := range []string{"team-a", "team-b"} {
		objs.Ingresses = append(objs.Ingresses, networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web",
			Annotations:       map[string]string{"alb.ingress.kubernetes.io/group.name": "shop"},
			CreationTimestamp: metav1.NewTime(time.Unix(int64(i), 0))}, Spec: networkingv1.IngressSpec{IngressClassName: &alb}})
	}
	g := IngressGroups(objs, GroupRules{})[spec.IngressGroupID{Name: "shop"}]
	if len(g.Excluded) != 1 {
		t.Fatalf("excluded %v", g.Excluded)
	}
	msg := g.Excluded[0].Problem.Error()
	for _, want := range []string{"alb.ingress.kubernetes.io/group.name", `"shop"`, "belongs to namespace team-a", "ReferenceGrant", "namespace team-b"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q lacks %q", msg, want)
		}
	}
	if g.Excluded[0].Reason != EventReferenceDenied {
		t.Errorf("reason %s", g.Excluded[0].Reason)
	}
}
