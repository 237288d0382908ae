package apply

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/lbsg/lbsg/internal/cloud"
	"github.com/lbsg/lbsg/internal/elb"
	"github.com/lbsg/lbsg/internal/plan"
	"github.com/lbsg/lbsg/internal/spec"
)

var dupStackTags = map[string]string{"elbv2.k8s.aws/cluster": "c1", "service.k8s.aws/stack": "default/web"}

// createPlan is what a Service's first reconcile plans: its managed SG (withSG), target
// group (withTG) and NLB.
func createPlan(withSG, withTG bool) plan.Plan {
	sgRef := plan.Ref{Kind: plan.KindSG, Key: "managed-sg"}
	var changes []plan.Change
	var sgs []plan.Ref
	if withSG {
		sgTags := map[string]string{"elbv2.k8s.aws/cluster": "c1", "service.k8s.aws/stack": "default/web", "elbv2.k8s.aws/resource": "ManagedLBSecurityGroup"}
		changes = append(changes, plan.Change{Op: plan.OpCreateSG, Target: sgRef,
			SG: &spec.SecurityGroup{Name: "k8s-default-web-abc", Description: "d", Tags: sgTags}})
		sgs = []plan.Ref{sgRef}
	}
	if withTG {
		changes = append(changes, plan.Change{Op: plan.OpCreateTG, Target: plan.Ref{Kind: plan.KindTargetGroup, Key: "target-group/80"},
			TG: &spec.TargetGroup{Name: "k8s-default-web-80", Protocol: "TCP", Port: 30080, TargetType: "instance",
				HealthCheck: spec.HealthCheck{Protocol: "TCP", Port: "traffic-port"}, Tags: dupStackTags}})
	}
	changes = append(changes,
		plan.Change{Op: plan.OpCreateLB, Target: plan.Ref{Kind: plan.KindLoadBalancer, Key: "load-balancer"}, SGs: sgs,
			LB: &plan.LBSpec{Name: "k8s-default-web-1", Type: "network", Scheme: "internet-facing", IPAddressType: "ipv4",
				Subnets: []string{"subnet-1"}, Tags: dupStackTags}},
	)
	return plan.Plan{Changes: changes}
}

// Two applies of the same create plan, at the same time, leave one NLB: the apply that
// finds the other's resource adopts it and asks for a replan instead of creating a
// duplicate. Within one process, creates of one name are serialized. Across processes
// (leader election off), the names AWS keeps unique (security group, target group) order
// the two applies before either reaches its load balancer, and the load balancer is
// looked up by name right before it is created. (A plan that creates only the load
// balancer, in two processes at once, relies on AWS refusing a second load balancer of
// one name, which the emulators do not do.)
func TestDuplicateLoadBalancerConcurrentAppliesOfOnePlanCreateOne(t *testing.T) {
	for _, tt := range []struct {
		name           string
		processes      int
		withSG, withTG bool
	}{
		{"one process, load balancer only", 1, false, false},
		{"one process, target group and load balancer", 1, false, true},
		{"one process, managed SG, target group and load balancer", 1, true, true},
		{"two processes, target group and load balancer", 2, false, true},
		{"two processes, managed SG, target group and load balancer", 2, true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			elbAPI, ec2API := elb.NewFakeAPI(), cloud.NewFakeEC2()
			executors := make([]*Executor, 2)
			for i := range executors {
				if i < tt.processes {
					executors[i] = &Executor{EC2: cloud.NewObserverFromAPI(ec2API, "vpc-1", nil), ELB: elb.New(elbAPI), VPCID: "vpc-1"}
				} else {
					executors[i] = executors[0]
				}
			}
			// The first create of each kind stays in flight for a while before it takes
			// effect, so that the other apply reaches its own lookup or create meanwhile.
			var held sync.Map
			elbAPI.Hook = func(action string, _ any) {
				if action == "CreateLoadBalancer" || action == "CreateTargetGroup" {
					if _, again := held.LoadOrStore(action, true); !again {
						time.Sleep(100 * time.Millisecond)
					}
				}
			}
			var wg sync.WaitGroup
			errs := make([]error, 2)
			start := make(chan struct{})
			for i, x := range executors {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					_, errs[i] = x.Apply(context.Background(), createPlan(tt.withSG, tt.withTG))
				}()
			}
			close(start)
			wg.Wait()

			if got := elbAPI.LoadBalancerNames(); len(got) != 1 {
				t.Errorf("load balancers = %v, want exactly one", got)
			}
			ok, replans := 0, 0
			for _, err := range errs {
				var retry *RetryError
				switch {
				case err == nil:
					ok++
				case errors.As(err, &retry):
					replans++
				default:
					t.Errorf("apply: %v", err)
				}
			}
			if ok+replans != 2 || ok < 1 {
				t.Errorf("%d applies succeeded and %d asked for a replan (errors %v); want every apply to do one or the other, at least one to succeed", ok, replans, errs)
			}
		})
	}
}
