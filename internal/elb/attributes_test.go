package elb_test

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lbsg/lbsg/internal/elb"
	"github.com/lbsg/lbsg/internal/state"
)

// Attribute reads are cached by ARN; a write sends only the keys it is given, leaves the
// others as they are, and is written through the cached reading. Listener attributes are checked here
// on the in-memory ELBv2 as well as on the emulator (test/e2e/healthcheck_test.go).
func TestAttributesAreCachedAndWritesSendOnlyTheirKeys(t *testing.T) {
	ctx := context.Background()
	fake, c, lbARN := fakeALB(t)
	lArn, err := c.CreateListener(ctx, lbARN, elb.ListenerInput{Port: 80, Protocol: "HTTP"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ kind, arn string }{{elb.AttrLoadBalancer, lbARN}, {elb.AttrListener, lArn}} {
		fake.SetAttribute(tc.arn, "set.by.hand", "1")
		for i := 0; i < 2; i++ {
			if _, err := c.Attributes(ctx, tc.kind, tc.arn); err != nil {
				t.Fatal(err)
			}
		}
		if err := c.SetAttributes(ctx, tc.kind, tc.arn, map[string]string{"routing.http2.enabled": "false"}, false); err != nil {
			t.Fatal(err)
		}
		got, err := c.Attributes(ctx, tc.kind, tc.arn)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(map[string]string{"set.by.hand": "1", "routing.http2.enabled": "false"}, got); diff != "" {
			t.Errorf("%s attributes after a write (-want +got):\n%s", tc.kind, diff)
		}
	}
	calls := fake.Calls()
	if calls["DescribeLoadBalancerAttributes"] != 1 || calls["DescribeListenerAttributes"] != 1 {
		t.Errorf("describe calls %v: want one (later reads are cached, the write goes through)", calls)
	}
}

func TestTargetGroupHealthSettingsRoundTrip(t *testing.T) {
	ctx := context.Background()
	_, c, _ := fakeALB(t)
	hc := state.HealthCheck{Protocol: "HTTP", Port: "traffic-port", Path: "/ready", Interval: 20, Timeout: 8, Healthy: 3, Unhealthy: 4, SuccessCodes: "200,204"}
	arn, _, err := c.CreateTargetGroup(ctx, elb.TargetGroupInput{Name: "k8s-front-web-1", Protocol: "HTTP", TargetType: "ip", VPCID: "vpc-1",
		Port: 8080, HealthCheck: hc, ProtocolVersion: "HTTP2", Tags: stackTags})
	if err != nil {
		t.Fatal(err)
	}
	hc.Healthy = 5
	if err := c.ModifyHealthCheck(ctx, arn, state.HealthCheck{Protocol: "HTTP", Port: "traffic-port", Path: "/ready", Healthy: 5}, "HTTP2"); err != nil {
		t.Fatal(err)
	}
	tgs, err := c.TargetGroups(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(tgs) != 1 || tgs[0].ProtocolVersion != "HTTP2" {
		t.Fatalf("target groups %+v", tgs)
	}
	if diff := cmp.Diff(hc, tgs[0].HealthCheck); diff != "" {
		t.Errorf("health check read back (-want +got); a modify must leave unset settings as they are:\n%s", diff)
	}
}

// The attributes written on a resource just created are cached, so the next reconcile reads
// nothing; a write on an existing resource whose attributes are not cached leaves the next
// read to AWS, which holds the keys lbsg did not write.
func TestAttributesOfANewResourceAreWrittenThrough(t *testing.T) {
	ctx := context.Background()
	fake, c, lbARN := fakeALB(t)
	if err := c.SetAttributes(ctx, elb.AttrLoadBalancer, lbARN, map[string]string{"idle_timeout.timeout_seconds": "90"}, true); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Attributes(ctx, elb.AttrLoadBalancer, lbARN); err != nil || got["idle_timeout.timeout_seconds"] != "90" {
		t.Fatalf("attributes %v, %v", got, err)
	}
	if n := fake.Calls()["DescribeLoadBalancerAttributes"]; n != 0 {
		t.Errorf("%d reads after writing a new resource's attributes, want 0", n)
	}

	lArn, err := c.CreateListener(ctx, lbARN, elb.ListenerInput{Port: 80, Protocol: "HTTP"})
	if err != nil {
		t.Fatal(err)
	}
	fake.SetAttribute(lArn, "set.by.hand", "1")
	if err := c.SetAttributes(ctx, elb.AttrListener, lArn, map[string]string{"routing.http.response.server.enabled": "false"}, false); err != nil {
		t.Fatal(err)
	}
	got, err := c.Attributes(ctx, elb.AttrListener, lArn)
	if err != nil || got["set.by.hand"] != "1" {
		t.Errorf("attributes %v, %v: the read after writing an existing resource must go to AWS", got, err)
	}
}
