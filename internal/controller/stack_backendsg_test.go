package controller

import (
	"strings"
	"sync"
	"testing"

	"github.com/lbsg/lbsg/internal/apply"
	"github.com/lbsg/lbsg/internal/cloud"
	"github.com/lbsg/lbsg/internal/elb"
	"github.com/lbsg/lbsg/internal/naming"
	"github.com/lbsg/lbsg/internal/plan"
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
