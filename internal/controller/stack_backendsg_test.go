package controller

import (
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/lbsg/lbsg/internal/apply"
	"github.com/lbsg/lbsg/internal/cloud"
	"github.com/lbsg/lbsg/internal/elb"
	"github.com/lbsg/lbsg/internal/naming"
	"github.com/lbsg/lbsg/internal/plan"
	"github.com/lbsg/lbsg/internal/sgrules"
)

// writes returns the calls that are not reads.
func writes(calls map[string]int) map[string]int {
	out := map[string]int{}
	for k, v := range calls {
		if !strings.HasPrefix(k, "Describe") {
			out[k] = v
		}
	}
	return out
}

// TestPlanServiceWritesNothingAndCreatesBackendSGInThePlan: planning a Service whose
// NLB needs the shared backend SG, which does not exist yet, makes no AWS write; the plan
// creates the SG under its key and the NLB refers to that key, with no placeholder ID.
func TestPlanServiceWritesNothingAndCreatesBackendSGInThePlan(t *testing.T) {
	w := newStackWorld(t)
	svc := nlbService("web")
	w.create(svc)
	objs, err := ServiceObjects(w.ctx, w.kube, svc)
	if err != nil {
		t.Fatal(err)
	}
	w.calls()
	sp, err := w.eng.PlanService(w.ctx, svc, objs)
	if err != nil {
		t.Fatal(err)
	}
	if got := writes(w.calls()); len(got) != 0 {
		t.Errorf("planning made writes: %v", got)
	}
	var created, used bool
	for _, c := range sp.Plan.Changes {
		if c.Op == plan.OpCreateSG && c.Target.Key == plan.KeyBackendSG {
			created = c.SG.Name == naming.BackendSGName(testCluster) && c.Owner == "cluster/"+testCluster
		}
		if c.Op == plan.OpCreateLB {
			for _, r := range c.SGs {
				used = used || r.Key == plan.KeyBackendSG
				if r.ID != "" && !strings.HasPrefix(r.ID, "sg-") {
					t.Errorf("the load balancer refers to SG %q, not an SG ID", r.ID)
				}
			}
		}
	}
	if !created || !used {
		t.Errorf("plan creates the backend SG: %t, the NLB uses it by key: %t; plan: %+v", created, used, sp.Plan.Changes)
	}
}

// TestConcurrentBackendSGCreatesEndWithOneSG: two lbsg processes (each its own caches,
// one AWS) plan the backend SG's creation at once; both applies succeed and there is one
// backend SG, which both NLBs use.
func TestConcurrentBackendSGCreatesEndWithOneSG(t *testing.T) {
	w := newStackWorld(t)
	second := *w.eng
	obs := cloud.NewObserverFromAPI(w.ec2, "vpc-1", nil)
	lbs := elb.New(w.elbv)
	second.EC2, second.ELB = obs, lbs
	second.Exec = &apply.Executor{EC2: obs, ELB: lbs, VPCID: "vpc-1"}
	engines := []*Engine{w.eng, &second}
	plans := make([]*StackPlan, 2)
	for i, name := range []string{"web", "api"} {
		svc := nlbService(name)
		w.create(svc)
		objs, err := ServiceObjects(w.ctx, w.kube, svc)
		if err != nil {
			t.Fatal(err)
		}
		if plans[i], err = engines[i].PlanService(w.ctx, svc, objs); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range engines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = engines[i].Exec.Apply(w.ctx, plans[i].Plan)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("apply %d: %v", i, err)
		}
	}
	backend, err := w.eng.EC2.FindSecurityGroups(w.ctx, map[string][]string{naming.TagResource: {naming.BackendSGResourceValue}}, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(backend) != 1 {
		t.Fatalf("backend SGs = %d, want 1", len(backend))
	}
	all, err := w.eng.ELB.LoadBalancers(w.ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, lb := range all {
		found := false
		for _, id := range lb.SecurityGroups {
			found = found || id == backend[0].ID
		}
		if !found {
			t.Errorf("load balancer %s uses %v, not the backend SG %s", lb.Name, lb.SecurityGroups, backend[0].ID)
		}
	}
}

// TestRevokeIsPlannedFromAFreshReadOfTheSG: the stack is planned from the caches, but a
// plan that revokes client rules of the managed SG is made again from a fresh read of that
// SG alone: a rule added behind lbsg's back since the cached read is revoked with the
// others, at the cost of one describe.
func TestRevokeIsPlannedFromAFreshReadOfTheSG(t *testing.T) {
	w := newStackWorld(t)
	w.create(nlbService("web"))
	w.reconcileService("web")
	out, err := w.ec2.DescribeSecurityGroups(w.ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag:" + naming.ServiceStackTag), Values: []string{"shop/web"}}}})
	if err != nil || len(out.SecurityGroups) != 1 {
		t.Fatalf("managed SG: %v %v", out, err)
	}
	managed := aws.ToString(out.SecurityGroups[0].GroupId)
	stray := sgrules.Rule{Key: sgrules.Key{Protocol: "tcp", FromPort: 80, ToPort: 80, PeerKind: sgrules.PeerCIDR, Peer: "192.0.2.0/24"}}
	if _, err := w.ec2.AuthorizeSecurityGroupIngress(w.ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(managed),
		IpPermissions: cloud.RulesToSDK([]sgrules.Rule{stray})}); err != nil {
		t.Fatal(err)
	}
	svc := w.service("web")
	svc.Spec.LoadBalancerSourceRanges = []string{"10.0.0.0/8"}
	if err := w.kube.Update(w.ctx, svc); err != nil {
		t.Fatal(err)
	}
	w.calls()
	w.reconcileService("web")
	calls := w.calls()
	if calls["DescribeSecurityGroups"] != 1 || calls["RevokeSecurityGroupIngress"] != 1 {
		t.Errorf("calls = %s, want one fresh describe of the managed SG and one revoke", describeCalls(calls))
	}
	out, err = w.ec2.DescribeSecurityGroups(w.ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{managed}})
	if err != nil {
		t.Fatal(err)
	}
	var peers []string
	for _, r := range cloud.RulesFromSDK(out.SecurityGroups[0].IpPermissions) {
		peers = append(peers, r.Peer)
	}
	if len(peers) != 1 || peers[0] != "10.0.0.0/8" {
		t.Errorf("managed SG rules from %v, want only 10.0.0.0/8 (the stray rule revoked too)", peers)
	}
}
