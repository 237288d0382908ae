//go:build linux

package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lbsg/lbsg/internal/cloud"
)

func TestPhaseEnd(t *testing.T) {
	const quiet = 5 * time.Second
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	idle := func(runs, errs int) passState { return passState{Runs: runs, Errors: errs} }
	at := func(sec float64, calls int, p passState) sample {
		return sample{At: t0.Add(time.Duration(sec * float64(time.Second))), Calls: calls, Pass: p}
	}
	tests := []struct {
		name     string
		needPass bool
		before   passState
		samples  []sample
		endsAt   int    // index of the sample at which the phase ends, -1: not within the samples
		waiting  string // what it still waits for, when it does not end
	}{
		{"the pass ran before the condition held: quiet from the first look",
			true, idle(3, 0), []sample{at(0, 13, idle(4, 0)), at(4.9, 13, idle(4, 0)), at(5, 13, idle(4, 0))}, 2, ""},
		{"a call restarts the quiet",
			true, idle(3, 0), []sample{at(0, 13, idle(4, 0)), at(4, 14, idle(4, 0)), at(8.9, 14, idle(4, 0)), at(9, 14, idle(4, 0))}, 3, ""},
		{"a pass that runs without a call restarts the quiet too",
			true, idle(3, 0), []sample{at(0, 13, idle(4, 0)), at(3, 13, idle(5, 0)), at(7, 13, idle(5, 0)), at(8, 13, idle(5, 0))}, 3, ""},
		{"the pass that follows the change has not run yet: no end, however quiet",
			true, idle(3, 0), []sample{at(0, 13, idle(3, 0)), at(60, 13, idle(3, 0))}, -1, "the target-SG pass that follows the change never ran"},
		{"... until it runs, and then after quiet",
			true, idle(3, 0), []sample{at(0, 13, idle(3, 0)), at(20, 13, passState{Runs: 3, Queued: 1}), at(21, 15, passState{Runs: 3, Running: 1}),
				at(22, 16, idle(4, 0)), at(26.9, 16, idle(4, 0)), at(27, 16, idle(4, 0))}, 5, ""},
		{"a change the pass ignores (the no-op) ends on quiet alone",
			false, idle(3, 0), []sample{at(0, 0, idle(3, 0)), at(5, 0, idle(3, 0))}, 1, ""},
		{"a queued or running pass is activity, even with no call",
			false, idle(3, 0), []sample{at(0, 0, passState{Runs: 3, Queued: 1}), at(5, 0, passState{Runs: 3, Running: 1}), at(10, 0, passState{Runs: 3, Running: 1})},
			-1, "the target-SG pass was still running or queued"},
		{"a failed pass is retried after a backoff the queue does not show: wait for the retry",
			true, idle(3, 0), []sample{at(0, 13, idle(4, 1)), at(30, 13, idle(4, 1))}, -1, "the target-SG pass failed and its retry did not come"},
		{"... which ends it once it succeeded",
			true, idle(3, 0), []sample{at(0, 13, idle(4, 1)), at(12, 14, idle(5, 1)), at(17, 14, idle(5, 1))}, 2, ""},
		{"a failure followed by a success between two looks is no pending retry",
			true, idle(3, 0), []sample{at(0, 13, idle(3, 0)), at(1, 14, idle(5, 1)), at(6, 14, idle(5, 1))}, 2, ""},
		{"a retry that fails again keeps waiting",
			true, idle(3, 0), []sample{at(0, 13, idle(4, 1)), at(12, 14, idle(5, 2)), at(40, 14, idle(5, 2))}, -1,
			"the target-SG pass failed and its retry did not come"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newPhaseEnd(quiet, tt.needPass, tt.before)
			got := -1
			for i, s := range tt.samples {
				if e.observe(s) {
					got = i
					break
				}
			}
			if got != tt.endsAt {
				t.Fatalf("ended at sample %d, want %d", got, tt.endsAt)
			}
			if got < 0 && e.waitingFor() != tt.waiting {
				t.Errorf("waiting for %q, want %q", e.waitingFor(), tt.waiting)
			}
		})
	}
}

const metricsText = `# HELP controller_runtime_reconcile_total Total number of reconciliations per controller
# TYPE controller_runtime_reconcile_total counter
controller_runtime_reconcile_total{controller="service",result="success"} 40
controller_runtime_reconcile_total{controller="target-security-groups",result="error"} 2
controller_runtime_reconcile_total{controller="target-security-groups",result="requeue"} 0
controller_runtime_reconcile_total{controller="target-security-groups",result="requeue_after"} 7
controller_runtime_reconcile_total{controller="target-security-groups",result="success"} 1
# HELP controller_runtime_active_workers Number of currently used workers per controller
# TYPE controller_runtime_active_workers gauge
controller_runtime_active_workers{controller="service"} 3
controller_runtime_active_workers{controller="target-security-groups"} 1
# HELP workqueue_depth Current depth of workqueue
# TYPE workqueue_depth gauge
workqueue_depth{controller="service",name="service",priority=""} 12
workqueue_depth{controller="target-security-groups",name="target-security-groups",priority=""} 1
# HELP lbsg_aws_api_calls_total AWS API attempts.
# TYPE lbsg_aws_api_calls_total counter
lbsg_aws_api_calls_total{action="CreateLoadBalancer",outcome="ok",service="Elastic Load Balancing v2"} 3
lbsg_aws_api_calls_total{action="DescribeSecurityGroups",outcome="Throttling",service="EC2"} 2
`

func TestParseMetrics(t *testing.T) {
	m, err := parseMetrics(strings.NewReader(metricsText))
	if err != nil {
		t.Fatal(err)
	}
	if want := (passState{Runs: 10, Errors: 2, Running: 1, Queued: 1}); m.Pass != want {
		t.Errorf("pass = %+v, want %+v", m.Pass, want)
	}
	want := cloud.Counts{
		{Service: cloud.ServiceELBV2, Action: "CreateLoadBalancer", Outcome: "ok"}:           3,
		{Service: cloud.ServiceEC2, Action: "DescribeSecurityGroups", Outcome: "Throttling"}: 2,
	}
	if m.Calls.String() != want.String() {
		t.Errorf("calls:\n%s want\n%s", m.Calls, want)
	}

	// Without the pass's metrics a phase could never end on it: an error, not zeros.
	noPass := strings.ReplaceAll(metricsText, `controller="target-security-groups"`, `controller="other"`)
	if _, err := parseMetrics(strings.NewReader(noPass)); !errors.Is(err, errNoPass) || !strings.Contains(err.Error(), passController) {
		t.Errorf("metrics without the pass: err = %v, want errNoPass naming %q", err, passController)
	}
}
