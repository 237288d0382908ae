package elb_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/lbsg/lbsg/internal/elb"
	"github.com/lbsg/lbsg/internal/state"
)

var stackTags = map[string]string{
	"elbv2.k8s.aws/cluster": "c1",
	"service.k8s.aws/stack": "default/web",
	"user":                  "tag",
}

func nlbInput(name string, tags map[string]string) elb.CreateLoadBalancerInput {
	return elb.CreateLoadBalancerInput{Name: name, Type: "network", Scheme: "internet-facing", IPAddressType: "ipv4",
		Subnets: []string{"subnet-1"}, Tags: tags}
}

func tgInput(name string) elb.TargetGroupInput {
	return elb.TargetGroupInput{Name: name, Protocol: "TCP", Port: 80, TargetType: "instance", VPCID: "vpc-1",
		HealthCheck: state.HealthCheck{Protocol: "TCP", Port: "traffic-port"}, Tags: stackTags}
}

// holdFirst makes the first describe of action whose request satisfies match block, with
// its answer made, until the returned release is called; started is closed then.
func holdFirst(f *elb.FakeAPI, action string, match func(in any) bool) (started <-chan struct{}, release func()) {
	s, r := make(chan struct{}), make(chan struct{})
	var once sync.Once
	f.Answered = func(a string, in any) {
		if a != action || !match(in) {
			return
		}
		held := false
		once.Do(func() { held = true })
		if held {
			close(s)
			<-r
		}
	}
	return s, func() { close(r) }
}

func listAll(in any) bool {
	switch in := in.(type) {
	case *elbv2.DescribeLoadBalancersInput:
		return len(in.Names) == 0
	case *elbv2.DescribeTargetGroupsInput:
		return len(in.Names) == 0
	}
	return true
}

func lbNames(lbs []state.LoadBalancer) []string {
	var out []string
	for _, lb := range lbs {
		out = append(out, lb.Name)
	}
	return out
}

// Case 12: a list of load balancers that started before a create and ended after it must
// not be cached, or the next plan creates the load balancer a second time.
func TestStaleELBCacheLoadBalancerListOverlappingCreateIsNotStored(t *testing.T) {
	ctx := context.Background()
	fake := elb.NewFakeAPI()
	c := elb.New(fake)
	started, release := holdFirst(fake, "DescribeLoadBalancers", listAll)
	done := make(chan []state.LoadBalancer)
	go func() {
		lbs, err := c.LoadBalancers(ctx, false)
		if err != nil {
			t.Error(err)
		}
		done <- lbs
	}()
	<-started
	if _, _, err := c.CreateLoadBalancer(ctx, nlbInput("k8s-default-web-1", stackTags)); err != nil {
		t.Fatal(err)
	}
	release()
	if got := lbNames(<-done); len(got) != 0 {
		t.Fatalf("the overlapping list saw %v; the test needs it to predate the create", got)
	}
	lbs, err := c.LoadBalancers(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if got := lbNames(lbs); !slices.Equal(got, []string{"k8s-default-web-1"}) {
		t.Errorf("load balancers after the create = %v, want the new one: a pre-create list was cached", got)
	}
}

func TestStaleELBCacheTargetGroupListOverlappingCreateIsNotStored(t *testing.T) {
	ctx := context.Background()
	fake := elb.NewFakeAPI()
	c := elb.New(fake)
	started, release := holdFirst(fake, "DescribeTargetGroups", listAll)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := c.TargetGroups(ctx, false); err != nil {
			t.Error(err)
		}
	}()
	<-started
	if _, _, err := c.CreateTargetGroup(ctx, tgInput("k8s-default-web-80")); err != nil {
		t.Fatal(err)
	}
	release()
	<-done
	tgs, err := c.TargetGroups(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(tgs) != 1 || tgs[0].Name != "k8s-default-web-80" {
		t.Errorf("target groups after the create = %v, want the new one", tgs)
	}
}

func TestStaleELBCacheTargetsOverlappingRegisterAreNotStored(t *testing.T) {
	ctx := context.Background()
	fake := elb.NewFakeAPI()
	c := elb.New(fake)
	// Created by another process: this client has no targets of it cached (its own create
	// would have written an empty list through).
	arn, _, err := elb.New(fake).CreateTargetGroup(ctx, tgInput("k8s-default-web-80"))
	if err != nil {
		t.Fatal(err)
	}
	started, release := holdFirst(fake, "DescribeTargetHealth", func(any) bool { return true })
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := c.Targets(ctx, arn); err != nil {
			t.Error(err)
		}
	}()
	<-started
	if err := c.RegisterTargets(ctx, arn, []state.Target{{ID: "i-1", Port: 30080}}); err != nil {
		t.Fatal(err)
	}
	release()
	<-done
	ts, err := c.Targets(ctx, arn)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 1 {
		t.Errorf("targets after the register = %v, want i-1:30080", ts)
	}
}

func TestCreateLoadBalancerCostsOneReadAndWritesThrough(t *testing.T) {
	ctx := context.Background()
	fake := elb.NewFakeAPI()
	c := elb.New(fake)
	if _, err := c.LoadBalancers(ctx, false); err != nil { // the plan's read
		t.Fatal(err)
	}
	lb, adopted, err := c.CreateLoadBalancer(ctx, nlbInput("k8s-default-web-1", stackTags))
	if err != nil || adopted {
		t.Fatalf("create: adopted=%v err=%v", adopted, err)
	}
	lbs, err := c.LoadBalancers(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(lbs) != 1 || lbs[0].ARN != lb.ARN || lbs[0].Tags["service.k8s.aws/stack"] != "default/web" {
		t.Errorf("inventory after the create = %+v, want the new load balancer with its tags", lbs)
	}
	// One list for the plan, one lookup by name before the create, nothing after it.
	want := map[string]int{"DescribeLoadBalancers": 2, "CreateLoadBalancer": 1}
	if got := fake.Calls(); !mapsEqual(got, want) {
		t.Errorf("calls = %v, want %v", got, want)
	}
}

func TestCreateLoadBalancerAdoptsTheOneItsStackHas(t *testing.T) {
	ctx := context.Background()
	fake := elb.NewFakeAPI()
	arn := fake.AddLoadBalancer("k8s-default-web-1", nil, map[string]string{"elbv2.k8s.aws/cluster": "c1", "service.k8s.aws/stack": "default/web"})
	c := elb.New(fake)
	lb, adopted, err := c.CreateLoadBalancer(ctx, nlbInput("k8s-default-web-1", stackTags))
	if err != nil || !adopted || lb.ARN != arn {
		t.Fatalf("create = %s adopted=%v err=%v, want %s adopted", lb.ARN, adopted, err, arn)
	}
	if got := fake.LoadBalancerNames(); len(got) != 1 {
		t.Errorf("load balancers = %v, want one", got)
	}
}

func TestCreateLoadBalancerRefusesANameTakenByAnotherStack(t *testing.T) {
	for name, tags := range map[string]map[string]string{
		"another stack":     {"elbv2.k8s.aws/cluster": "c1", "service.k8s.aws/stack": "default/other"},
		"another cluster":   {"elbv2.k8s.aws/cluster": "c2", "service.k8s.aws/stack": "default/web"},
		"no tracking tags":  {"team": "db"},
		"no cluster tag":    {"service.k8s.aws/stack": "default/web"},
		"an ingress' stack": {"elbv2.k8s.aws/cluster": "c1", "ingress.k8s.aws/stack": "default/web"},
	} {
		t.Run(name, func(t *testing.T) {
			fake := elb.NewFakeAPI()
			fake.AddLoadBalancer("k8s-default-web-1", nil, tags)
			c := elb.New(fake)
			_, _, err := c.CreateLoadBalancer(context.Background(), nlbInput("k8s-default-web-1", stackTags))
			var taken *elb.NameTakenError
			if !errors.As(err, &taken) {
				t.Fatalf("err = %v, want a NameTakenError", err)
			}
			if got := fake.Calls()["CreateLoadBalancer"]; got != 0 {
				t.Errorf("%d CreateLoadBalancer calls, want 0", got)
			}
		})
	}
}

// Two reconciles that planned the same load balancer at once create it once.
func TestDuplicateLoadBalancerConcurrentCreatesMakeOne(t *testing.T) {
	ctx := context.Background()
	fake := elb.NewFakeAPI()
	c := elb.New(fake)
	// Hold the first create in flight long enough for the second caller to look the name
	// up, which, without one create per name at a time, finds nothing.
	var once sync.Once
	fake.Hook = func(action string, _ any) {
		if action == "CreateLoadBalancer" {
			once.Do(func() { time.Sleep(200 * time.Millisecond) })
		}
	}
	var wg sync.WaitGroup
	adopted := make([]bool, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if _, adopted[i], err = c.CreateLoadBalancer(ctx, nlbInput("k8s-default-web-1", stackTags)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := fake.LoadBalancerNames(); len(got) != 1 {
		t.Errorf("load balancers = %v, want exactly one", got)
	}
	if adopted[0] == adopted[1] {
		t.Errorf("adopted = %v, want one create and one adoption", adopted)
	}
}

func TestCreateTargetGroupAdoptsOnlyItsStacksGroup(t *testing.T) {
	ctx := context.Background()
	fake := elb.NewFakeAPI()
	first := elb.New(fake)  // one lbsg process
	second := elb.New(fake) // another one, with its own cache and locks
	arn, _, err := first.CreateTargetGroup(ctx, tgInput("k8s-default-web-80"))
	if err != nil {
		t.Fatal(err)
	}
	got, adopted, err := second.CreateTargetGroup(ctx, tgInput("k8s-default-web-80"))
	if err != nil || !adopted || got != arn {
		t.Fatalf("second create = %s adopted=%v err=%v, want %s adopted", got, adopted, err, arn)
	}
	other := tgInput("k8s-default-web-80")
	other.Tags = map[string]string{"elbv2.k8s.aws/cluster": "c1", "service.k8s.aws/stack": "default/other"}
	_, _, err = second.CreateTargetGroup(ctx, other)
	var taken *elb.NameTakenError
	if !errors.As(err, &taken) {
		t.Errorf("create for another stack: err = %v, want a NameTakenError", err)
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
