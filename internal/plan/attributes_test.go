package plan

import (
	"path/filepath"
	"strconv"
	"testing"

	"github.com/lbsg/lbsg/internal/spec"
	"github.com/lbsg/lbsg/internal/state"
)

// Only the attributes the user set are written, and only those whose observed value
// differs; an attribute set in AWS that the user did not name is never sent.
func TestAttributesNotNamedByTheUserAreNeverWritten(t *testing.T) {
	in := readGoldenInput(t, filepath.Join("testdata", "nlb-attributes"))
	p := Stack(*in.Stack, in.Owner)
	for _, c := range p.Changes {
		for k := range c.Attributes {
			switch k {
			case "access_logs.s3.enabled", "stickiness.enabled":
				t.Errorf("%s writes %s, which the user did not set", c.Op, k)
			case "deletion_protection.enabled", "proxy_protocol_v2.enabled":
				t.Errorf("%s writes %s, which AWS already has", c.Op, k)
			}
		}
	}
	if n := len(changesOf(p, OpSetLBAttributes)) + len(changesOf(p, OpSetTGAttributes)) + len(changesOf(p, OpSetListenerAttributes)); n != 3 {
		t.Errorf("%d attribute changes, want 3:\n%s", n, render(t, p))
	}
}

// Attributes the observation holds in step plan nothing.
func TestAttributesInStepPlanNothing(t *testing.T) {
	in := readGoldenInput(t, filepath.Join("testdata", "nlb-attributes"))
	d := *in.Stack.Desired
	for arn, attrs := range in.Stack.Observed.Attributes {
		for k := range attrs {
			if k == "load_balancing.cross_zone.enabled" || k == "deregistration_delay.timeout_seconds" || k == "tcp.idle_timeout.seconds" {
				delete(attrs, k)
			}
		}
		in.Stack.Observed.Attributes[arn] = attrs
	}
	d.LoadBalancer.Attributes = map[string]string{"deletion_protection.enabled": "true"}
	d.Listeners = append([]spec.Listener(nil), d.Listeners...)
	d.Listeners[0].Attributes = nil
	d.TargetGroups = append([]spec.TargetGroup(nil), d.TargetGroups...)
	d.TargetGroups[0].Attributes = map[string]string{"proxy_protocol_v2.enabled": "true"}
	d.TargetGroups[0].HealthCheck.Healthy = 5
	in.Stack.Desired = &d
	if p := Stack(*in.Stack, in.Owner); !p.Empty() {
		t.Errorf("plan is not empty:\n%s", render(t, p))
	}
}

// A target group, load balancer or listener the plan creates gets every attribute the user
// set, after it is created and before traffic reaches it (target groups before targets are
// registered).
func TestAttributesOfNewResourcesAreSetOnceCreated(t *testing.T) {
	in := readGoldenInput(t, filepath.Join("testdata", "first-round"))
	d := *in.Stack.Desired
	d.TargetGroups = append([]spec.TargetGroup(nil), d.TargetGroups...)
	d.TargetGroups[0].Attributes = map[string]string{"proxy_protocol_v2.enabled": "true"}
	d.LoadBalancer.Attributes = map[string]string{"load_balancing.cross_zone.enabled": "true"}
	d.Listeners = append([]spec.Listener(nil), d.Listeners...)
	d.Listeners[0].Attributes = map[string]string{"tcp.idle_timeout.seconds": "400"}
	in.Stack.Desired = &d
	p := Stack(*in.Stack, in.Owner)
	checkPhases(t, p)
	index := func(op Op, key string) int {
		for i, c := range p.Changes {
			if c.Op == op && c.Target.Key == key {
				return i
			}
		}
		t.Fatalf("no %s on %s:\n%s", op, key, render(t, p))
		return -1
	}
	tgKey := tgKey(d.TargetGroups[0].ResourceID)
	lKey := "listener/" + itoa(d.Listeners[0].Port)
	if index(OpCreateTG, tgKey) > index(OpSetTGAttributes, tgKey) || index(OpCreateLB, keyLB) > index(OpSetLBAttributes, keyLB) ||
		index(OpCreateListener, lKey) > index(OpSetListenerAttributes, lKey) {
		t.Errorf("attributes set before their resource is created:\n%s", render(t, p))
	}
	for _, c := range changesOf(p, OpRegister) {
		if c.Target.Key == tgKey && index(OpSetTGAttributes, tgKey) > index(OpRegister, tgKey) {
			t.Errorf("targets registered before the target group's attributes are set:\n%s", render(t, p))
		}
	}
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }

// A health-check setting the user left unset (zero) matches whatever AWS has; one the user
// set must match.
func TestHealthSettingsLeftUnsetAreNotCompared(t *testing.T) {
	have := state.HealthCheck{Protocol: "HTTP", Port: "traffic-port", Path: "/", Interval: 30, Timeout: 5, Healthy: 5, Unhealthy: 2, SuccessCodes: "200"}
	tests := []struct {
		name  string
		want  spec.HealthCheck
		equal bool
	}{
		{"nothing set", spec.HealthCheck{Protocol: "HTTP", Port: "traffic-port", Path: "/"}, true},
		{"same interval", spec.HealthCheck{Protocol: "HTTP", Port: "traffic-port", Path: "/", Interval: 30}, true},
		{"other interval", spec.HealthCheck{Protocol: "HTTP", Port: "traffic-port", Path: "/", Interval: 10}, false},
		{"other timeout", spec.HealthCheck{Protocol: "HTTP", Port: "traffic-port", Path: "/", Timeout: 6}, false},
		{"other healthy", spec.HealthCheck{Protocol: "HTTP", Port: "traffic-port", Path: "/", Healthy: 3}, false},
		{"other unhealthy", spec.HealthCheck{Protocol: "HTTP", Port: "traffic-port", Path: "/", Unhealthy: 3}, false},
		{"other codes", spec.HealthCheck{Protocol: "HTTP", Port: "traffic-port", Path: "/", SuccessCodes: "200-399"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := hcEqual(tc.want, have); got != tc.equal {
				t.Errorf("hcEqual = %v, want %v", got, tc.equal)
			}
		})
	}
}
