package elb_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lbsg/lbsg/internal/cloud"
	"github.com/lbsg/lbsg/internal/elb"
	"github.com/lbsg/lbsg/internal/state"
)

// The in-memory ELBv2 answers as AWS does where lbsg's reads and writes depend on it; these
// tests drive it through the Client, as the executor and the observers do.

func fakeALB(t *testing.T) (*elb.FakeAPI, *elb.Client, string) {
	t.Helper()
	fake := elb.NewFakeAPI()
	c := elb.New(fake)
	lb, _, err := c.CreateLoadBalancer(context.Background(), elb.CreateLoadBalancerInput{Name: "k8s-front-1", Type: "application",
		Scheme: "internal", IPAddressType: "ipv4", Subnets: []string{"subnet-b", "subnet-a"}, SecurityGroups: []string{"sg-1"}, Tags: stackTags})
	if err != nil {
		t.Fatal(err)
	}
	return fake, c, lb.ARN
}

func TestFakeAPIKeepsAdditionalCertificatesAcrossAModify(t *testing.T) {
	ctx := context.Background()
	_, c, lbARN := fakeALB(t)
	arn, err := c.CreateListener(ctx, lbARN, elb.ListenerInput{Port: 443, Protocol: "HTTPS", Certificates: []string{"cert-a", "cert-c", "cert-b"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ModifyListener(ctx, lbARN, arn, elb.ListenerInput{Port: 443, Protocol: "HTTPS", Certificates: []string{"cert-b", "cert-c"}}); err != nil {
		t.Fatal(err)
	}
	ls, err := c.Listeners(ctx, lbARN)
	if err != nil {
		t.Fatal(err)
	}
	if len(ls) != 1 {
		t.Fatalf("listeners = %+v, want one", ls)
	}
	// The default first, then the others sorted; the old default is gone, and the SSL
	// policy is AWS's default for a listener created without one.
	if diff := cmp.Diff([]string{"cert-b", "cert-c"}, ls[0].Certificates); diff != "" {
		t.Errorf("certificates (-want +got):\n%s", diff)
	}
	if ls[0].SslPolicy == "" {
		t.Errorf("HTTPS listener without an SSL policy")
	}
}

func TestFakeAPIRefusesToDeleteATargetGroupALoadBalancerForwardsTo(t *testing.T) {
	ctx := context.Background()
	_, c, lbARN := fakeALB(t)
	tg, _, err := c.CreateTargetGroup(ctx, tgInput("k8s-front-web-80"))
	if err != nil {
		t.Fatal(err)
	}
	listener, err := c.CreateListener(ctx, lbARN, elb.ListenerInput{Port: 80, Protocol: "HTTP"})
	if err != nil {
		t.Fatal(err)
	}
	rule, err := c.CreateRule(ctx, lbARN, listener, elb.RuleInput{Priority: 1, Paths: []string{"/"}, TargetGroupARN: tg})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteTargetGroup(ctx, tg); !cloud.IsResourceInUse(err) {
		t.Fatalf("delete a target group a rule forwards to: err = %v, want ResourceInUse", err)
	}
	if err := c.DeleteRule(ctx, lbARN, rule); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteTargetGroup(ctx, tg); err != nil {
		t.Fatalf("delete once nothing forwards to it: %v", err)
	}
}

func TestFakeAPIDeletesListenersAndRulesWithTheirLoadBalancer(t *testing.T) {
	ctx := context.Background()
	fake, c, lbARN := fakeALB(t)
	tg, _, err := c.CreateTargetGroup(ctx, tgInput("k8s-front-web-80"))
	if err != nil {
		t.Fatal(err)
	}
	listener, err := c.CreateListener(ctx, lbARN, elb.ListenerInput{Port: 80, Protocol: "HTTP", TargetGroupARN: tg})
	if err != nil {
		t.Fatal(err)
	}
	rule, err := c.CreateRule(ctx, lbARN, listener, elb.RuleInput{Priority: 1, Hosts: []string{"a.example"}, TargetGroupARN: tg})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteLoadBalancer(ctx, lbARN); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteRule(ctx, lbARN, rule); err != nil {
		t.Errorf("delete a rule that went with its load balancer: %v, want no error (already gone)", err)
	}
	if err := c.DeleteTargetGroup(ctx, tg); err != nil {
		t.Errorf("delete the target group once its load balancer is gone: %v", err)
	}
	if got := fake.LoadBalancerNames(); len(got) != 0 {
		t.Errorf("load balancers left: %v", got)
	}
}

func TestFakeAPIReadsBackWhatTheWritesSet(t *testing.T) {
	ctx := context.Background()
	_, c, lbARN := fakeALB(t)
	if err := c.SetSecurityGroups(ctx, lbARN, []string{"sg-2"}, ""); err != nil {
		t.Fatal(err)
	}
	if err := c.SetSubnets(ctx, lbARN, []string{"subnet-c"}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetIPAddressType(ctx, lbARN, "dualstack"); err != nil {
		t.Fatal(err)
	}
	if err := c.Tag(ctx, lbARN, map[string]string{"team": "a"}, []string{"user"}); err != nil {
		t.Fatal(err)
	}
	tg, _, err := c.CreateTargetGroup(ctx, tgInput("k8s-front-web-80"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ModifyHealthCheck(ctx, tg, state.HealthCheck{Protocol: "HTTP", Port: "8080", Path: "/healthz"}, ""); err != nil {
		t.Fatal(err)
	}
	targets := []state.Target{{ID: "i-1", Port: 80}, {ID: "i-2", Port: 80}}
	if err := c.RegisterTargets(ctx, tg, targets); err != nil {
		t.Fatal(err)
	}
	if err := c.RegisterTargets(ctx, tg, targets[:1]); err != nil { // registered twice: one target
		t.Fatal(err)
	}
	if err := c.DeregisterTargets(ctx, tg, targets[1:]); err != nil {
		t.Fatal(err)
	}

	lbs, err := c.LoadBalancers(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	wantLB := []state.LoadBalancer{{ARN: lbARN, Name: "k8s-front-1", DNSName: "k8s-front-1.elb.example", Type: "application",
		Scheme: "internal", IPAddressType: "dualstack", SecurityGroups: []string{"sg-2"}, Subnets: []string{"subnet-c"},
		Tags: map[string]string{"elbv2.k8s.aws/cluster": "c1", "service.k8s.aws/stack": "default/web", "team": "a"}}}
	if diff := cmp.Diff(wantLB, lbs); diff != "" {
		t.Errorf("load balancers (-want +got):\n%s", diff)
	}
	tgs, err := c.TargetGroups(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(tgs) != 1 || tgs[0].HealthCheck != (state.HealthCheck{Protocol: "HTTP", Port: "8080", Path: "/healthz"}) {
		t.Errorf("target groups = %+v, want the modified health check", tgs)
	}
	got, err := c.Targets(ctx, tg)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(targets[:1], got); diff != "" {
		t.Errorf("targets (-want +got):\n%s", diff)
	}
}
