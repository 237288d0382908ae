package controller

import (
	"context"
	"testing"

	"github.com/lbsg/lbsg/internal/elb"
)

// Deleting the backend SG is decided on whether a load balancer still uses it. That list
// must be read fresh: a cached one may predate a load balancer created since (by another
// lbsg process, or by a create whose list read overlapped it), and the SG would be
// deleted from under it (stale ELB cache).
func TestStaleELBCacheBackendSGDeletionDecisionReadsLoadBalancersFresh(t *testing.T) {
	ctx := context.Background()
	fake := elb.NewFakeAPI()
	e := &Engine{ELB: elb.New(fake)}
	if _, err := e.ELB.LoadBalancers(ctx, false); err != nil { // cached: no load balancer
		t.Fatal(err)
	}
	fake.AddLoadBalancer("k8s-default-web-1", []string{"sg-backend"}, map[string]string{"elbv2.k8s.aws/cluster": "c1"})
	if !e.attachedToLB(ctx, "sg-backend") {
		t.Error("the backend SG is used by a load balancer, but the deletion decision did not see it")
	}
	if e.attachedToLB(ctx, "sg-other") {
		t.Error("an SG no load balancer uses is reported attached")
	}
}
