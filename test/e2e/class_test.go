package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	elbv2api "github.com/lbsg/lbsg/api/v1beta1"
	"github.com/lbsg/lbsg/internal/localenv"
	"github.com/lbsg/lbsg/internal/naming"
)

// Missing configuration never deletes: removing an IngressClass (helm uninstall of
// upstream's chart does) or its IngressClassParams leaves every load balancer of the class
// as it is, with an error on its Ingresses, until the class is back.

// albStack is what exists in AWS for one Ingress's ALB.
type albStack struct {
	lbARN, managedSGID string
	tgARNs             []string
	nodeRules          []string
}

func (h *harness) albStackOf(name, host string) albStack {
	h.t.Helper()
	lb := h.albByHostname(host)
	s := albStack{lbARN: aws.ToString(lb.LoadBalancerArn), nodeRules: lbsgRules(h.securityGroups()[h.world.NodeSGID])}
	if m, ok := h.sgByName(naming.IngressSGName(cluster, "default", name)); ok {
		s.managedSGID = m.ID
	}
	for _, tg := range h.targetGroups() {
		if slices.Contains(tg.LoadBalancerArns, s.lbARN) {
			s.tgARNs = append(s.tgARNs, aws.ToString(tg.TargetGroupArn))
		}
	}
	slices.Sort(s.tgARNs)
	return s
}

// checkALBKept fails unless the ALB, its target groups, its managed SG and the node rules
// are exactly as before.
func (h *harness) checkALBKept(name string, before albStack) {
	h.t.Helper()
	var lbs []string
	for _, lb := range h.loadBalancers() {
		lbs = append(lbs, aws.ToString(lb.LoadBalancerArn))
	}
	if !slices.Contains(lbs, before.lbARN) {
		h.t.Fatalf("ALB %s was deleted (load balancers: %v)", before.lbARN, lbs)
	}
	var tgs []string
	for _, tg := range h.targetGroups() {
		tgs = append(tgs, aws.ToString(tg.TargetGroupArn))
	}
	for _, arn := range before.tgARNs {
		if !slices.Contains(tgs, arn) {
			h.t.Errorf("target group %s was deleted", arn)
		}
	}
	if before.managedSGID != "" {
		if _, ok := h.securityGroups()[before.managedSGID]; !ok {
			h.t.Errorf("managed SG %s was deleted", before.managedSGID)
		}
	}
	if got := lbsgRules(h.securityGroups()[h.world.NodeSGID]); !slices.Equal(got, before.nodeRules) {
		h.t.Errorf("node SG lbsg rules = %v, want %v", got, before.nodeRules)
	}
}

// pokeIngress makes the Ingress's group reconcile again (an annotation lbsg does not read),
// and waits for a few target-SG passes (every 2 s in the tests).
func (h *harness) pokeIngress(name string, rounds int) {
	h.t.Helper()
	for i := 0; i < rounds; i++ {
		h.patchIngressAnnotations(name, map[string]string{"example.com/poke": fmt.Sprint(time.Now().UnixNano())})
		time.Sleep(2500 * time.Millisecond)
	}
}

// destructive are the calls that would remove or rewrite something of a kept ALB.
var destructive = []string{"DeleteLoadBalancer", "DeleteTargetGroup", "DeleteSecurityGroup", "DeleteListener",
	"DeleteRule", "ModifyListener", "ModifyRule", "DeregisterTargets", "RevokeSecurityGroupIngress", "SetSecurityGroups"}

func (h *harness) checkNoDestructiveCalls(since map[string]int) {
	h.t.Helper()
	now := h.counts().Mutating()
	for _, action := range destructive {
		if d := now[action] - since[action]; d != 0 {
			h.t.Errorf("%d %s call(s) while the class was missing", d, action)
		}
	}
}

func (h *harness) waitIngressConditionContains(name, want string) {
	h.t.Helper()
	h.eventually("condition of "+name+" containing "+want, 30*time.Second, func() string {
		if c := ingressCondition(h.getIngress(name)); !strings.Contains(c, want) {
			return c
		}
		return ""
	})
}

func (h *harness) checkFinalizer(name, finalizer string) {
	h.t.Helper()
	if ing := h.getIngress(name); !slices.Contains(ing.Finalizers, finalizer) {
		h.t.Errorf("Ingress %s finalizers = %v, want %s kept", name, ing.Finalizers, finalizer)
	}
}

func (h *harness) deleteIngressClass(name string) {
	h.t.Helper()
	if err := h.k8s.Delete(h.ctx, &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
		h.t.Fatalf("delete IngressClass %s: %v", name, err)
	}
}

// TestIngressClassDeletedKeepsALB guards case 5: deleting the IngressClass (as uninstalling
// upstream's chart does) deleted every ALB of the class and dropped the finalizers.
func TestIngressClassDeletedKeepsALB(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	h.ensureIngressClass(albClass, "")
	h.create(backendService("echo", 30080, nil))
	h.create(ingress("echo", "echo", map[string]string{ingScheme: internetFacing}))
	host := h.waitIngressHostname("echo")
	h.eventually("node rule", 30*time.Second, func() string {
		if len(lbsgRules(h.securityGroups()[h.world.NodeSGID])) == 0 {
			return "no lbsg rule on the node SG"
		}
		return ""
	})
	h.quiesce()
	before := h.albStackOf("echo", host)
	calls := h.counts().Mutating()

	h.deleteIngressClass(albClass)
	h.pokeIngress("echo", 3)
	h.checkALBKept("echo", before)
	h.checkNoDestructiveCalls(calls)
	h.waitIngressEvent("echo", "FailedBuildModel", "IngressClass alb does not exist")
	h.waitIngressConditionContains("echo", "recreate IngressClass alb with spec.controller ingress.k8s.aws/alb")
	h.checkFinalizer("echo", "ingress.k8s.aws/resources")
	if c := ingressCondition(h.getIngress("echo")); !strings.HasPrefix(c, "False InvalidConfiguration") {
		t.Errorf("condition = %s, want False InvalidConfiguration", c)
	}

	// The class is back: the same ALB is Ready again.
	h.ensureIngressClass(albClass, "")
	h.waitIngressConditionContains("echo", "True Reconciled")
	h.checkALBKept("echo", before)
	if got := h.albStackOf("echo", h.waitIngressHostname("echo")).lbARN; got != before.lbARN {
		t.Errorf("ALB %s after the class came back, want the same %s", got, before.lbARN)
	}
}

// TestIngressClassParamsDeletedKeepsALB guards case 5 for IngressClassParams: without them
// the Ingress's group (set by the params) is unknown, and its ALB must stay as it is.
func TestIngressClassParamsDeletedKeepsALB(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	newParams := func() *elbv2api.IngressClassParams {
		return &elbv2api.IngressClassParams{ObjectMeta: metav1.ObjectMeta{Name: "team"},
			Spec: elbv2api.IngressClassParamsSpec{Group: &elbv2api.IngressGroup{Name: "team"},
				Scheme: aws.String(elbv2api.SchemeInternetFacing)}}
	}
	h.create(newParams())
	h.ensureIngressClass("alb-team", "team")
	h.create(backendService("echo", 30080, nil))
	ing := ingress("echo", "echo", nil)
	ing.Spec.IngressClassName = aws.String("alb-team")
	h.create(ing)
	host := h.waitIngressHostname("echo")
	h.checkFinalizer("echo", "group.ingress.k8s.aws/team")
	h.quiesce()
	before := h.albStackOf("echo", host)
	calls := h.counts().Mutating()

	if err := h.k8s.Delete(h.ctx, newParams()); err != nil {
		t.Fatalf("delete IngressClassParams: %v", err)
	}
	h.pokeIngress("echo", 3)
	h.checkALBKept("echo", before)
	h.checkNoDestructiveCalls(calls)
	h.waitIngressEvent("echo", "FailedBuildModel", "refers to IngressClassParams team, which does not exist")
	h.checkFinalizer("echo", "group.ingress.k8s.aws/team")
	if got := h.getIngress("echo").Finalizers; slices.Contains(got, "ingress.k8s.aws/resources") {
		t.Errorf("finalizers = %v: the Ingress was moved to its own group", got)
	}

	h.create(newParams())
	h.waitIngressConditionContains("echo", "True Reconciled")
	h.checkALBKept("echo", before)
}

// TestIngressDeletedWhileClassMissingDeletesALB: deleting the Ingress itself always
// finishes, even while its class is gone.
func TestIngressDeletedWhileClassMissingDeletesALB(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	h.ensureIngressClass(albClass, "")
	h.create(backendService("echo", 30080, nil))
	h.create(ingress("echo", "echo", map[string]string{ingScheme: internetFacing}))
	host := h.waitIngressHostname("echo")
	before := h.albStackOf("echo", host)
	h.deleteIngressClass(albClass)
	h.waitIngressEvent("echo", "FailedBuildModel", "IngressClass alb does not exist")

	if err := h.k8s.Delete(h.ctx, h.getIngress("echo")); err != nil {
		t.Fatalf("delete Ingress: %v", err)
	}
	h.eventually("Ingress gone and its ALB deleted", 60*time.Second, func() string {
		err := h.k8s.Get(h.ctx, client.ObjectKey{Namespace: "default", Name: "echo"}, &networkingv1.Ingress{})
		if !apierrors.IsNotFound(err) {
			return fmt.Sprintf("Ingress still there (%v)", err)
		}
		for _, lb := range h.loadBalancers() {
			if aws.ToString(lb.LoadBalancerArn) == before.lbARN {
				return "ALB still exists"
			}
		}
		for _, tg := range h.targetGroups() {
			if slices.Contains(before.tgARNs, aws.ToString(tg.TargetGroupArn)) {
				return "target group still exists"
			}
		}
		return ""
	})
}

// TestServiceInvalidLoadBalancerTypeKeepsNLB: a Service holding lbsg's finalizer whose type
// annotation becomes a value that names no controller is an error, not a hand-over.
func TestServiceInvalidLoadBalancerTypeKeepsNLB(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	h.create(webserver("web", nil))
	host := h.waitHostname("web")
	h.quiesce()
	arn := aws.ToString(h.albByHostname(host).LoadBalancerArn)
	calls := h.counts().Mutating()

	h.patchAnnotations("web", map[string]string{"service.beta.kubernetes.io/aws-load-balancer-type": "externl"})
	time.Sleep(5 * time.Second)
	if got := aws.ToString(h.albByHostname(host).LoadBalancerArn); got != arn {
		t.Fatalf("NLB %s was replaced by %s", arn, got)
	}
	h.checkNoDestructiveCalls(calls)
	h.waitEvent("web", "FailedBuildModel", "aws-load-balancer-type")
	if svc := h.service("web"); !slices.Contains(svc.Finalizers, "service.k8s.aws/resources") {
		t.Errorf("finalizers = %v, want service.k8s.aws/resources kept", svc.Finalizers)
	}

	h.patchAnnotations("web", map[string]string{"service.beta.kubernetes.io/aws-load-balancer-type": "external"})
	h.eventually("Service Ready again", 30*time.Second, func() string {
		for _, c := range h.service("web").Status.Conditions {
			if c.Type == "lbsg.k8s.aws/Ready" && c.Status == metav1.ConditionTrue {
				return ""
			}
		}
		return conditionMessage(h.service("web"))
	})
	if got := aws.ToString(h.albByHostname(host).LoadBalancerArn); got != arn {
		t.Errorf("NLB %s replaced by %s after the type came back", arn, got)
	}
}

// TestIngressExplicitMoveWhileClassMissingReleasesALB: naming another controller's
// IngressClass that exists is an explicit move; it is honoured even while lbsg's class is
// missing.
func TestIngressExplicitMoveWhileClassMissingReleasesALB(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	h.ensureIngressClass(albClass, "")
	other := &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "nginx"},
		Spec: networkingv1.IngressClassSpec{Controller: "k8s.io/ingress-nginx"}}
	h.create(other)
	h.create(backendService("echo", 30080, nil))
	h.create(ingress("echo", "echo", map[string]string{ingScheme: internetFacing}))
	before := h.albStackOf("echo", h.waitIngressHostname("echo"))
	h.deleteIngressClass(albClass)
	h.waitIngressEvent("echo", "FailedBuildModel", "IngressClass alb does not exist")

	for i := 0; i < 5; i++ {
		ing := h.getIngress("echo")
		ing.Spec.IngressClassName = aws.String("nginx")
		err := h.k8s.Update(h.ctx, ing)
		if err == nil {
			break
		}
		if !apierrors.IsConflict(err) {
			t.Fatalf("update ingress: %v", err)
		}
	}
	h.eventually("ALB deleted and Ingress released", 60*time.Second, func() string {
		for _, lb := range h.loadBalancers() {
			if aws.ToString(lb.LoadBalancerArn) == before.lbARN {
				return "ALB still exists"
			}
		}
		ing := h.getIngress("echo")
		if len(ing.Finalizers) > 0 || ing.Annotations["lbsg.k8s.aws/ready-condition"] != "" {
			return fmt.Sprintf("finalizers %v, condition %s", ing.Finalizers, ingressCondition(ing))
		}
		return ""
	})
	_ = h.k8s.Delete(h.ctx, other)
}
