package elb_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/lbsg/lbsg/internal/cloud"
	"github.com/lbsg/lbsg/internal/elb"
	"github.com/lbsg/lbsg/internal/localenv"
	"github.com/lbsg/lbsg/internal/state"
)

// TestMotoALB drives the ALB path against moto: a load balancer with an HTTP listener whose
// default action is a fixed 404, host and path rules, and an HTTPS listener with several
// ACM certificates; every write is read back through Listeners. A missing moto fails the
// test (it is never a skip).
func TestMotoALB(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	moto, err := localenv.StartMoto(ctx)
	if err != nil {
		t.Fatalf("moto is required for this test: %v", err)
	}
	t.Cleanup(func() {
		if err := moto.Close(); err != nil {
			t.Errorf("closing moto: %v", err)
		}
	})
	cfg, err := moto.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// SeedWorld also writes Node objects; nothing here reads them, so an in-memory client
	// stands in for a control plane.
	k8s := fake.NewClientBuilder().WithStatusSubresource(&corev1.Node{}).Build()
	w, err := localenv.SeedWorld(ctx, cfg, k8s, localenv.WorldOptions{Cluster: "elb", Nodes: 1})
	if err != nil {
		t.Fatal(err)
	}
	clients := cloud.NewFromConfig(cfg, cloud.Options{MaxAttempts: 1})
	c := elb.New(clients.ELBV2)
	calls := func(f func()) map[string]int {
		t.Helper()
		before := clients.Calls.Snapshot()
		f()
		return clients.Calls.Snapshot().Sub(before).ByAction()
	}

	sg, err := clients.EC2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName: aws.String("k8s-alb"), Description: aws.String("ALB frontend"), VpcId: aws.String(w.VPCID)})
	if err != nil {
		t.Fatal(err)
	}
	sgID := aws.ToString(sg.GroupId)
	created, _, err := c.CreateLoadBalancer(ctx, elb.CreateLoadBalancerInput{
		Name: "k8s-ns-alb-0123456789", Type: "application", Scheme: "internet-facing", IPAddressType: "ipv4",
		Subnets: []string{w.Subnets[0].ID, w.Subnets[1].ID}, SecurityGroups: []string{sgID},
		Tags: map[string]string{"elbv2.k8s.aws/cluster": "elb"},
	})
	if err != nil {
		t.Fatal(err)
	}
	lb := created.ARN
	listeners := func() []state.Listener {
		t.Helper()
		ls, err := c.Listeners(ctx, lb)
		if err != nil {
			t.Fatal(err)
		}
		return ls
	}
	lbs, err := c.LoadBalancers(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(lbs) != 1 || lbs[0].Type != "application" || !slices.Equal(lbs[0].SecurityGroups, []string{sgID}) {
		t.Errorf("LoadBalancers = %+v, want the ALB with security group %s", lbs, sgID)
	}

	tg := func(name string) string {
		t.Helper()
		arn, _, err := c.CreateTargetGroup(ctx, elb.TargetGroupInput{Name: name, Protocol: "HTTP", Port: 8080,
			TargetType: "ip", VPCID: w.VPCID, HealthCheck: state.HealthCheck{Protocol: "HTTP", Port: "traffic-port", Path: "/healthz"}})
		if err != nil {
			t.Fatal(err)
		}
		return arn
	}
	tgA, tgB := tg("k8s-ns-a-0123456789"), tg("k8s-ns-b-0123456789")

	// HTTP listener: a fixed 404 by default, traffic routed by rules. It and its rules are
	// created with the cluster and stack tags, which must arrive (moto keeps the Tags of
	// CreateListener and CreateRule, as AWS does).
	lt := map[string]string{"elbv2.k8s.aws/cluster": "elb", "ingress.k8s.aws/stack": "ns/alb"}
	httpARN, err := c.CreateListener(ctx, lb, elb.ListenerInput{Port: 80, Protocol: "HTTP", Tags: lt})
	if err != nil {
		t.Fatal(err)
	}
	rule := func(in elb.RuleInput) string {
		t.Helper()
		in.Tags = lt
		arn, err := c.CreateRule(ctx, lb, httpARN, in)
		if err != nil {
			t.Fatal(err)
		}
		return arn
	}
	r20 := rule(elb.RuleInput{Priority: 20, Paths: []string{"/static/*", "/img/*"}, TargetGroupARN: tgB})
	r10 := rule(elb.RuleInput{Priority: 10, Hosts: []string{"a.example.com"}, Paths: []string{"/api/*"}, TargetGroupARN: tgA})
	r5 := rule(elb.RuleInput{Priority: 5, Hosts: []string{"b.example.com", "c.example.com"}, TargetGroupARN: tgA})
	want := []state.Listener{{ARN: httpARN, Port: 80, Protocol: "HTTP", FixedResponseStatus: "404", Tags: lt, Rules: []state.ListenerRule{
		{ARN: r5, Priority: 5, Hosts: []string{"b.example.com", "c.example.com"}, TargetGroupARN: tgA, Tags: lt},
		{ARN: r10, Priority: 10, Hosts: []string{"a.example.com"}, Paths: []string{"/api/*"}, TargetGroupARN: tgA, Tags: lt},
		{ARN: r20, Priority: 20, Paths: []string{"/static/*", "/img/*"}, TargetGroupARN: tgB, Tags: lt},
	}}}
	var n map[string]int
	var got []state.Listener
	// The load balancer, listener and rules lbsg created are written through: reading
	// them back costs nothing and gives what a describe gives.
	n = calls(func() { got = listeners() })
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Listeners written through (-want +got):\n%s", diff)
	}
	if len(n) != 0 {
		t.Errorf("Listeners after lbsg's own creates made calls: %v", n)
	}
	c.ForgetListeners(lb)
	n = calls(func() { got = listeners() })
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Listeners after creating rules (-want +got):\n%s", diff)
	}
	// No certificates are read for an HTTP listener; the tags of the listener and its
	// three rules take one DescribeTags.
	if diff := cmp.Diff(map[string]int{"DescribeListeners": 1, "DescribeRules": 1, "DescribeTags": 1}, n); diff != "" {
		t.Errorf("calls of the first Listeners (-want +got):\n%s", diff)
	}
	// A second read is served from the cache, and changing it does not change the cache.
	got[0].Rules[0].Hosts[0] = "changed"
	if n = calls(func() { got = listeners() }); len(n) != 0 {
		t.Errorf("cached Listeners made calls: %v", n)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("cached Listeners (-want +got):\n%s", diff)
	}

	t.Run("ModifyAndDeleteRules", func(t *testing.T) {
		if err := c.ModifyRule(ctx, lb, r10, elb.RuleInput{Priority: 10, Hosts: []string{"x.example.com"}, TargetGroupARN: tgB}); err != nil {
			t.Fatal(err)
		}
		if err := c.DeleteRule(ctx, lb, r20); err != nil {
			t.Fatal(err)
		}
		if err := c.DeleteRule(ctx, lb, r20); err != nil {
			t.Errorf("deleting a deleted rule: %v", err)
		}
		want := []state.Listener{{ARN: httpARN, Port: 80, Protocol: "HTTP", FixedResponseStatus: "404", Tags: lt, Rules: []state.ListenerRule{
			{ARN: r5, Priority: 5, Hosts: []string{"b.example.com", "c.example.com"}, TargetGroupARN: tgA, Tags: lt},
			{ARN: r10, Priority: 10, Hosts: []string{"x.example.com"}, TargetGroupARN: tgB, Tags: lt},
		}}}
		if diff := cmp.Diff(want, listeners()); diff != "" {
			t.Errorf("Listeners after modifying and deleting rules (-want +got):\n%s", diff)
		}
		if err := c.ModifyRule(ctx, lb, r10, elb.RuleInput{Priority: 10, TargetGroupARN: tgB}); err == nil {
			t.Error("ModifyRule without hosts or paths succeeded")
		}
		if _, err := c.CreateRule(ctx, lb, httpARN, elb.RuleInput{Priority: 5, Paths: []string{"/dup"}, TargetGroupARN: tgA}); cloud.ErrorCode(err) != "PriorityInUse" {
			t.Errorf("CreateRule with a priority in use: %v, want PriorityInUse", err)
		}
	})

	t.Run("DefaultAction", func(t *testing.T) {
		if err := c.ModifyListener(ctx, lb, httpARN, elb.ListenerInput{Port: 80, Protocol: "HTTP", TargetGroupARN: tgA}); err != nil {
			t.Fatal(err)
		}
		ls := listeners()
		if ls[0].TargetGroupARN != tgA || ls[0].FixedResponseStatus != "" || len(ls[0].Rules) != 2 {
			t.Errorf("after forwarding by default: %+v, want a forward to %s and the rules kept", ls[0], tgA)
		}
		if err := c.ModifyListener(ctx, lb, httpARN, elb.ListenerInput{Port: 80, Protocol: "HTTP"}); err != nil {
			t.Fatal(err)
		}
		if ls := listeners(); ls[0].TargetGroupARN != "" || ls[0].FixedResponseStatus != "404" {
			t.Errorf("after a fixed response by default: %+v, want 404", ls[0])
		}
	})

	t.Run("HTTPS", func(t *testing.T) {
		a := acm.NewFromConfig(cfg)
		var certs []string
		for i := range 4 {
			out, err := a.RequestCertificate(ctx, &acm.RequestCertificateInput{DomainName: aws.String(fmt.Sprintf("c%d.example.com", i))})
			if err != nil {
				t.Fatal(err)
			}
			certs = append(certs, aws.ToString(out.CertificateArn))
		}
		sorted := func(s ...string) []string { return slices.Sorted(slices.Values(s)) }

		httpsARN, err := c.CreateListener(ctx, lb, elb.ListenerInput{Port: 443, Protocol: "HTTPS", TargetGroupARN: tgA,
			Certificates: []string{certs[0], certs[2], certs[1]}})
		if err != nil {
			t.Fatal(err)
		}
		var ls []state.Listener
		n := calls(func() { ls = listeners() })
		// A new HTTPS listener gets the default SSL policy.
		want := state.Listener{ARN: httpsARN, Port: 443, Protocol: "HTTPS", TargetGroupARN: tgA,
			Certificates: append([]string{certs[0]}, sorted(certs[1], certs[2])...), SslPolicy: "ELBSecurityPolicy-2016-08"}
		if len(ls) != 2 || ls[0].Port != 80 {
			t.Fatalf("Listeners = %+v, want ports 80 and 443", ls)
		}
		if diff := cmp.Diff(want, ls[1]); diff != "" {
			t.Errorf("HTTPS listener after create (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(map[string]int{"DescribeListeners": 1, "DescribeListenerCertificates": 1, "DescribeRules": 2, "DescribeTags": 1}, n); diff != "" {
			t.Errorf("calls of Listeners with an HTTPS listener (-want +got):\n%s", diff)
		}

		// A policy someone chose survives lbsg's modifications: lbsg never sends one.
		if _, err := clients.ELBV2.ModifyListener(ctx, &elbv2.ModifyListenerInput{ListenerArn: aws.String(httpsARN),
			SslPolicy: aws.String("ELBSecurityPolicy-TLS-1-2-2017-01")}); err != nil {
			t.Fatal(err)
		}
		c.ForgetListeners(lb)
		want.SslPolicy = "ELBSecurityPolicy-TLS-1-2-2017-01"

		// A new default (an additional certificate so far), one additional kept, one
		// removed, one added.
		if err := c.ModifyListener(ctx, lb, httpsARN, elb.ListenerInput{Port: 443, Protocol: "HTTPS", TargetGroupARN: tgA,
			Certificates: []string{certs[1], certs[3], certs[2]}}); err != nil {
			t.Fatal(err)
		}
		want.Certificates = append([]string{certs[1]}, sorted(certs[2], certs[3])...)
		if diff := cmp.Diff(want, listeners()[1]); diff != "" {
			t.Errorf("HTTPS listener after modify (-want +got):\n%s", diff)
		}
		// The same default, no additional certificates.
		if err := c.ModifyListener(ctx, lb, httpsARN, elb.ListenerInput{Port: 443, Protocol: "HTTPS", TargetGroupARN: tgA,
			Certificates: []string{certs[1]}}); err != nil {
			t.Fatal(err)
		}
		want.Certificates = []string{certs[1]}
		if diff := cmp.Diff(want, listeners()[1]); diff != "" {
			t.Errorf("HTTPS listener after dropping the additional certificates (-want +got):\n%s", diff)
		}

		// A rule on the HTTPS listener is read like one on HTTP.
		r, err := c.CreateRule(ctx, lb, httpsARN, elb.RuleInput{Priority: 1, Paths: []string{"/"}, TargetGroupARN: tgB})
		if err != nil {
			t.Fatal(err)
		}
		want.Rules = []state.ListenerRule{{ARN: r, Priority: 1, Paths: []string{"/"}, TargetGroupARN: tgB}}
		if diff := cmp.Diff(want, listeners()[1]); diff != "" {
			t.Errorf("HTTPS listener with a rule (-want +got):\n%s", diff)
		}

		// moto checks that a certificate exists in ACM (or IAM), as AWS does.
		_, err = c.CreateListener(ctx, lb, elb.ListenerInput{Port: 8443, Protocol: "HTTPS", TargetGroupARN: tgA,
			Certificates: []string{"arn:aws:acm:us-west-2:123456789012:certificate/00000000-0000-0000-0000-000000000000"}})
		if err == nil {
			t.Error("CreateListener with a certificate ACM does not have succeeded")
		}
	})

	t.Run("NLB", func(t *testing.T) {
		nlb, _, err := c.CreateLoadBalancer(ctx, elb.CreateLoadBalancerInput{Name: "k8s-ns-nlb-0123456789", Type: "network",
			Scheme: "internal", IPAddressType: "ipv4", Subnets: []string{w.Subnets[0].ID}})
		if err != nil {
			t.Fatal(err)
		}
		tcp, _, err := c.CreateTargetGroup(ctx, elb.TargetGroupInput{Name: "k8s-ns-tcp-0123456789", Protocol: "TCP", Port: 30080,
			TargetType: "instance", VPCID: w.VPCID, HealthCheck: state.HealthCheck{Protocol: "TCP", Port: "traffic-port"}})
		if err != nil {
			t.Fatal(err)
		}
		arn, err := c.CreateListener(ctx, nlb.ARN, elb.ListenerInput{Port: 80, Protocol: "TCP", TargetGroupARN: tcp})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.ModifyListener(ctx, nlb.ARN, arn, elb.ListenerInput{Port: 80, Protocol: "TCP", TargetGroupARN: tcp}); err != nil {
			t.Fatal(err)
		}
		var ls []state.Listener
		n := calls(func() {
			if ls, err = c.Listeners(ctx, nlb.ARN); err != nil {
				t.Fatal(err)
			}
		})
		if diff := cmp.Diff([]state.Listener{{ARN: arn, Port: 80, Protocol: "TCP", TargetGroupARN: tcp}}, ls); diff != "" {
			t.Errorf("NLB listeners (-want +got):\n%s", diff)
		}
		// Neither rules nor certificates are read for a TCP listener; its tags are.
		if diff := cmp.Diff(map[string]int{"DescribeListeners": 1, "DescribeTags": 1}, n); diff != "" {
			t.Errorf("calls of Listeners of an NLB (-want +got):\n%s", diff)
		}

		// A listener created without tags (upstream's, an older lbsg's) is tagged once.
		nt := map[string]string{"elbv2.k8s.aws/cluster": "elb", "service.k8s.aws/stack": "ns/nlb"}
		n = calls(func() {
			if err := c.TagListeners(ctx, nlb.ARN, []string{arn}, nt); err != nil {
				t.Fatal(err)
			}
		})
		if diff := cmp.Diff(map[string]int{"AddTags": 1}, n); diff != "" {
			t.Errorf("calls of TagListeners (-want +got):\n%s", diff)
		}
		if ls, err = c.Listeners(ctx, nlb.ARN); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]state.Listener{{ARN: arn, Port: 80, Protocol: "TCP", TargetGroupARN: tcp, Tags: nt}}, ls); diff != "" {
			t.Errorf("NLB listeners after TagListeners (-want +got):\n%s", diff)
		}
	})
}
