//go:build linux

package main

import (
	"strings"
	"testing"

	"github.com/lbsg/lbsg/internal/awsproxy"
)

// createRun is a size whose create made n calls of each action, in seconds.
func createRun(n int, seconds float64, calls awsproxy.Counts) runResult {
	return runResult{N: n, Phases: []phaseResult{{Name: phaseCreate, Calls: calls, Converge: calls, Seconds: seconds, Converged: true}}}
}

func nlbCreates(n int) awsproxy.Counts {
	return awsproxy.Counts{
		{Service: awsproxy.ServiceELBV2, Action: "CreateLoadBalancer"}:   n,
		{Service: awsproxy.ServiceELBV2, Action: "CreateListener"}:       n,
		{Service: awsproxy.ServiceEC2, Action: "CreateSecurityGroup"}:    n,
		{Service: awsproxy.ServiceEC2, Action: "DescribeSecurityGroups"}: n,
	}
}

func TestConvergenceAgainstTheBound(t *testing.T) {
	// 100 CreateLoadBalancer: 10 at once, then one every 5 s.
	r := &report{Sizes: []runResult{createRun(100, 495, nlbCreates(100))}}
	got := convergeRow(&r.Sizes[0], phaseCreate)
	for _, want := range []string{"495.0 s | 450.0 s | 1.10 |", "ELBv2 `^(CreateLoadBalancer\\|SetSubnets)$` (100 calls; 10 at once, then 0.2/s)"} {
		if !strings.Contains(got, want) {
			t.Errorf("row %q lacks %q", got, want)
		}
	}
	target := targets17[len(targets17)-1].eval(r)
	for _, want := range []string{"495.0 s; bound 450.0 s, ratio 1.10: **not met**", "the limits alone allow no less than 450.0 s"} {
		if !strings.Contains(target, want) {
			t.Errorf("target %q lacks %q", target, want)
		}
	}

	// Within every burst, nothing holds a call back: no ratio.
	r = &report{Sizes: []runResult{createRun(100, 12, nlbCreates(5))}}
	if got := convergeRow(&r.Sizes[0], phaseCreate); got != "12.0 s | 0.0 s | - | no limit held a call back" {
		t.Errorf("row = %q", got)
	}
	if got := targets17[len(targets17)-1].eval(r); got != "12.0 s; bound 0.0 s, ratio -: met" {
		t.Errorf("target = %q", got)
	}
}

func TestFlatTarget(t *testing.T) {
	total := func(n int) awsproxy.Counts {
		return awsproxy.Counts{{Service: awsproxy.ServiceEC2, Action: "DescribeVpcs"}: n}
	}
	tests := []struct {
		name  string
		sizes []runResult
		want  string
	}{
		{"flat up to 1,000", []runResult{createRun(1, 1, total(13)), createRun(20, 1, total(180)), createRun(100, 1, total(820)), createRun(1000, 1, total(8200))},
			"N = 100: 8.2, N = 1000: 8.2 (N = 20: 9.0): met"},
		{"growing", []runResult{createRun(20, 1, total(180)), createRun(500, 1, total(5000))},
			"N = 500: 10.0 (N = 20: 9.0): **not met** up to N = 500; N = 1,000 not run"},
		{"without N = 20", []runResult{createRun(100, 1, total(800))}, "not run (needs N = 20)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := flatTarget(&report{Sizes: tt.sizes}); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}
