package e2e

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/intstr"

	elbv2api "github.com/lbsg/lbsg/api/v1beta1"
	"github.com/lbsg/lbsg/internal/controller"
	"github.com/lbsg/lbsg/internal/localenv"
)

// Regression for issue 15 §1 case 7: a Succeeded or Failed Pod keeps status.podIPs, and a
// Pod on a lost node keeps phase Running; when its IP is handed to another namespace's
// Pod, the old Pod's Service must not send traffic there. team-a's NLB has an EndpointSlice
// (any tenant can write one) naming its finished job, whose IP team-b's database Pod has
// now, and its stuck Pod, whose IP team-b's cache Pod has now. Only team-a's live web Pod
// is a target; the two IPs are named in an EndpointsSkipped Warning, and the SGs of
// team-b's ENIs never get a rule.
func TestFinishedPodsIPIsNoTargetOfItsOldService(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	a, b := h.targetTenant("team-a"), h.targetTenant("team-b")
	dbIP, dbSG := h.ownENI("team-b-db")
	cacheIP, cacheSG := h.ownENI("team-b-cache")
	webIP := h.world.Nodes[0].PrivateIP // the emulator finds an ENI by its primary IP only
	b.pod("db", map[string]string{"app": "db"}, dbIP, corev1.PodRunning)
	b.pod("cache", map[string]string{"app": "cache"}, cacheIP, corev1.PodRunning)
	sel := map[string]string{"app": "finished-web"}
	a.pod("web-0", sel, webIP, corev1.PodRunning)
	a.pod("job", sel, dbIP, corev1.PodSucceeded)
	a.pod("stuck", sel, cacheIP, corev1.PodRunning)
	svc := webserver("finished-web", map[string]string{"service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip"})
	svc.Spec.Selector = sel
	svc.Spec.Ports[0].TargetPort = intstr.FromInt32(8080)
	a.create(svc)
	a.slice("finished-web", "web-0="+webIP, "job="+dbIP, "stuck="+cacheIP)

	var tgARN string
	h.eventually("team-a's target group with its live Pod", 60*time.Second, func() string {
		tgs := h.targetGroups()
		if len(tgs) != 1 {
			return fmt.Sprintf("%d target groups", len(tgs))
		}
		tgARN = aws.ToString(tgs[0].TargetGroupArn)
		if got := h.registeredTargets(tgs[0].TargetGroupArn); len(got) == 0 {
			var s corev1.Service
			a.get(&s, "finished-web")
			return "no target; condition: " + conditionMessage(&s)
		}
		return ""
	})
	h.eventually("the rule for the live Pod on its ENI's SG", 60*time.Second, func() string {
		bsg, ok := h.sgByName(wantBackendName(cluster))
		if !ok {
			return "no backend SG"
		}
		if got, want := lbsgRules(h.securityGroups()[h.world.NodeSGID]), []string{"tcp 8080 from " + bsg.ID}; !reflect.DeepEqual(got, want) {
			return fmt.Sprintf("%v, want %v", got, want)
		}
		return ""
	})
	h.quiesce()
	if got, want := h.registeredTargets(aws.String(tgARN)), []string{webIP + ":8080"}; !reflect.DeepEqual(got, want) {
		t.Errorf("team-a's targets %v, want only its live Pod %v", got, want)
	}
	sgs := h.securityGroups()
	for name, id := range map[string]string{"database": dbSG, "cache": cacheSG} {
		if got := sgs[id].Rules; len(got) != 0 {
			t.Errorf("team-b's %s ENI SG %s has rules %v, want none", name, id, ruleStrings(got))
		}
	}
	a.waitEvent("Service", "finished-web", controller.EventEndpointsSkipped, dbIP, "the Pod has finished (phase Succeeded)")
	a.waitEvent("Service", "finished-web", controller.EventEndpointsSkipped, cacheIP, "another live Pod of the cluster reports the same IP")
}

// bindingRecordKey is the annotation a binding's registered targets are recorded in; a
// manifest exported with kubectl carries it.
const bindingRecordKey = "lbsg.k8s.aws/registered-targets"

// nodeTargets are the world's nodes on a port, as "id:port".
func (h *harness) nodeTargets(port int32) []string {
	var out []string
	for _, n := range h.world.Nodes {
		out = append(out, fmt.Sprintf("%s:%d", n.InstanceID, port))
	}
	sort.Strings(out)
	return out
}

// Regression for issue 15 §1 case 9: team-b applies a copy of team-a's binding manifest,
// annotation included, once for a target group of its own and once for team-a's target
// group. Neither deregisters anything of team-a's: the copy on its own target group works
// for team-b and says that the record is not its; the copy of team-a's target group is
// refused, naming team-a's binding.
func TestTargetGroupBindingCopiedRecordDeregistersNothingOfAnotherBinding(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	a, b := h.targetTenant("team-a"), h.targetTenant("team-b")
	victimTG := h.userTargetGroup("team-a-web", h.world.VPCID, elbtypes.TargetTypeEnumInstance, nil)
	victimPort := a.nodePortService("copied-app").Spec.Ports[0].NodePort
	a.binding("web", "copied-app", victimTG, nil)
	victim := h.nodeTargets(victimPort)
	h.waitTargets("team-a's nodes", victimTG, victim)
	var vb elbv2api.TargetGroupBinding
	h.eventually("team-a's record", 30*time.Second, func() string {
		a.get(&vb, "web")
		if !strings.HasPrefix(vb.Annotations[bindingRecordKey], victimTG+" ") {
			return fmt.Sprintf("annotations %v", vb.Annotations)
		}
		return ""
	})
	record := vb.Annotations[bindingRecordKey]
	h.quiesce()
	before := h.counts().Mutating()["DeregisterTargets"]

	ownTG := h.userTargetGroup("team-b-web", h.world.VPCID, elbtypes.TargetTypeEnumInstance, nil)
	ownPort := b.nodePortService("copied-app").Spec.Ports[0].NodePort
	copied := func(x *elbv2api.TargetGroupBinding) { x.Annotations = map[string]string{bindingRecordKey: record} }
	b.binding("copy-own", "copied-app", ownTG, copied)
	b.binding("copy-victims", "copied-app", victimTG, copied)
	h.waitTargets("team-b's nodes in its own target group", ownTG, h.nodeTargets(ownPort))
	h.quiesce()
	if n := h.counts().Mutating()["DeregisterTargets"] - before; n > 0 {
		t.Errorf("DeregisterTargets called %d times after team-b copied team-a's record", n)
	}
	if got := h.registeredTargets(aws.String(victimTG)); !reflect.DeepEqual(got, victim) {
		t.Errorf("team-a's targets %v, want them untouched: %v", got, victim)
	}
	b.waitEvent("TargetGroupBinding", "copy-own", controller.EventTGBRecordIgnored, "belongs to TargetGroupBinding team-a/web", "deregisters none")
	b.waitEvent("TargetGroupBinding", "copy-victims", controller.EventTGBRefused, "belongs to TargetGroupBinding team-a/web (namespace team-a)")
}

// Regression for issue 15 §1 case 9: spec.targetGroupARN was mutable. The API server now
// refuses the update, and the binding's targets stay where they were registered.
func TestTargetGroupBindingTargetGroupARNIsImmutable(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	a := h.targetTenant("team-a")
	first := h.userTargetGroup("immutable-1", h.world.VPCID, elbtypes.TargetTypeEnumInstance, nil)
	second := h.userTargetGroup("immutable-2", h.world.VPCID, elbtypes.TargetTypeEnumInstance, nil)
	port := a.nodePortService("immutable").Spec.Ports[0].NodePort
	a.binding("immutable", "immutable", first, nil)
	h.waitTargets("the nodes", first, h.nodeTargets(port))
	var b elbv2api.TargetGroupBinding
	a.get(&b, "immutable")
	b.Spec.TargetGroupARN = second
	err := h.k8s.Update(h.ctx, &b)
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.targetGroupARN is immutable") {
		t.Fatalf("changing spec.targetGroupARN: %v, want Invalid: spec.targetGroupARN is immutable", err)
	}
	h.quiesce()
	if got := h.registeredTargets(aws.String(first)); !reflect.DeepEqual(got, h.nodeTargets(port)) {
		t.Errorf("targets %v left in the bound target group", got)
	}
	if got := h.registeredTargets(aws.String(second)); len(got) > 0 {
		t.Errorf("targets %v registered in the other target group", got)
	}
}

// Regression for issue 15 §1 case 9 (and the authorizer's rule for target groups): team-b
// binds the target group of team-a's NLB Service, and the target group team-a's binding
// owns. Both are refused with a Warning naming the owner; the owners' targets are
// untouched and team-b's bindings get no finalizer.
func TestTargetGroupBindingOfAnotherStacksTargetGroupIsRefused(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	a, b := h.targetTenant("team-a"), h.targetTenant("team-b")
	svc := webserver("stack-web", nil)
	a.create(svc)
	var stackTG string
	h.eventually("team-a's NLB target group with its nodes", 60*time.Second, func() string {
		for _, tg := range h.targetGroups() {
			if strings.HasPrefix(aws.ToString(tg.TargetGroupName), "k8s-") && len(h.registeredTargets(tg.TargetGroupArn)) == len(h.world.Nodes) {
				stackTG = aws.ToString(tg.TargetGroupArn)
				return ""
			}
		}
		return "not yet"
	})
	userTG := h.userTargetGroup("team-a-shared", h.world.VPCID, elbtypes.TargetTypeEnumInstance, nil)
	port := a.nodePortService("owned-app").Spec.Ports[0].NodePort
	a.binding("mine", "owned-app", userTG, nil)
	h.waitTargets("team-a's binding's nodes", userTG, h.nodeTargets(port))
	h.quiesce()
	stackTargets := h.registeredTargets(aws.String(stackTG))
	writes := h.counts().Mutating()

	b.nodePortService("thief")
	b.binding("steal-stack", "thief", stackTG, nil)
	b.binding("steal-binding", "thief", userTG, nil)
	h.eventually("team-b's bindings to be reconciled", 30*time.Second, func() string {
		for _, name := range []string{"steal-stack", "steal-binding"} {
			if len(b.events("TargetGroupBinding", name)) == 0 {
				return name + " has no Event"
			}
		}
		return ""
	})
	h.quiesce()
	after := h.counts().Mutating()
	for _, call := range []string{"RegisterTargets", "DeregisterTargets"} {
		if n := after[call] - writes[call]; n > 0 {
			t.Errorf("%s called %d times after team-b's bindings", call, n)
		}
	}
	if got := h.registeredTargets(aws.String(stackTG)); !reflect.DeepEqual(got, stackTargets) {
		t.Errorf("team-a's NLB targets %v, want %v", got, stackTargets)
	}
	if got := h.registeredTargets(aws.String(userTG)); !reflect.DeepEqual(got, h.nodeTargets(port)) {
		t.Errorf("team-a's binding's targets %v, want %v", got, h.nodeTargets(port))
	}
	b.waitEvent("TargetGroupBinding", "steal-stack", controller.EventTGBRefused, "belongs to Service team-a/stack-web")
	b.waitEvent("TargetGroupBinding", "steal-binding", controller.EventTGBRefused, "belongs to TargetGroupBinding team-a/mine")
	for _, name := range []string{"steal-stack", "steal-binding"} {
		var x elbv2api.TargetGroupBinding
		b.get(&x, name)
		if controllerHasFinalizer(x.Finalizers) {
			t.Errorf("refused binding %s got the finalizer", name)
		}
	}
}
