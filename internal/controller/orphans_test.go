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
	"github.com/lbsg/lbsg/internal/annotations"
	"github.com/lbsg/lbsg/internal/cloud"
	"github.com/lbsg/lbsg/internal/naming"
	"github.com/lbsg/lbsg/internal/spec"
	"github.com/lbsg/lbsg/internal/state"
)

// orphanFixture is AWS with one stack, for the orphan table.
type orphanFixture struct {
	inv  orphanInventory
	stck string // its stack ID
}

func serviceStackInAWS(ns, name string) orphanFixture {
	id := ns + "/" + name
	t := func(resource string) map[string]string {
		return map[string]string{naming.TagCluster: netCluster, naming.ServiceStackTag: id, naming.ServiceResourceTag: resource}
	}
	return orphanFixture{stck: id, inv: orphanInventory{
		lbs: []state.LoadBalancer{{ARN: "arn:lb/" + id, Name: "k8s-" + name, Type: "network", DNSName: name + ".elb", Tags: t(naming.LoadBalancerResourceID)}},
		tgs: []state.TargetGroup{{ARN: "arn:tg/" + id, Name: "k8s-tg-" + name, Tags: t(id + ":80")}},
		sgs: []cloud.SecurityGroup{{ID: "sg-" + name, Name: naming.ServiceSGName(netCluster, ns, name, "old-uid"), Tags: t(naming.ManagedSGResourceID)}},
	}}
}

// groupStackInAWS is an Ingress group's stack: explicit when ns is "".
func groupStackInAWS(ns, name string) orphanFixture {
	id, sgName := name, naming.IngressGroupSGName(netCluster, name)
	if ns != "" {
		id, sgName = ns+"/"+name, naming.IngressSGName(netCluster, ns, name)
	}
	t := func(resource string) map[string]string {
		return map[string]string{naming.TagCluster: netCluster, naming.IngressStackTag: id, naming.IngressResourceTag: resource}
	}
	return orphanFixture{stck: id, inv: orphanInventory{
		lbs: []state.LoadBalancer{{ARN: "arn:lb/" + id, Name: "k8s-" + name, Type: "application", DNSName: name + ".alb", Tags: t(naming.LoadBalancerResourceID)}},
		tgs: []state.TargetGroup{{ARN: "arn:tg/" + id, Name: "k8s-tg-" + name, Tags: t("team-a/svc:80")}},
		sgs: []cloud.SecurityGroup{{ID: "sg-" + name, Name: sgName, Tags: t(naming.ManagedSGResourceID)}},
	}}
}

// TestOrphanStacks is the orphan decision over Kubernetes objects and AWS resources: a
// stack is collected only when its object is gone or explicitly moved away; configuration
// lbsg cannot find (an IngressClass, its IngressClassParams, an invalid type value) never
// makes one.
func TestOrphanStacks(t *testing.T) {
	str := func(s string) *string { return &s }
	now := metav1.Now()
	nlbClass := "service.k8s.aws/nlb"
	svc := func(name string, f func(*corev1.Service)) corev1.Service {
		s := corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: name},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, LoadBalancerClass: &nlbClass}}
		if f != nil {
			f(&s)
		}
		return s
	}
	ing := func(name string, f func(*networkingv1.Ingress)) networkingv1.Ingress {
		i := networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: name}, Spec: networkingv1.IngressSpec{IngressClassName: str("alb")}}
		if f != nil {
			f(&i)
		}
		return i
	}
	alb := networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "alb"}, Spec: networkingv1.IngressClassSpec{Controller: "ingress.k8s.aws/alb"}}
	nginx := networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "nginx"}, Spec: networkingv1.IngressClassSpec{Controller: "k8s.io/ingress-nginx"}}
	pinned := networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "alb-shop"}, Spec: networkingv1.IngressClassSpec{Controller: "ingress.k8s.aws/alb",
		Parameters: &networkingv1.IngressClassParametersReference{APIGroup: str("elbv2.k8s.aws"), Kind: "IngressClassParams", Name: "shop"}}}
	shopParams := elbv2api.IngressClassParams{ObjectMeta: metav1.ObjectMeta{Name: "shop"},
		Spec: elbv2api.IngressClassParamsSpec{Group: &elbv2api.IngressGroup{Name: "shop"}}}
	tests := []struct {
		name    string
		aws     orphanFixture
		objs    ClusterObjects
		want    bool   // an orphan
		because string // in its reason
		kept    string // a resource that must not be collected
	}{
		{name: "Service deleted", aws: serviceStackInAWS("team-a", "web"), want: true, because: "Service team-a/web no longer exists"},
		{name: "Service of lbsg", aws: serviceStackInAWS("team-a", "web"), objs: ClusterObjects{Services: []corev1.Service{svc("web", nil)}}},
		{name: "Service switched to ClusterIP without the finalizer", aws: serviceStackInAWS("team-a", "web"), want: true, because: "of type ClusterIP",
			objs: ClusterObjects{Services: []corev1.Service{svc("web", func(s *corev1.Service) { s.Spec.Type, s.Spec.LoadBalancerClass = corev1.ServiceTypeClusterIP, nil })}}},
		{name: "Service switched to ClusterIP, its reconciler holds the finalizer", aws: serviceStackInAWS("team-a", "web"),
			objs: ClusterObjects{Services: []corev1.Service{svc("web", func(s *corev1.Service) {
				s.Spec.Type, s.Spec.LoadBalancerClass, s.Finalizers = corev1.ServiceTypeClusterIP, nil, []string{naming.ServiceFinalizer}
			})}}},
		{name: "Service of another loadBalancerClass", aws: serviceStackInAWS("team-a", "web"), want: true, because: "loadBalancerClass example.com/lb",
			objs: ClusterObjects{Services: []corev1.Service{svc("web", func(s *corev1.Service) { s.Spec.LoadBalancerClass = str("example.com/lb") })}}},
		{name: "Service with an invalid type value is kept", aws: serviceStackInAWS("team-a", "web"),
			objs: ClusterObjects{Services: []corev1.Service{svc("web", func(s *corev1.Service) {
				s.Spec.LoadBalancerClass = nil
				s.Annotations = map[string]string{"service.beta.kubernetes.io/aws-load-balancer-type": "nlb-typo"}
			})}}},
		{name: "Service handed to the in-tree provider", aws: serviceStackInAWS("team-a", "web"), want: true, because: "in-tree",
			objs: ClusterObjects{Services: []corev1.Service{svc("web", func(s *corev1.Service) { s.Spec.LoadBalancerClass = nil })}}},
		{name: "Service being deleted, held by another finalizer only", aws: serviceStackInAWS("team-a", "web"), want: true, because: "being deleted",
			objs: ClusterObjects{Services: []corev1.Service{svc("web", func(s *corev1.Service) {
				s.DeletionTimestamp, s.Finalizers = &now, []string{"example.com/hold"}
			})}}},
		{name: "a Service of the same name in another namespace", aws: serviceStackInAWS("team-a", "web"), want: true,
			objs: ClusterObjects{Services: []corev1.Service{func() corev1.Service { s := svc("web", nil); s.Namespace = "team-b"; return s }()}}},
		{name: "a target group a TargetGroupBinding names", aws: serviceStackInAWS("team-a", "web"), want: true, kept: "arn:tg/team-a/web",
			objs: ClusterObjects{Bindings: []elbv2api.TargetGroupBinding{{ObjectMeta: metav1.ObjectMeta{Namespace: "team-b", Name: "b"},
				Spec: elbv2api.TargetGroupBindingSpec{TargetGroupARN: "arn:tg/team-a/web"}}}}},

		{name: "Ingress deleted", aws: groupStackInAWS("team-a", "shop"), want: true, because: "Ingress team-a/shop no longer exists"},
		{name: "Ingress of lbsg", aws: groupStackInAWS("team-a", "shop"),
			objs: ClusterObjects{Ingresses: []networkingv1.Ingress{ing("shop", nil)}, Classes: []networkingv1.IngressClass{alb}}},
		{name: "Ingress whose IngressClass is missing, without finalizer, is never an orphan", aws: groupStackInAWS("team-a", "shop"),
			objs: ClusterObjects{Ingresses: []networkingv1.Ingress{ing("shop", nil)}}},
		{name: "Ingress whose IngressClass is missing, with its finalizer", aws: groupStackInAWS("team-a", "shop"),
			objs: ClusterObjects{Ingresses: []networkingv1.Ingress{ing("shop", func(i *networkingv1.Ingress) { i.Finalizers = []string{naming.IngressFinalizer} })}}},
		{name: "Ingress moved to another controller's class", aws: groupStackInAWS("team-a", "shop"), want: true, because: "Ingress team-a/shop names the IngressClass of another controller",
			objs: ClusterObjects{Ingresses: []networkingv1.Ingress{ing("shop", func(i *networkingv1.Ingress) { i.Spec.IngressClassName = str("nginx") })},
				Classes: []networkingv1.IngressClass{alb, nginx}}},
		{name: "explicit group with a member", aws: groupStackInAWS("", "shop"),
			objs: ClusterObjects{Ingresses: []networkingv1.Ingress{ing("front", func(i *networkingv1.Ingress) {
				i.Annotations = map[string]string{"alb.ingress.kubernetes.io/group.name": "shop"}
			})}, Classes: []networkingv1.IngressClass{alb}}},
		{name: "explicit group nothing names", aws: groupStackInAWS("", "shop"), want: true, because: "no Ingress is a member of Ingress group shop or holds its finalizer",
			objs: ClusterObjects{Ingresses: []networkingv1.Ingress{ing("front", nil)}, Classes: []networkingv1.IngressClass{alb}}},
		{name: "explicit group whose finalizer an Ingress that left still holds", aws: groupStackInAWS("", "shop"),
			objs: ClusterObjects{Ingresses: []networkingv1.Ingress{ing("front", func(i *networkingv1.Ingress) {
				i.Spec.IngressClassName, i.Finalizers = str("nginx"), []string{naming.IngressGroupFinalizer("shop")}
			})}, Classes: []networkingv1.IngressClass{alb, nginx}}},
		{name: "explicit group named by an Ingress whose class is missing", aws: groupStackInAWS("", "shop"),
			objs: ClusterObjects{Ingresses: []networkingv1.Ingress{ing("front", func(i *networkingv1.Ingress) {
				i.Annotations = map[string]string{"alb.ingress.kubernetes.io/group.name": "shop"}
			})}}},
		{name: "explicit group pinned by IngressClassParams that are missing", aws: groupStackInAWS("", "shop"),
			objs: ClusterObjects{Ingresses: []networkingv1.Ingress{ing("front", func(i *networkingv1.Ingress) { i.Spec.IngressClassName = str("alb-shop") })},
				Classes: []networkingv1.IngressClass{pinned}}},
		{name: "explicit group pinned by IngressClassParams that exist", aws: groupStackInAWS("", "shop"),
			objs: ClusterObjects{Ingresses: []networkingv1.Ingress{ing("front", func(i *networkingv1.Ingress) { i.Spec.IngressClassName = str("alb-shop") })},
				Classes: []networkingv1.IngressClass{pinned}, Params: []elbv2api.IngressClassParams{shopParams}}},
		{name: "explicit group whose member's class went missing shows its load balancer", aws: groupStackInAWS("", "shop"),
			objs: ClusterObjects{Ingresses: []networkingv1.Ingress{ing("front", func(i *networkingv1.Ingress) {
				i.Spec.IngressClassName = str("alb-shop")
				i.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{Hostname: "shop.alb"}}
			})}}},
	}
	e := &Engine{Settings: spec.Settings{Cluster: netCluster, LoadBalancerClass: nlbClass}, EC2: cloud.NewObserverFromAPI(cloud.NewFakeEC2(), "", nil)}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := e.orphans(tc.objs, tc.aws.inv)
			if !tc.want {
				if len(got) != 0 {
					t.Fatalf("orphans = %+v, want none", got)
				}
				return
			}
			if len(got) != 1 || got[0].Stack.ID != tc.aws.stck {
				t.Fatalf("orphans = %+v, want stack %s", got, tc.aws.stck)
			}
			if !strings.Contains(got[0].Reason, tc.because) {
				t.Errorf("reason %q lacks %q", got[0].Reason, tc.because)
			}
			o := got[0].Observed
			n := len(o.LoadBalancers) + len(o.TargetGroups) + len(o.ManagedSGs)
			want := 3
			if tc.kept != "" {
				want = 2
				if slices.ContainsFunc(o.TargetGroups, func(tg state.TargetGroup) bool { return tg.ARN == tc.kept }) {
					t.Errorf("%s is to be collected", tc.kept)
				}
			}
			if n != want {
				t.Errorf("collects %d resources (%+v), want %d", n, o, want)
			}
		})
	}
}

// TestOrphanClaimsOfAnotherNamespace guards case 8 across tenants. Team-a's explicit
// group shop leaked: its load balancer serves team-a (its target groups were made for
// team-a's Ingresses) and no Ingress is a member. Everything a tenant writes, and
// configuration lbsg cannot find, holds the stack when it is team-a's (absence of
// configuration never deletes), and never when it is team-b's: an Ingress that names the
// group while its IngressClass is missing, one its class or the flags refuse, one that
// carries the group's finalizer, one whose status shows the load balancer, one whose
// IngressClassParams are missing.
func TestOrphanClaimsOfAnotherNamespace(t *testing.T) {
	str := func(s string) *string { return &s }
	now := metav1.Now()
	alb := networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "alb"}, Spec: networkingv1.IngressClassSpec{Controller: "ingress.k8s.aws/alb"}}
	nginx := networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "nginx"}, Spec: networkingv1.IngressClassSpec{Controller: "k8s.io/ingress-nginx"}}
	pinned := networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "alb-shop"}, Spec: networkingv1.IngressClassSpec{Controller: "ingress.k8s.aws/alb",
		Parameters: &networkingv1.IngressClassParametersReference{APIGroup: str("elbv2.k8s.aws"), Kind: "IngressClassParams", Name: "shop"}}}
	selective := elbv2api.IngressClassParams{ObjectMeta: metav1.ObjectMeta{Name: "shop"}, Spec: elbv2api.IngressClassParamsSpec{
		Group: &elbv2api.IngressGroup{Name: "shop"}, NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"shop": "yes"}}}}
	namespaces := []corev1.Namespace{{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}}, {ObjectMeta: metav1.ObjectMeta{Name: "team-b"}}}
	ing := func(ns string, f func(*networkingv1.Ingress)) networkingv1.Ingress {
		i := networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "squat"}, Spec: networkingv1.IngressSpec{IngressClassName: str("alb")}}
		f(&i)
		return i
	}
	namesShop := func(i *networkingv1.Ingress) { i.Annotations = map[string]string{annotations.IngGroupName: "shop"} }
	tests := []struct {
		name  string
		rules spec.ClassRules
		objs  func(ns string) ClusterObjects
	}{
		{name: "names the group while its IngressClass is missing", objs: func(ns string) ClusterObjects {
			return ClusterObjects{Ingresses: []networkingv1.Ingress{ing(ns, namesShop)}}
		}},
		{name: "names the group, refused by the namespaceSelector of its class", objs: func(ns string) ClusterObjects {
			return ClusterObjects{Ingresses: []networkingv1.Ingress{ing(ns, func(i *networkingv1.Ingress) { i.Spec.IngressClassName = str("alb-shop") })},
				Classes: []networkingv1.IngressClass{pinned}, Params: []elbv2api.IngressClassParams{selective}, Namespaces: namespaces}
		}},
		{name: "names the group, refused by --disable-ingress-group-name-annotation", rules: spec.ClassRules{DisableGroupNameAnnotation: true},
			objs: func(ns string) ClusterObjects {
				return ClusterObjects{Ingresses: []networkingv1.Ingress{ing(ns, namesShop)}, Classes: []networkingv1.IngressClass{alb}}
			}},
		{name: "holds the group's finalizer while its IngressClass is missing", objs: func(ns string) ClusterObjects {
			return ClusterObjects{Ingresses: []networkingv1.Ingress{ing(ns, func(i *networkingv1.Ingress) {
				i.Finalizers = []string{naming.IngressGroupFinalizer("shop")}
			})}}
		}},
		{name: "holds the group's finalizer under another controller's class", objs: func(ns string) ClusterObjects {
			return ClusterObjects{Ingresses: []networkingv1.Ingress{ing(ns, func(i *networkingv1.Ingress) {
				i.Spec.IngressClassName, i.Finalizers = str("nginx"), []string{naming.IngressGroupFinalizer("shop")}
			})}, Classes: []networkingv1.IngressClass{alb, nginx}}
		}},
		{name: "holds the group's finalizer while being deleted", objs: func(ns string) ClusterObjects {
			return ClusterObjects{Ingresses: []networkingv1.Ingress{ing(ns, func(i *networkingv1.Ingress) {
				i.DeletionTimestamp, i.Finalizers = &now, []string{naming.IngressGroupFinalizer("shop")}
			})}, Classes: []networkingv1.IngressClass{alb}}
		}},
		{name: "shows the load balancer in its status while its IngressClass is missing", objs: func(ns string) ClusterObjects {
			return ClusterObjects{Ingresses: []networkingv1.Ingress{ing(ns, func(i *networkingv1.Ingress) {
				i.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{Hostname: "shop.alb"}}
			})}}
		}},
		{name: "its IngressClassParams are missing", objs: func(ns string) ClusterObjects {
			return ClusterObjects{Ingresses: []networkingv1.Ingress{ing(ns, func(i *networkingv1.Ingress) { i.Spec.IngressClassName = str("alb-shop") })},
				Classes: []networkingv1.IngressClass{pinned}}
		}},
	}
	for _, tc := range tests {
		for _, ns := range []string{"team-b", "team-a"} {
			t.Run(tc.name+"/"+ns, func(t *testing.T) {
				e := &Engine{Settings: spec.Settings{Cluster: netCluster}, Classes: tc.rules, EC2: cloud.NewObserverFromAPI(cloud.NewFakeEC2(), "", nil)}
				aws := groupStackInAWS("", "shop")
				got, _ := e.orphans(tc.objs(ns), aws.inv)
				if ns == "team-a" {
					if len(got) != 0 {
						t.Fatalf("orphans = %+v; the load balancer serves team-a, whose Ingress holds it", got)
					}
					return
				}
				if len(got) != 1 || got[0].Stack.ID != "shop" || got[0].Suspected {
					t.Fatalf("orphans = %+v, want stack shop", got)
				}
				if want := "Ingress team-b/squat asks for it but does not hold it"; !strings.Contains(got[0].Reason, want) {
					t.Errorf("reason %q lacks %q", got[0].Reason, want)
				}
				if o := got[0].Observed; len(o.LoadBalancers) != 1 || len(o.TargetGroups) != 1 || len(o.ManagedSGs) != 1 {
					t.Errorf("collects %+v, want the load balancer, its target group and its SG", o)
				}
			})
		}
	}
}

// TestOrphanClaimOfTheServedNamespaceDenied: the owner of a group is decided here without
// the namespaces its load balancer serves, so team-b's older claim (a forged finalizer on
// an Ingress whose class is missing) is preferred and team-a's live member is denied;
// team-a's Ingress, which the load balancer serves, still holds the stack, as its
// reconciler (which knows whom the load balancer serves) keeps it a member.
func TestOrphanClaimOfTheServedNamespaceDenied(t *testing.T) {
	old := metav1.NewTime(time.Now().Add(-time.Hour))
	str := func(s string) *string { return &s }
	squat := networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "team-b", Name: "squat", CreationTimestamp: old,
		Annotations: map[string]string{annotations.IngGroupName: "shop"}, Finalizers: []string{naming.IngressGroupFinalizer("shop")}},
		Spec: networkingv1.IngressSpec{IngressClassName: str("gone")}}
	front := networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "front", CreationTimestamp: metav1.Now(),
		Annotations: map[string]string{annotations.IngGroupName: "shop"}, Finalizers: []string{naming.IngressGroupFinalizer("shop")}},
		Spec: networkingv1.IngressSpec{IngressClassName: str("alb")}}
	alb := networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "alb"}, Spec: networkingv1.IngressClassSpec{Controller: "ingress.k8s.aws/alb"}}
	objs := ClusterObjects{Ingresses: []networkingv1.Ingress{squat, front}, Classes: []networkingv1.IngressClass{alb}}
	g := IngressGroups(objs, GroupRules{})[spec.IngressGroupID{Name: "shop"}]
	if g == nil || len(g.Members) != 0 || len(g.Excluded) != 1 || g.Excluded[0].Ingress.Namespace != "team-a" || !g.Excluded[0].Denied {
		t.Fatalf("group = %+v, want team-a's Ingress denied", g)
	}
	e := &Engine{Settings: spec.Settings{Cluster: netCluster}, EC2: cloud.NewObserverFromAPI(cloud.NewFakeEC2(), "", nil)}
	if got, _ := e.orphans(objs, groupStackInAWS("", "shop").inv); len(got) != 0 {
		t.Errorf("orphans = %+v; team-a's Ingress, which the load balancer serves, holds it", got)
	}
}
