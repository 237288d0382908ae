package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	elbv2api "github.com/lbsg/lbsg/api/v1beta1"
	"github.com/lbsg/lbsg/internal/localenv"
)

// Tenant isolation of Ingress groups (issue 15, §1 cases 1, 2, 3 and 11): team-a and team-b
// each own one namespace and write Ingresses and Services there, finalizers included.

const shopFinalizer = "group.ingress.k8s.aws/shop"

// checkShape fails unless the ALB with the DNS name still has the scheme and listeners
// and rules it had.
func (h *harness) checkShape(host, scheme string, shape []string) {
	h.t.Helper()
	gotScheme, gotShape := h.albOfHost(host)
	if gotScheme != scheme || !slices.Equal(gotShape, shape) {
		h.t.Errorf("ALB changed: scheme %s, shape\n%s\nwant scheme %s, shape\n%s", gotScheme, strings.Join(gotShape, "\n"), scheme, strings.Join(shape, "\n"))
	}
}

// waitShape waits until the ALB's listeners and rules contain every want and none of
// notWant.
func (h *harness) waitShape(host string, want, notWant []string) {
	h.t.Helper()
	h.eventually(fmt.Sprintf("ALB rules %v without %v", want, notWant), 30*time.Second, func() string {
		_, shape := h.albOfHost(host)
		all := strings.Join(shape, "\n")
		for _, w := range want {
			if !strings.Contains(all, w) {
				return all
			}
		}
		for _, w := range notWant {
			if strings.Contains(all, w) {
				return all
			}
		}
		return ""
	})
}

// TestIngressGroupOfAnotherNamespaceIsDenied guards case 1: an Ingress in team-b naming
// team-a's group (group.name: shop) was merged into team-a's ALB: its scheme made the ALB
// internet-facing, its listen-ports opened a listener to 0.0.0.0/0, and its rule for
// team-a's host took priority 1. Now the group belongs to team-a (its oldest member's
// namespace): team-b's Ingress is no member, even holding the group's finalizer, which is
// taken off it; it gets a ReferenceDenied Event and a False condition naming the group,
// its owner and the fix; team-a's ALB is untouched and team-a's Ingress stays Ready.
func TestIngressGroupOfAnotherNamespaceIsDenied(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.tenants(nil)
	h.startController()
	h.ensureIngressClass(albClass, "")
	h.create(tenantBackendService(teamA, "shop", 30181))
	h.create(tenantIngress(teamA, "shop", aws.String(albClass), "a.example.com", "/", "shop", map[string]string{ingGroup: "shop"}))
	host := h.tenantHostname(teamA, "shop")
	h.quiesce()
	scheme, shape := h.albOfHost(host)
	if scheme != "internal" {
		t.Fatalf("team-a's ALB is %s, want internal", scheme)
	}

	h.create(tenantBackendService(teamB, "evil", 30182))
	evil := tenantIngress(teamB, "evil", aws.String(albClass), "a.example.com", "/", "evil", map[string]string{
		ingGroup: "shop", ingScheme: internetFacing, ingListenPorts: `[{"HTTP":80},{"HTTP":8080}]`, ingOrder: "-1000"})
	evil.Finalizers = []string{shopFinalizer}
	h.create(evil)

	h.tenantWaitEvent(teamB, "evil", "ReferenceDenied", "Ingress group shop belongs to namespace team-a", "ReferenceGrant")
	h.tenantWaitCondition(teamB, "evil", "False ReferenceDenied", "Ingress group shop (owner namespace team-a)", "--ingress-group-namespaces=any")
	h.eventually("the group's finalizer taken off team-b's Ingress", 30*time.Second, func() string {
		if f := h.tenantFinalizers(teamB, "evil"); slices.Contains(f, shopFinalizer) {
			return fmt.Sprint(f)
		}
		return ""
	})
	h.pokeTenant(teamA, "shop", 2)
	h.checkShape(host, scheme, shape)
	h.tenantWaitCondition(teamA, "shop", "True Reconciled")

	// Team-a's group keeps converging: a second Ingress of team-a joins it.
	h.create(tenantIngress(teamA, "api", aws.String(albClass), "api.example.com", "/", "shop", map[string]string{ingGroup: "shop"}))
	h.waitShape(host, []string{"host-header=api.example.com"}, nil)
	if s, _ := h.albOfHost(host); s != "internal" {
		t.Errorf("team-a's ALB became %s", s)
	}
}

// TestIngressGroupReferenceGrantLetsANamespaceIn: consent follows Kubernetes' own model.
// A ReferenceGrant in the owner's namespace from team-b's Ingresses to the IngressGroup
// shop lets team-b's Ingress in; deleting it takes team-b's routes out again.
func TestIngressGroupReferenceGrantLetsANamespaceIn(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.tenants(nil)
	h.startController()
	h.ensureIngressClass(albClass, "")
	h.create(tenantBackendService(teamA, "shop", 30183))
	h.create(tenantIngress(teamA, "shop", aws.String(albClass), "a.example.com", "/", "shop", map[string]string{ingGroup: "shop"}))
	host := h.tenantHostname(teamA, "shop")
	h.create(tenantBackendService(teamB, "partner", 30184))
	h.create(tenantIngress(teamB, "partner", aws.String(albClass), "b.example.com", "/", "partner", map[string]string{ingGroup: "shop"}))
	h.tenantWaitCondition(teamB, "partner", "False ReferenceDenied")

	grant := &gatewayv1beta1.ReferenceGrant{ObjectMeta: metav1.ObjectMeta{Namespace: teamA, Name: "partner-joins-shop"},
		Spec: gatewayv1beta1.ReferenceGrantSpec{
			From: []gatewayv1beta1.ReferenceGrantFrom{{Group: "networking.k8s.io", Kind: "Ingress", Namespace: teamB}},
			To:   []gatewayv1beta1.ReferenceGrantTo{{Group: "elbv2.k8s.aws", Kind: "IngressGroup", Name: ptrTo[gatewayv1beta1.ObjectName]("shop")}}}}
	h.create(grant)
	h.waitShape(host, []string{"host-header=a.example.com", "host-header=b.example.com"}, nil)
	h.tenantWaitCondition(teamB, "partner", "True Reconciled")
	if got := h.tenantHostname(teamB, "partner"); got != host {
		t.Errorf("team-b's Ingress has hostname %s, want the group's %s", got, host)
	}

	if err := h.k8s.Delete(h.ctx, grant); err != nil {
		t.Fatalf("delete ReferenceGrant: %v", err)
	}
	h.waitShape(host, []string{"host-header=a.example.com"}, []string{"host-header=b.example.com"})
	h.tenantWaitCondition(teamB, "partner", "False ReferenceDenied")
	h.tenantWaitCondition(teamA, "shop", "True Reconciled")
	h.eventually("team-b's Ingress no longer shows the group's hostname", 30*time.Second, func() string {
		ing := h.tenantIngressGet(teamB, "partner")
		if st := ing.Status.LoadBalancer.Ingress; len(st) > 0 || slices.Contains(ing.Finalizers, shopFinalizer) {
			return fmt.Sprintf("status %v, finalizers %v", st, ing.Finalizers)
		}
		return ""
	})
}

func ptrTo[T any](v T) *T { return &v }

// shopParams are IngressClassParams that pin the group shop, internal, to 10.0.0.0/8, for
// the namespaces labelled shop=yes.
func shopParams() *elbv2api.IngressClassParams {
	return &elbv2api.IngressClassParams{ObjectMeta: metav1.ObjectMeta{Name: "shop"},
		Spec: elbv2api.IngressClassParamsSpec{Group: &elbv2api.IngressGroup{Name: "shop"}, Scheme: aws.String(elbv2api.SchemeInternal),
			InboundCIDRs: []string{"10.0.0.0/8"}, NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"shop": "yes"}}}}
}

// TestIngressClassParamsApplyToTheLegacyAnnotation guards case 2: an Ingress naming the
// class with kubernetes.io/ingress.class skipped the class's IngressClassParams and joined
// the group they pin, with its own scheme. Now the annotation's value resolves to the
// IngressClass of that name, whose parameters' namespaceSelector does not admit team-b:
// its Ingress is no member and gets no load balancer of its own either.
func TestIngressClassParamsApplyToTheLegacyAnnotation(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.tenants(map[string]map[string]string{teamA: {"shop": "yes"}})
	h.startController()
	h.create(shopParams())
	h.ensureIngressClass(albClass, "shop")
	h.create(tenantBackendService(teamA, "shop", 30185))
	h.create(tenantIngress(teamA, "shop", aws.String(albClass), "a.example.com", "/", "shop", nil))
	host := h.tenantHostname(teamA, "shop")
	h.quiesce()
	scheme, shape := h.albOfHost(host)
	lbs := len(h.loadBalancers())

	h.create(tenantBackendService(teamB, "evil", 30186))
	h.create(tenantIngress(teamB, "evil", nil, "b.example.com", "/", "evil", map[string]string{
		"kubernetes.io/ingress.class": "alb", ingGroup: "shop", ingScheme: internetFacing, ingCIDRs: "0.0.0.0/0"}))
	h.tenantWaitEvent(teamB, "evil", "ReferenceDenied", "namespace team-b is not selected by the namespaceSelector of IngressClassParams shop")
	h.tenantWaitCondition(teamB, "evil", "False ReferenceDenied")
	h.pokeTenant(teamA, "shop", 2)
	h.checkShape(host, scheme, shape)
	if n := len(h.loadBalancers()); n != lbs {
		t.Errorf("%d load balancers, want %d: the refused Ingress got one", n, lbs)
	}
	if f := h.tenantFinalizers(teamB, "evil"); len(f) != 0 {
		t.Errorf("team-b's Ingress got finalizers %v", f)
	}
	h.tenantWaitCondition(teamA, "shop", "True Reconciled")
}

// TestIngressClassHardeningFlags: upstream's --disable-ingress-class-annotation and
// --disable-ingress-group-name-annotation were accepted and ignored. Now an Ingress that
// uses what they turn off gets an error naming the flag, and no load balancer.
func TestIngressClassHardeningFlags(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.tenants(nil)
	h.startController("--disable-ingress-class-annotation", "--disable-ingress-group-name-annotation")
	h.ensureIngressClass(albClass, "")
	h.create(tenantBackendService(teamA, "web", 30187))
	h.create(tenantIngress(teamA, "legacy", nil, "a.example.com", "/", "web", map[string]string{"kubernetes.io/ingress.class": "alb"}))
	h.create(tenantIngress(teamB, "grouped", aws.String(albClass), "b.example.com", "/", "web", map[string]string{ingGroup: "shop"}))
	h.tenantWaitCondition(teamA, "legacy", "False ReferenceDenied", "--disable-ingress-class-annotation", "spec.ingressClassName")
	h.tenantWaitCondition(teamB, "grouped", "False ReferenceDenied", "--disable-ingress-group-name-annotation", "IngressClassParams")
	// What the flags leave alone is served.
	h.create(tenantIngress(teamA, "plain", aws.String(albClass), "c.example.com", "/", "web", nil))
	h.tenantHostname(teamA, "plain")
	h.quiesce()
	if n := len(h.loadBalancers()); n != 1 {
		t.Errorf("%d load balancers, want 1 (the plain Ingress's)", n)
	}
}

// TestIngressGroupRefusedNamespaceFreezesNothing guards case 3: an Ingress whose
// namespace the class's namespaceSelector rejects was made a member and blocked the whole
// group. Now it is no member, and team-a's group keeps converging.
func TestIngressGroupRefusedNamespaceFreezesNothing(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.tenants(map[string]map[string]string{teamA: {"shop": "yes"}})
	h.startController()
	h.create(shopParams())
	h.ensureIngressClass("alb-shop", "shop")
	h.create(tenantBackendService(teamA, "shop", 30188))
	h.create(tenantIngress(teamA, "shop", aws.String("alb-shop"), "a.example.com", "/", "shop", nil))
	host := h.tenantHostname(teamA, "shop")
	h.create(tenantBackendService(teamB, "evil", 30189))
	h.create(tenantIngress(teamB, "evil", aws.String("alb-shop"), "b.example.com", "/", "evil", nil))
	h.tenantWaitCondition(teamB, "evil", "False ReferenceDenied", "namespaceSelector of IngressClassParams shop")

	h.create(tenantIngress(teamA, "api", aws.String("alb-shop"), "api.example.com", "/", "shop", nil))
	h.waitShape(host, []string{"host-header=api.example.com"}, []string{"host-header=b.example.com"})
	h.tenantWaitCondition(teamA, "shop", "True Reconciled")
	h.tenantWaitCondition(teamA, "api", "True Reconciled")
}

// TestIngressGroupForeignUnresolvedFreezesNothing guards case 3's second half: an Ingress
// of team-b carrying the group's finalizer and naming a missing IngressClass froze team-a's
// group, and team-a's ALB outlived team-a's own Ingress. Now it is reported on itself only,
// its finalizer goes, team-a's group converges, and deleting team-a's Ingress deletes the
// ALB.
func TestIngressGroupForeignUnresolvedFreezesNothing(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.tenants(nil)
	h.startController()
	h.ensureIngressClass(albClass, "")
	h.create(tenantBackendService(teamA, "shop", 30190))
	h.create(tenantIngress(teamA, "shop", aws.String(albClass), "a.example.com", "/", "shop", map[string]string{ingGroup: "shop"}))
	host := h.tenantHostname(teamA, "shop")
	arn := aws.ToString(h.albByHostname(host).LoadBalancerArn)

	evil := tenantIngress(teamB, "evil", aws.String("gone"), "b.example.com", "/", "evil", map[string]string{ingGroup: "shop"})
	evil.Finalizers = []string{shopFinalizer}
	h.create(evil)
	h.tenantWaitCondition(teamB, "evil", "False", "IngressClass gone does not exist", "it is not a member of the group")
	h.eventually("the group's finalizer taken off team-b's Ingress", 30*time.Second, func() string {
		if f := h.tenantFinalizers(teamB, "evil"); slices.Contains(f, shopFinalizer) {
			return fmt.Sprint(f)
		}
		return ""
	})

	h.create(tenantIngress(teamA, "api", aws.String(albClass), "api.example.com", "/", "shop", map[string]string{ingGroup: "shop"}))
	h.waitShape(host, []string{"host-header=api.example.com"}, nil)
	h.tenantWaitCondition(teamA, "shop", "True Reconciled")

	// Team-b puts the finalizer back: it still holds nothing.
	h.tenantUpdate(teamB, "evil", func(ing *networkingv1.Ingress) { ing.Finalizers = []string{shopFinalizer} })
	for _, name := range []string{"shop", "api"} {
		if err := h.k8s.Delete(h.ctx, h.tenantIngressGet(teamA, name)); err != nil {
			t.Fatalf("delete %s: %v", name, err)
		}
	}
	h.eventually("team-a's ALB deleted with team-a's Ingresses", 60*time.Second, func() string {
		for _, lb := range h.loadBalancers() {
			if aws.ToString(lb.LoadBalancerArn) == arn {
				return "ALB still exists; team-b's finalizers " + fmt.Sprint(h.tenantFinalizers(teamB, "evil"))
			}
		}
		return ""
	})
}

// TestIngressGroupMemberExcludedOthersConverge guards failure isolation in a group the
// platform shares between team-a and team-b (IngressClassParams pin it): a member with
// bad input, with a setting that conflicts with the oldest member's, or with a protection
// lbsg cannot apply (case 11) is excluded with an Event; its routes leave the ALB (fail
// closed) and every other member converges.
func TestIngressGroupMemberExcludedOthersConverge(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.tenants(map[string]map[string]string{teamA: {"shop": "yes"}, teamB: {"shop": "yes"}})
	h.startController()
	params := shopParams()
	params.Spec.Scheme, params.Spec.InboundCIDRs = nil, nil
	h.create(params)
	h.ensureIngressClass("alb-shop", "shop")
	h.create(tenantBackendService(teamA, "shop", 30191))
	h.create(tenantBackendService(teamB, "cart", 30192))
	h.create(tenantIngress(teamA, "shop", aws.String("alb-shop"), "a.example.com", "/", "shop", map[string]string{ingScheme: "internal"}))
	host := h.tenantHostname(teamA, "shop")
	time.Sleep(1100 * time.Millisecond) // creationTimestamp has a resolution of one second
	h.create(tenantIngress(teamB, "cart", aws.String("alb-shop"), "b.example.com", "/", "cart", nil))
	h.waitShape(host, []string{"host-header=a.example.com", "host-header=b.example.com"}, nil)

	steps := []struct {
		name   string
		ann    map[string]string
		reason string
		want   string
	}{
		{"malformed annotation", map[string]string{ingScheme: "public"}, "FailedBuildModel", `alb.ingress.kubernetes.io/scheme="public"`},
		{"conflict with the oldest member", map[string]string{ingScheme: internetFacing}, "FailedBuildModel", "the oldest member's setting wins, so Ingress team-b/cart, the newer, is excluded"},
		{"authentication lbsg does not implement", map[string]string{ingScheme: "", "alb.ingress.kubernetes.io/auth-type": "cognito"}, "FailedBuildModel", "alb.ingress.kubernetes.io/auth-type"},
	}
	for i, s := range steps {
		h.tenantUpdate(teamB, "cart", func(ing *networkingv1.Ingress) {
			if ing.Annotations == nil {
				ing.Annotations = map[string]string{}
			}
			for k, v := range s.ann {
				if v == "" {
					delete(ing.Annotations, k)
				} else {
					ing.Annotations[k] = v
				}
			}
		})
		h.tenantWaitEvent(teamB, "cart", s.reason, s.want)
		h.tenantWaitCondition(teamB, "cart", "False InvalidConfiguration", "not a member of Ingress group shop", s.want)
		h.waitShape(host, []string{"host-header=a.example.com"}, []string{"host-header=b.example.com"})
		// Team-a keeps converging: a path of its own comes and goes.
		path := fmt.Sprintf("/step%d", i)
		h.tenantUpdate(teamA, "shop", func(ing *networkingv1.Ingress) { ing.Spec.Rules[0].HTTP.Paths[0].Path = path })
		h.waitShape(host, []string{"path-pattern=" + path}, nil)
		h.tenantWaitCondition(teamA, "shop", "True Reconciled")
		if scheme, _ := h.albOfHost(host); scheme != "internal" {
			t.Fatalf("%s: the ALB became %s", s.name, scheme)
		}
		// Back to valid: team-b's routes return.
		h.tenantUpdate(teamB, "cart", func(ing *networkingv1.Ingress) {
			ing.Annotations = map[string]string{}
		})
		h.waitShape(host, []string{"host-header=b.example.com"}, nil)
		h.tenantWaitCondition(teamB, "cart", "True Reconciled")
	}
}

// TestSecurityAnnotationsFailClosed guards case 11: an Ingress asking for authentication,
// WAF or Shield that lbsg does not implement got a plain forward rule and Ready=True. Now
// it gets no new load balancer, an existing one is not changed, and it is Ready=False
// naming the key; IngressClassParams wafv2AclArn does the same for its class.
func TestSecurityAnnotationsFailClosed(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.tenants(nil)
	h.startController()
	h.ensureIngressClass(albClass, "")
	h.create(tenantBackendService(teamA, "web", 30193))
	h.create(tenantIngress(teamA, "web", aws.String(albClass), "a.example.com", "/", "web", nil))
	host := h.tenantHostname(teamA, "web")
	h.quiesce()
	before := h.albStackOfTenant(host)
	calls := h.counts().Mutating()

	// An existing ALB is held as it is.
	h.tenantUpdate(teamA, "web", func(ing *networkingv1.Ingress) {
		ing.Annotations = map[string]string{"alb.ingress.kubernetes.io/shield-advanced-protection": "true"}
		ing.Spec.Rules[0].Host = "changed.example.com"
	})
	h.tenantWaitCondition(teamA, "web", "False InvalidConfiguration", "alb.ingress.kubernetes.io/shield-advanced-protection", "kept as it is")
	h.pokeTenant(teamA, "web", 2)
	h.checkALBKept("web", before)
	h.checkNoDestructiveCalls(calls)
	h.waitShape(host, []string{"host-header=a.example.com"}, []string{"changed.example.com"})

	// No new load balancer for an Ingress that asks for authentication or a web ACL.
	h.create(tenantBackendService(teamB, "app", 30194))
	h.create(tenantIngress(teamB, "oidc", aws.String(albClass), "b.example.com", "/", "app",
		map[string]string{"alb.ingress.kubernetes.io/auth-type": "oidc", "alb.ingress.kubernetes.io/auth-idp-oidc": `{"issuer":"https://idp.example.com"}`}))
	h.create(tenantIngress(teamB, "waf", aws.String(albClass), "c.example.com", "/", "app",
		map[string]string{"alb.ingress.kubernetes.io/wafv2-acl-arn": "arn:aws:wafv2:us-west-2:123456789012:regional/webacl/corp/1"}))
	wafParams := &elbv2api.IngressClassParams{ObjectMeta: metav1.ObjectMeta{Name: "waf"},
		Spec: elbv2api.IngressClassParamsSpec{WAFv2ACLArn: "arn:aws:wafv2:us-west-2:123456789012:regional/webacl/corp/1"}}
	h.create(wafParams)
	h.ensureIngressClass("alb-waf", "waf")
	h.create(tenantIngress(teamB, "classwaf", aws.String("alb-waf"), "d.example.com", "/", "app", nil))
	h.tenantWaitCondition(teamB, "oidc", "False InvalidConfiguration", "alb.ingress.kubernetes.io/auth-type", "fail open")
	h.tenantWaitCondition(teamB, "waf", "False InvalidConfiguration", "alb.ingress.kubernetes.io/wafv2-acl-arn")
	h.tenantWaitCondition(teamB, "classwaf", "False InvalidConfiguration", "IngressClassParams waf spec.wafv2AclArn")
	h.tenantWaitEvent(teamB, "oidc", "FailedBuildModel", "alb.ingress.kubernetes.io/auth-type")
	h.quiesce()
	if n := len(h.loadBalancers()); n != 1 {
		t.Errorf("%d load balancers, want only team-a's", n)
	}
	got := &elbv2api.IngressClassParams{}
	if err := h.k8s.Get(h.ctx, client.ObjectKey{Name: "waf"}, got); err != nil || got.Spec.WAFv2ACLArn == "" {
		t.Errorf("wafv2AclArn was not kept by the API server: %v %+v", err, got.Spec)
	}
}

// albStackOfTenant is albStackOf for an ALB found by its DNS name alone.
func (h *harness) albStackOfTenant(host string) albStack {
	h.t.Helper()
	lb := h.albByHostname(host)
	s := albStack{lbARN: aws.ToString(lb.LoadBalancerArn), nodeRules: lbsgRules(h.securityGroups()[h.world.NodeSGID])}
	for _, tg := range h.targetGroups() {
		if slices.Contains(tg.LoadBalancerArns, s.lbARN) {
			s.tgARNs = append(s.tgARNs, aws.ToString(tg.TargetGroupArn))
		}
	}
	slices.Sort(s.tgARNs)
	if len(lb.SecurityGroups) > 0 {
		for _, id := range lb.SecurityGroups {
			if g, ok := h.securityGroups()[id]; ok && g.Tags["ingress.k8s.aws/resource"] == "ManagedLBSecurityGroup" {
				s.managedSGID = id
			}
		}
	}
	return s
}

// pokeTenant makes the Ingress's group reconcile again, and waits for a few target-SG
// passes.
func (h *harness) pokeTenant(ns, name string, rounds int) {
	h.t.Helper()
	for i := 0; i < rounds; i++ {
		h.tenantUpdate(ns, name, func(ing *networkingv1.Ingress) {
			if ing.Annotations == nil {
				ing.Annotations = map[string]string{}
			}
			ing.Annotations["example.com/poke"] = fmt.Sprint(time.Now().UnixNano())
		})
		time.Sleep(2500 * time.Millisecond)
	}
}

// TestIngressGroupOwnerKeepsItsGroupAcrossRecreation: ownership goes by age, and an
// Ingress of team-b that asked for team-a's group early (and was refused) is older than
// team-a's recreated Ingresses. The group stays team-a's while its ALB serves team-a and
// team-a still asks for it; once team-a leaves, team-b gets a new ALB, never team-a's (whose
// DNS name team-a's clients may still use).
func TestIngressGroupOwnerKeepsItsGroupAcrossRecreation(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.tenants(nil)
	h.startController()
	h.ensureIngressClass(albClass, "")
	h.create(tenantBackendService(teamA, "shop", 30195))
	h.create(tenantIngress(teamA, "shop", aws.String(albClass), "a.example.com", "/", "shop", map[string]string{ingGroup: "shop"}))
	host := h.tenantHostname(teamA, "shop")
	arn := aws.ToString(h.albByHostname(host).LoadBalancerArn)
	h.create(tenantBackendService(teamB, "evil", 30196))
	h.create(tenantIngress(teamB, "evil", aws.String(albClass), "b.example.com", "/", "evil", map[string]string{ingGroup: "shop"}))
	h.tenantWaitCondition(teamB, "evil", "False ReferenceDenied", "owner namespace team-a")

	// Team-a replaces its Ingress: the new one is younger than team-b's.
	time.Sleep(1100 * time.Millisecond) // creationTimestamp has a resolution of one second
	h.create(tenantIngress(teamA, "shop2", aws.String(albClass), "a.example.com", "/", "shop", map[string]string{ingGroup: "shop"}))
	h.waitShape(host, nil, nil)
	if err := h.k8s.Delete(h.ctx, h.tenantIngressGet(teamA, "shop")); err != nil {
		t.Fatalf("delete shop: %v", err)
	}
	h.tenantWaitCondition(teamA, "shop2", "True Reconciled")
	h.pokeTenant(teamA, "shop2", 2)
	h.tenantWaitCondition(teamB, "evil", "False ReferenceDenied", "owner namespace team-a")
	h.waitShape(host, []string{"host-header=a.example.com"}, []string{"host-header=b.example.com"})
	if got := h.tenantHostname(teamA, "shop2"); got != host {
		t.Errorf("team-a's new Ingress is on %s, want the group's ALB %s", got, host)
	}

	// Team-a leaves: team-b's Ingress gets a load balancer of its own, not team-a's.
	if err := h.k8s.Delete(h.ctx, h.tenantIngressGet(teamA, "shop2")); err != nil {
		t.Fatalf("delete shop2: %v", err)
	}
	// (AWS gives a new ALB a new DNS name; the emulator derives it from the name alone, so
	// the ARN tells the ALBs apart here.)
	newARN := aws.ToString(h.albByHostname(h.tenantHostname(teamB, "evil")).LoadBalancerArn)
	if newARN == arn {
		t.Fatalf("team-b's Ingress took over team-a's ALB %s", arn)
	}
	for _, lb := range h.loadBalancers() {
		if aws.ToString(lb.LoadBalancerArn) == arn {
			t.Errorf("team-a's ALB %s still exists after team-a left", arn)
		}
	}
	h.tenantWaitCondition(teamB, "evil", "True Reconciled")
}
