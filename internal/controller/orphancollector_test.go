package controller

import (
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	fakeclient "sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/lbsg/lbsg/internal/annotations"
	"github.com/lbsg/lbsg/internal/naming"
)

// leakService deletes a Service from Kubernetes as if its finalizer had been removed
// first: its load balancer, target group and managed SG stay in AWS.
func (w *netWorld) leakService(name string) {
	w.t.Helper()
	if err := w.kube.Delete(w.ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: name}}); err != nil {
		w.t.Fatal(err)
	}
}

func (w *netWorld) addTargetGroup(service string) {
	id := naming.ServiceStackID("team", service)
	w.elbAPI.PutTargetGroup(elbtypes.TargetGroup{TargetGroupArn: aws.String("arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/k8s-team-" + service + "/1"),
		TargetGroupName: aws.String("k8s-team-" + service), Protocol: elbtypes.ProtocolEnumTcp, Port: aws.Int32(30000), TargetType: elbtypes.TargetTypeEnumInstance},
		map[string]string{naming.TagCluster: netCluster, naming.ServiceStackTag: id, naming.ServiceResourceTag: id + ":80"})
}

// TestOrphanCollectorWaitsForTheGraceAndAFreshRead guards case 8 below the reconciler: a
// Service deleted after its finalizer was removed leaves its NLB, target group and
// managed SG. The drift check that first sees them deletes nothing (it reads the target
// groups, once, to know the whole stack); nor does one within the grace period, nor one
// whose read without the cache still finds the Service (an informer that lags). The first
// drift check after the grace period with the Service confirmed gone deletes the stack
// (after revoking rules that refer to its SG), records an Event in the Service's
// namespace, and asks for a pass soon, which deletes the backend SG no load balancer uses
// any more. A drift check without suspects reads nothing more than before.
func TestOrphanCollectorWaitsForTheGraceAndAFreshRead(t *testing.T) {
	w := newNetWorld(t)
	managed := w.addManagedService("web", 30000)
	w.addTargetGroup("web")
	w.pass()
	w.r.Engine.ELB.InvalidateInventory() // so that a read of the target groups shows
	if got := w.driftPass(); !maps.Equal(got, map[string]int{"DescribeLoadBalancers": 1, "DescribeSecurityGroups": 1}) {
		t.Fatalf("drift check with no orphan made %v", got)
	}
	w.leakService("web")
	grace := w.r.Orphans.Grace
	w.r.Engine.ELB.InvalidateInventory()
	got := w.driftPass()
	if got["DescribeTargetGroups"] != 1 || got["DeleteLoadBalancer"] != 0 {
		t.Errorf("drift check that first sees the orphan made %v, want one DescribeTargetGroups and no deletion", got)
	}
	// Within the grace period: nothing.
	w.now = w.now.Add(grace - 2*w.r.DriftCheck)
	if got := w.pass(); got["DeleteLoadBalancer"]+got["DeleteSecurityGroup"] != 0 {
		t.Errorf("drift check within the grace period made %v", got)
	}
	// Past it, but the read without the cache still finds the Service.
	lagging := fakeclient.NewClientBuilder().WithScheme(scheme.Scheme).Build()
	if err := lagging.Create(w.ctx, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "web"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer}}); err != nil {
		t.Fatal(err)
	}
	w.r.Orphans.Reader = lagging
	if got := w.driftPass(); got["DeleteLoadBalancer"]+got["DeleteSecurityGroup"] != 0 {
		t.Errorf("drift check whose fresh read finds the Service made %v", got)
	}
	if n := len(w.elbAPI.LoadBalancerNames()); n != 1 {
		t.Fatalf("%d load balancers after an unconfirmed drift check, want 1", n)
	}
	// Confirmed gone: deleted.
	w.r.Orphans.Reader = w.kube
	w.now = w.now.Add(w.r.DriftCheck)
	before := w.calls()
	res, err := w.r.Reconcile(w.ctx, TargetSGPass{})
	if err != nil {
		t.Fatal(err)
	}
	got = map[string]int{}
	for k, v := range w.calls() {
		if d := v - before[k]; d > 0 {
			got[k] = d
		}
	}
	for _, action := range []string{"DeleteLoadBalancer", "DeleteTargetGroup", "DeleteSecurityGroup"} {
		if got[action] != 1 {
			t.Errorf("collecting drift check: %d %s, want 1 (calls %v)", got[action], action, got)
		}
	}
	if n := len(w.elbAPI.LoadBalancerNames()); n != 0 {
		t.Errorf("%d load balancers left", n)
	}
	if w.sgs()[managed] {
		t.Errorf("managed SG %s left", managed)
	}
	if res.RequeueAfter != time.Second {
		t.Errorf("after a collection the pass asks for the next in %v, want 1s", res.RequeueAfter)
	}
	select {
	case e := <-w.r.Recorder.(*events.FakeRecorder).Events:
		if !strings.Contains(e, EventOrphanDeleted) || !strings.Contains(e, "Service team/web no longer exists") || !strings.Contains(e, "load balancer k8s-team-web") {
			t.Errorf("event = %q", e)
		}
	default:
		t.Error("no Event recorded")
	}
	w.now = w.now.Add(time.Second)
	w.pass()
	if w.sgs()[w.backend] {
		t.Error("the backend SG is left although no load balancer uses it")
	}
	w.r.Engine.ELB.InvalidateInventory()
	if got := w.driftPass(); got["DescribeTargetGroups"] != 0 {
		t.Errorf("drift check with no suspect left made %v, want no DescribeTargetGroups", got)
	}
}

// TestOrphanCollectorLeavesHeldStacks: a Service that is lbsg's, and one whose invalid type
// value makes its ownership unclear, keep their stacks however long the drift checks run.
func TestOrphanCollectorLeavesHeldStacks(t *testing.T) {
	w := newNetWorld(t)
	w.addManagedService("web", 30000)
	w.addManagedService("odd", 30001)
	odd := &corev1.Service{}
	if err := w.kube.Get(w.ctx, client.ObjectKey{Namespace: "team", Name: "odd"}, odd); err != nil {
		t.Fatal(err)
	}
	odd.Spec.LoadBalancerClass = nil
	odd.Annotations = map[string]string{"service.beta.kubernetes.io/aws-load-balancer-type": "nlb-typo"}
	if err := w.kube.Update(w.ctx, odd); err != nil {
		t.Fatal(err)
	}
	w.pass()
	for range 10 {
		w.now = w.now.Add(w.r.Orphans.Grace)
		w.r.Engine.ELB.InvalidateInventory()
		if got := w.pass(); got["DeleteLoadBalancer"]+got["DescribeTargetGroups"] != 0 {
			t.Fatalf("drift check made %v, want neither a deletion nor a target group read", got)
		}
	}
	if n := len(w.elbAPI.LoadBalancerNames()); n != 2 {
		t.Errorf("%d load balancers, want 2", n)
	}
}

// addLeakedGroup adds the ALB and target group of explicit group shop, whose Ingresses are
// gone; the target group was made for team-a's Ingress front.
func (w *netWorld) addLeakedGroup() {
	tags := func(resource string) map[string]string {
		return map[string]string{naming.TagCluster: netCluster, naming.IngressStackTag: "shop", naming.IngressResourceTag: resource}
	}
	lb := "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/k8s-shop/1"
	w.elbAPI.PutLoadBalancer(elbtypes.LoadBalancer{LoadBalancerArn: aws.String(lb), LoadBalancerName: aws.String("k8s-shop"),
		Type: elbtypes.LoadBalancerTypeEnumApplication, DNSName: aws.String("k8s-shop.elb"), VpcId: aws.String("vpc-1")}, tags(naming.LoadBalancerResourceID))
	w.elbAPI.PutTargetGroup(elbtypes.TargetGroup{TargetGroupArn: aws.String("arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/k8s-team-a-front/1"),
		TargetGroupName: aws.String("k8s-team-a-front"), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(30000), TargetType: elbtypes.TargetTypeEnumInstance,
		VpcId: aws.String("vpc-1"), LoadBalancerArns: []string{lb}}, tags(naming.IngressTargetGroupResourceID("team-a", "front", "web", "80")))
}

// TestOrphanCollectorReadsTheEvidenceOfAskedForGroups: a leaked explicit group that an
// Ingress asks for while its IngressClass is missing is decided by its target groups, which
// the drift check reads (from the cache) for it: team-b's Ingress does not keep team-a's
// load balancer past the grace period; team-a's keeps it however long the checks run.
func TestOrphanCollectorReadsTheEvidenceOfAskedForGroups(t *testing.T) {
	for _, ns := range []string{"team-b", "team-a"} {
		t.Run(ns, func(t *testing.T) {
			w := newNetWorld(t)
			w.addLeakedGroup()
			class := "alb"
			w.create(&networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "squat", Annotations: map[string]string{annotations.IngGroupName: "shop"}},
				Spec: networkingv1.IngressSpec{IngressClassName: &class}})
			w.pass()
			for range 3 {
				w.r.Engine.ELB.InvalidateInventory()
				if got := w.driftPass(); got["DescribeTargetGroups"] != 1 || got["DeleteLoadBalancer"] != 0 {
					t.Fatalf("drift check within the grace period made %v, want one DescribeTargetGroups and no deletion", got)
				}
			}
			w.now = w.now.Add(w.r.Orphans.Grace)
			got := w.driftPass()
			if ns == "team-a" {
				if got["DeleteLoadBalancer"]+got["DeleteTargetGroup"] != 0 || len(w.elbAPI.LoadBalancerNames()) != 1 {
					t.Errorf("drift check past the grace period made %v; team-a's Ingress holds its load balancer", got)
				}
				return
			}
			if got["DeleteLoadBalancer"] != 1 || got["DeleteTargetGroup"] != 1 || len(w.elbAPI.LoadBalancerNames()) != 0 {
				t.Errorf("drift check past the grace period made %v, want team-a's load balancer and target group deleted", got)
			}
		})
	}
}
