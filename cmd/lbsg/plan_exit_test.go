package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/lbsg/lbsg/internal/annotations"
	"github.com/lbsg/lbsg/internal/localenv"
	"github.com/lbsg/lbsg/internal/plan"
)

// statusOf is the exit status main gives a command's error.
func statusOf(err error) int {
	var code exitCode
	switch {
	case err == nil:
		return 0
	case errors.As(err, &code):
		return int(code)
	}
	return 1
}

// runLbsg runs the lbsg command line with args, as main does, and returns its output and
// exit status.
func runLbsg(ctx context.Context, args ...string) (string, int, error) {
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	return out.String(), statusOf(err), err
}

func TestPlanDetailedExitFromReport(t *testing.T) {
	change := plan.Plan{Changes: []plan.Change{{Op: plan.Op("create-lb")}}}
	tests := []struct {
		name string
		r    Report
		want int
	}{
		{"nothing to change", Report{Stacks: []StackReport{{}}}, 0},
		{"a stack changes", Report{Stacks: []StackReport{{}, {Plan: change}}}, 2},
		{"target SGs change", Report{Networking: change}, 2},
		{"an invalid object makes the plan incomplete", Report{Stacks: []StackReport{{Problems: []*annotations.Error{{}}}, {Plan: change}}}, 1},
		{"partial target SGs make the plan incomplete", Report{Partial: true}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := statusOf(tt.r.detailedExit()); got != tt.want {
				t.Errorf("exit status %d, want %d", got, tt.want)
			}
		})
	}
}

// TestPlanDetailedExitCode runs `lbsg plan --detailed-exitcode` against a real
// kube-apiserver and the AWS emulator: 0 with nothing to do, 2 once a Service asks for a
// load balancer, 1 when AWS cannot be reached or the flags are invalid.
func TestPlanDetailedExitCode(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel) // after the processes localWorld started have stopped
	moto, plane, world := localWorld(ctx, t, "exit-cluster")
	flags := func(endpoint string, extra ...string) []string {
		return append([]string{"plan", "--detailed-exitcode", "--cluster-name=exit-cluster", "--aws-region=" + localenv.Region,
			"--aws-vpc-id=" + world.VPCID, "--aws-max-retries=0",
			"--aws-api-endpoints=EC2=" + endpoint + ",Elastic Load Balancing v2=" + endpoint}, extra...)
	}

	out, code, err := runLbsg(ctx, flags(moto.Endpoint)...)
	if code != 0 {
		t.Fatalf("nothing to change: exit status %d (%v), want 0:\n%s", code, err, out)
	}

	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web", Annotations: map[string]string{
			"service.beta.kubernetes.io/aws-load-balancer-type":   "external",
			"service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing"}},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Name: "http", Port: 80,
			Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(8080), NodePort: 30091}}},
	}
	if err := plane.Client.Create(ctx, svc); err != nil {
		t.Fatal(err)
	}
	out, code, err = runLbsg(ctx, flags(moto.Endpoint)...)
	if code != 2 || !strings.Contains(out, "create-lb") {
		t.Fatalf("a Service to provision: exit status %d (%v), want 2 and a create-lb:\n%s", code, err, out)
	}

	unreachable := closedLoopbackURL(t)
	if _, code, err = runLbsg(ctx, flags(unreachable)...); code != 1 || err == nil {
		t.Errorf("AWS unreachable at %s: exit status %d (%v), want 1 and an error", unreachable, code, err)
	}
	if _, code, err = runLbsg(ctx, flags(moto.Endpoint, "--default-target-type=bogus")...); code != 1 || err == nil ||
		!strings.Contains(err.Error(), "invalid flags") {
		t.Errorf("invalid flags: exit status %d (%v), want 1 and an invalid flags error", code, err)
	}
}

// closedLoopbackURL is an http URL on a loopback port nothing listens on.
func closedLoopbackURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("http://%s", addr)
}
