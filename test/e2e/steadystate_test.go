package e2e

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/lbsg/lbsg/internal/localenv"
)

// With nothing changing, lbsg reads only what its drift check needs: one
// DescribeLoadBalancers and one DescribeSecurityGroups per check (every 2s here), whatever
// the number of Services. --sync-period is an hour, so no resync falls in the window.
func TestSteadyStateIsTwoReadsPerDriftCheck(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController("--sync-period=1h")
	const n = 10
	for i := range n {
		h.create(webserver(fmt.Sprintf("web-%d", i), nil))
	}
	for i := range n {
		h.waitHostname(fmt.Sprintf("web-%d", i))
	}
	h.quiesce()
	time.Sleep(3 * time.Second) // passes the creates asked for
	mark := h.counts()
	time.Sleep(9 * time.Second)
	got := h.counts().Sub(mark).ByAction()
	lbs, sgs := got["DescribeLoadBalancers"], got["DescribeSecurityGroups"]
	if lbs == 0 {
		t.Fatalf("no drift check ran: %v", got)
	}
	// A check may straddle the start or the end of the window: one read of it counted.
	if len(got) != 2 || sgs < lbs-1 || sgs > lbs+1 {
		t.Errorf("AWS calls in steady state with %d Services = %v, want only one DescribeLoadBalancers and one DescribeSecurityGroups per drift check", n, got)
	}
}

// An SG detached from a load balancer behind lbsg's back is put back: the drift check sees
// the load balancer's SGs change and hands its Service to the Service reconciler, long
// before the next --sync-period.
func TestSGDetachedFromLoadBalancerIsPutBack(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController("--sync-period=1h")
	h.create(webserver("web", nil))
	h.waitHostname("web")
	h.quiesce()
	lbs := h.loadBalancers()
	if len(lbs) != 1 || len(lbs[0].SecurityGroups) != 2 {
		t.Fatalf("want one NLB with a managed and the backend SG, got %v", lbs)
	}
	want := slices.Sorted(slices.Values(lbs[0].SecurityGroups))
	if _, err := h.elb.SetSecurityGroups(h.ctx, &elbv2.SetSecurityGroupsInput{LoadBalancerArn: lbs[0].LoadBalancerArn,
		SecurityGroups: want[:1]}); err != nil {
		t.Fatal(err)
	}
	h.eventually("the detached SG put back", 30*time.Second, func() string {
		lbs := h.loadBalancers()
		if len(lbs) != 1 {
			return fmt.Sprintf("%d load balancers", len(lbs))
		}
		if got := slices.Sorted(slices.Values(lbs[0].SecurityGroups)); !slices.Equal(got, want) {
			return fmt.Sprintf("SGs of %s = %v, want %v", aws.ToString(lbs[0].LoadBalancerName), got, want)
		}
		return ""
	})
}
