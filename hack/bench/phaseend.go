//go:build linux

package main

import (
	"fmt"
	"io"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/lbsg/lbsg/internal/cloud"
)

// passController is the controller-runtime name of lbsg's target-SG pass: its reconciles,
// workers and work queue are labelled with it on /metrics.
const passController = "target-security-groups"

// passState is what the controller's metrics say of its target-SG pass.
type passState struct {
	Runs    int // passes finished, whatever their result (controller_runtime_reconcile_total)
	Errors  int // of those, the ones that failed: the work queue retries them after a backoff
	Running int // passes in progress (controller_runtime_active_workers)
	Queued  int // passes ready to run, waiting for the worker (workqueue_depth)
}

func (p passState) idle() bool { return p.Running == 0 && p.Queued == 0 }

// controllerMetrics is one reading of the controller's /metrics.
type controllerMetrics struct {
	Calls cloud.Counts // lbsg_aws_api_calls_total: the controller's own count of its AWS attempts
	Pass  passState
}

// errNoPass: the controller's metrics do not show the target-SG pass (yet: controller-runtime
// registers a controller's metrics when the controller starts, after the caches synced).
var errNoPass = fmt.Errorf("the controller's metrics have no controller_runtime_reconcile_total{controller=%q}", passController)

// parseMetrics reads the controller's metrics in the Prometheus text format. It fails with
// errNoPass when the target-SG pass is not among them.
func parseMetrics(r io.Reader) (controllerMetrics, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return controllerMetrics{}, fmt.Errorf("parsing the controller's metrics: %w", err)
	}
	out := controllerMetrics{Calls: cloud.Counts{}}
	for _, m := range families["lbsg_aws_api_calls_total"].GetMetric() {
		l := labels(m)
		out.Calls[cloud.CallKey{Service: l["service"], Action: l["action"], Outcome: l["outcome"]}] += int(m.GetCounter().GetValue())
	}
	seen := false
	for _, m := range families["controller_runtime_reconcile_total"].GetMetric() {
		l := labels(m)
		if l["controller"] != passController {
			continue
		}
		seen = true
		n := int(m.GetCounter().GetValue())
		out.Pass.Runs += n
		if l["result"] == "error" {
			out.Pass.Errors += n
		}
	}
	if !seen {
		return controllerMetrics{}, errNoPass
	}
	for _, m := range families["controller_runtime_active_workers"].GetMetric() {
		if labels(m)["controller"] == passController {
			out.Pass.Running += int(m.GetGauge().GetValue())
		}
	}
	for _, m := range families["workqueue_depth"].GetMetric() {
		if labels(m)["name"] == passController {
			out.Pass.Queued += int(m.GetGauge().GetValue())
		}
	}
	return out, nil
}

func labels(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, lp := range m.GetLabel() {
		out[lp.GetName()] = lp.GetValue()
	}
	return out
}

// sample is one look at the controller: the AWS calls the proxy received so far, and the
// target-SG pass.
type sample struct {
	At    time.Time
	Calls int
	Pass  passState
}

// phaseEnd decides when a phase stops counting, as an observer outside the controller
// would: when nothing more is called because of the change. The target-SG pass runs after
// every change (and at every drift check), so the phase ends only once
//   - the pass that follows the change has run (needPass: the change makes the pass run),
//   - no pass is running or queued, and the last ones did not fail (a failed pass is
//     retried after a backoff, which the work queue does not show),
//   - and neither an AWS call nor a pass happened for quiet, the time the controller's
//     watches take to queue the pass a change causes.
//
// Feed it samples from the moment the phase's condition holds.
type phaseEnd struct {
	quiet    time.Duration
	needPass bool
	before   passState // the pass before the phase's first change

	last         sample // the latest sample in which something happened
	started      bool
	pendingRetry bool
}

func newPhaseEnd(quiet time.Duration, needPass bool, before passState) *phaseEnd {
	return &phaseEnd{quiet: quiet, needPass: needPass, before: before}
}

// observe takes the next sample and reports whether the phase has ended.
func (e *phaseEnd) observe(s sample) bool {
	if !e.started {
		e.started, e.last = true, s
		e.pendingRetry = s.Pass.Runs > e.before.Runs && s.Pass.Errors-e.before.Errors == s.Pass.Runs-e.before.Runs
		return false
	}
	if ran := s.Pass.Runs - e.last.Pass.Runs; ran > 0 {
		// Passes between two samples: a retry is due only if each of them failed.
		e.pendingRetry = s.Pass.Errors-e.last.Pass.Errors == ran
	}
	if s.Calls != e.last.Calls || s.Pass.Runs != e.last.Pass.Runs || !s.Pass.idle() {
		e.last = s
		return false
	}
	if e.pendingRetry || (e.needPass && s.Pass.Runs <= e.before.Runs) {
		return false
	}
	return s.At.Sub(e.last.At) >= e.quiet
}

// waitingFor says what the phase still waits for, for a phase that did not end in time.
func (e *phaseEnd) waitingFor() string {
	switch {
	case !e.started:
		return "no look at the controller"
	case e.needPass && e.last.Pass.Runs <= e.before.Runs:
		return "the target-SG pass that follows the change never ran"
	case e.pendingRetry:
		return "the target-SG pass failed and its retry did not come"
	case !e.last.Pass.idle():
		return "the target-SG pass was still running or queued"
	}
	return "the controller kept calling AWS"
}
