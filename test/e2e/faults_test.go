package e2e

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbsg/lbsg/internal/awsproxy"
	"github.com/lbsg/lbsg/internal/localenv"
)

// faultMix is the fault mix of issue 7: 25 % of AWS calls throttled, 5 % answered with a
// server error, and the first delete of every security group refused with
// DependencyViolation, as AWS does while an ENI of a load balancer being deleted lingers.
var faultMix = awsproxy.Faults{Seed: 7, Throttle: 0.25, ServerError: 0.05, DependencyViolations: 1}

// TestTenServicesConvergeAndDeleteUnderFaults: 10 NLB Services, created together while
// AWS throttles and fails calls, all get their load balancer (exactly one each), and once
// deleted leave nothing behind in AWS: no load balancer, target group, lbsg security group
// or lbsg rule. Convergence times and call counts are logged, not asserted.
func TestTenServicesConvergeAndDeleteUnderFaults(t *testing.T) {
	const n = 10
	h := newHarness(t, localenv.WorldOptions{})
	h.extendDeadline(14 * time.Minute)
	p, endpoints := h.throughFaultProxy(faultMix)
	// lbsg's default retries and drift checks, not the harness's single retry and 2 s
	// checks: the point is how lbsg copes with faults as deployed.
	h.startController(endpoints, "--aws-max-retries=10", "--drift-check-interval=1m")

	names := make([]string, n)
	start := time.Now()
	for i := range names {
		names[i] = fmt.Sprintf("web-%d", i)
		h.create(webserver(names[i], nil))
	}
	h.eventually("every Service's load balancer", 6*time.Minute, func() string {
		var waiting []string
		for _, name := range names {
			if s := h.service(name); len(s.Status.LoadBalancer.Ingress) == 0 || s.Status.LoadBalancer.Ingress[0].Hostname == "" {
				waiting = append(waiting, name+" ("+conditionMessage(s)+")")
			}
		}
		if len(waiting) > 0 {
			return fmt.Sprintf("%d waiting: %s", len(waiting), strings.Join(waiting, "; "))
		}
		return ""
	})
	converged := time.Since(start)
	created := p.Snapshot()
	t.Logf("create: %d Services converged in %.1f s; %d AWS calls (%d mutating), %d answered with a fault %s",
		n, converged.Seconds(), created.Calls.Total(), created.Calls.Mutating(), created.InjectedTotal(), injectedSummary(created))

	// Exactly one load balancer per Service, and it is the one its status names.
	lbs := h.loadBalancers()
	if len(lbs) != n {
		t.Errorf("%d load balancers for %d Services", len(lbs), n)
	}
	perStack := map[string]int{}
	dns := map[string]bool{}
	for _, lb := range lbs {
		perStack[h.elbTags(aws.ToString(lb.LoadBalancerArn))["service.k8s.aws/stack"]]++
		dns[aws.ToString(lb.DNSName)] = true
	}
	for _, name := range names {
		if got := perStack["default/"+name]; got != 1 {
			t.Errorf("%s: %d load balancers, want 1", name, got)
		}
		if host := h.service(name).Status.LoadBalancer.Ingress[0].Hostname; !dns[host] {
			t.Errorf("%s: status hostname %s is no load balancer's", name, host)
		}
	}
	if tgs := h.targetGroups(); len(tgs) != n {
		t.Errorf("%d target groups for %d Services", len(tgs), n)
	}
	managed := map[string]int{}
	for _, g := range h.securityGroups() {
		if s := g.Tags["service.k8s.aws/stack"]; s != "" {
			managed[s]++
		}
	}
	for _, name := range names {
		if got := managed["default/"+name]; got != 1 {
			t.Errorf("%s: %d managed security groups, want 1", name, got)
		}
	}

	start = time.Now()
	for _, name := range names {
		if err := h.k8s.Delete(h.ctx, h.service(name)); err != nil {
			t.Fatalf("delete %s: %v", name, err)
		}
	}
	h.eventually("every Service to be deleted and nothing of lbsg's left in AWS", 6*time.Minute, func() string {
		var left []string
		for _, name := range names {
			err := h.k8s.Get(h.ctx, client.ObjectKey{Namespace: "default", Name: name}, &corev1.Service{})
			if !apierrors.IsNotFound(err) {
				left = append(left, "Service "+name)
			}
		}
		return strings.Join(append(left, h.lbsgLeftovers()...), ", ")
	})
	deleted := p.Snapshot().Sub(created)
	t.Logf("delete: %d Services and their AWS resources gone in %.1f s; %d AWS calls (%d mutating), %d answered with a fault %s",
		n, time.Since(start).Seconds(), deleted.Calls.Total(), deleted.Calls.Mutating(), deleted.InjectedTotal(), injectedSummary(deleted))

	// The faults really happened, of every kind.
	all := p.Snapshot()
	for _, f := range []awsproxy.Fault{awsproxy.FaultThrottle, awsproxy.FaultDependencyViolation} {
		if all.Injected[f].Total() == 0 {
			t.Errorf("no %s was injected: the test did not test it", f)
		}
	}
	if all.Injected[awsproxy.FaultInternalError].Total()+all.Injected[awsproxy.FaultServiceUnavailable].Total() == 0 {
		t.Error("no server error was injected: the test did not test it")
	}
}

// lbsgLeftovers lists what of lbsg's is still in moto: load balancers, target groups,
// security groups tagged with the cluster, and lbsg's rules on the node security group.
func (h *harness) lbsgLeftovers() []string {
	h.t.Helper()
	var left []string
	for _, lb := range h.loadBalancers() {
		left = append(left, "load balancer "+aws.ToString(lb.LoadBalancerName))
	}
	for _, tg := range h.targetGroups() {
		left = append(left, "target group "+aws.ToString(tg.TargetGroupName))
	}
	for _, g := range h.securityGroups() {
		if g.Tags["elbv2.k8s.aws/cluster"] == cluster {
			left = append(left, "security group "+g.Name)
		}
	}
	for _, r := range lbsgRules(h.securityGroups()[h.world.NodeSGID]) {
		left = append(left, "node SG rule "+r)
	}
	return left
}

// injectedSummary lists a snapshot's injected faults by kind, sorted: "(Throttle 40, …)".
func injectedSummary(s awsproxy.Snapshot) string {
	var parts []string
	for f, c := range s.Injected {
		parts = append(parts, fmt.Sprintf("%s %d", f, c.Total()))
	}
	sort.Strings(parts)
	return "(" + strings.Join(parts, ", ") + ")"
}
