package controller

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	elbv2api "github.com/lbsg/lbsg/api/v1beta1"
	"github.com/lbsg/lbsg/internal/spec"
)

// TestIngressGroupsNeverReleaseOnMissingClass guards case 5 of issue 6 below the
// reconciler: an Ingress holding lbsg's finalizer is released (and its load balancer
// deleted) only when it is deleted or names, explicitly, a class that exists and is
// someone else's. Whatever is missing keeps it in its group as unresolved.
func TestIngressGroupsNeverReleaseOnMissingClass(t *testing.T) {
	str := func(s string) *string { return &s }
	class := func(name, controller, params string, isDefault bool) networkingv1.IngressClass {
		c := networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: networkingv1.IngressClassSpec{Controller: controller}}
		if params != "" {
			c.Spec.Parameters = &networkingv1.IngressClassParametersReference{APIGroup: str("elbv2.k8s.aws"), Kind: "IngressClassParams", Name: params}
		}
		if isDefault {
			c.Annotations = map[string]string{"ingressclass.kubernetes.io/is-default-class": "true"}
		}
		return c
	}
	alb := class("alb", "ingress.k8s.aws/alb", "", false)
	nginx := class("nginx", "k8s.io/ingress-nginx", "", false)
	albParams := class("alb-team", "ingress.k8s.aws/alb", "team", false)
	teamParams := elbv2api.IngressClassParams{ObjectMeta: metav1.ObjectMeta{Name: "team"},
		Spec: elbv2api.IngressClassParamsSpec{Group: &elbv2api.IngressGroup{Name: "team"}}}
	implicit := spec.IngressGroupID{Namespace: "default", Name: "web"}
	team := spec.IngressGroupID{Name: "team"}
	ing := func(className *string, ann map[string]string, finalizer string, deleted bool) networkingv1.Ingress {
		i := networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web", Annotations: ann},
			Spec: networkingv1.IngressSpec{IngressClassName: className}}
		if finalizer != "" {
			i.Finalizers = []string{finalizer}
		}
		if deleted {
			now := metav1.Now()
			i.DeletionTimestamp = &now
		}
		return i
	}
	const implicitFin, teamFin = "ingress.k8s.aws/resources", "group.ingress.k8s.aws/team"
	cases := []struct {
		name    string
		ing     networkingv1.Ingress
		classes []networkingv1.IngressClass
		params  []elbv2api.IngressClassParams
		group   spec.IngressGroupID
		want    string // member, unresolved, leaving, none
		problem string // in the unresolved problem
	}{
		{"class exists", ing(str("alb"), nil, implicitFin, false), []networkingv1.IngressClass{alb}, nil, implicit, "member", ""},
		{"class deleted", ing(str("alb"), nil, implicitFin, false), nil, nil, implicit, "unresolved",
			"IngressClass alb does not exist"},
		{"class deleted, no finalizer yet", ing(str("alb"), nil, "", false), nil, nil, implicit, "none", ""},
		{"params deleted: the group they set is kept", ing(str("alb-team"), nil, teamFin, false), []networkingv1.IngressClass{albParams}, nil, team, "unresolved",
			"IngressClassParams team, which does not exist"},
		{"params exist", ing(str("alb-team"), nil, teamFin, false), []networkingv1.IngressClass{albParams}, []elbv2api.IngressClassParams{teamParams}, team, "member", ""},
		{"empty legacy annotation", ing(nil, map[string]string{"kubernetes.io/ingress.class": ""}, implicitFin, false), nil, nil, implicit, "unresolved",
			"kubernetes.io/ingress.class"},
		{"no class name, no default class", ing(nil, nil, implicitFin, false), nil, nil, implicit, "unresolved", "no default IngressClass"},
		{"no class name, default class is someone else's", ing(nil, nil, implicitFin, false),
			[]networkingv1.IngressClass{class("nginx", "k8s.io/ingress-nginx", "", true)}, nil, implicit, "unresolved", "default IngressClass nginx"},
		{"explicit move to an existing class", ing(str("nginx"), nil, implicitFin, false), []networkingv1.IngressClass{nginx}, nil, implicit, "leaving", ""},
		{"explicit move by legacy annotation", ing(str("alb"), map[string]string{"kubernetes.io/ingress.class": "nginx"}, implicitFin, false), nil, nil, implicit, "leaving", ""},
		{"deleted while its class is missing", ing(str("alb"), nil, implicitFin, true), nil, nil, implicit, "leaving", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			objs := ClusterObjects{Ingresses: []networkingv1.Ingress{tc.ing}, Classes: tc.classes, Params: tc.params,
				Namespaces: []corev1.Namespace{{ObjectMeta: metav1.ObjectMeta{Name: "default"}}}}
			groups := IngressGroups(objs, GroupRules{})
			got := "none"
			var problem string
			if g := groups[tc.group]; g != nil {
				switch {
				case len(g.Members) == 1:
					got = "member"
				case len(g.Unresolved) == 1:
					got, problem = "unresolved", g.Unresolved[0].Problem.Error()
				case len(g.Leaving) == 1:
					got = "leaving"
				}
			}
			if got != tc.want {
				t.Fatalf("Ingress is %s in group %s, want %s (groups: %v)", got, tc.group.String(), tc.want, groups)
			}
			if tc.want == "unresolved" && !strings.Contains(problem, tc.problem) {
				t.Errorf("problem %q does not contain %q", problem, tc.problem)
			}
			for id, g := range groups {
				if id != tc.group && len(g.Members)+len(g.Unresolved)+len(g.Leaving) > 0 {
					t.Errorf("Ingress also in group %s", id.String())
				}
			}
		})
	}
}

// A Service holding lbsg's finalizer is let go only on an explicit move or its deletion.
func TestServiceReleaseProblem(t *testing.T) {
	const typeKey = "service.beta.kubernetes.io/aws-load-balancer-type"
	lbClass := "example.com/other"
	now := metav1.Now()
	svc := func(typ corev1.ServiceType, ann map[string]string) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web", Annotations: ann},
			Spec: corev1.ServiceSpec{Type: typ}}
	}
	cases := []struct {
		name string
		svc  *corev1.Service
		keep bool
	}{
		{"type annotation removed (in-tree)", svc(corev1.ServiceTypeLoadBalancer, nil), false},
		{"in-tree nlb", svc(corev1.ServiceTypeLoadBalancer, map[string]string{typeKey: "nlb"}), false},
		{"no longer a LoadBalancer", svc(corev1.ServiceTypeClusterIP, map[string]string{typeKey: "externl"}), false},
		{"typo", svc(corev1.ServiceTypeLoadBalancer, map[string]string{typeKey: "externl"}), true},
		{"empty", svc(corev1.ServiceTypeLoadBalancer, map[string]string{typeKey: ""}), true},
		{"wrong case", svc(corev1.ServiceTypeLoadBalancer, map[string]string{typeKey: "External"}), true},
		{"another loadBalancerClass", func() *corev1.Service {
			s := svc(corev1.ServiceTypeLoadBalancer, map[string]string{typeKey: "externl"})
			s.Spec.LoadBalancerClass = &lbClass
			return s
		}(), false},
		{"deleted", func() *corev1.Service {
			s := svc(corev1.ServiceTypeLoadBalancer, map[string]string{typeKey: "externl"})
			s.DeletionTimestamp = &now
			return s
		}(), false},
	}
	for _, tc := range cases {
		p := serviceReleaseProblem(tc.svc)
		if (p != nil) != tc.keep {
			t.Errorf("%s: problem = %v, want kept = %v", tc.name, p, tc.keep)
		}
		if p != nil && !strings.Contains(p.Error(), typeKey) {
			t.Errorf("%s: %q does not name the key", tc.name, p.Error())
		}
	}
}
