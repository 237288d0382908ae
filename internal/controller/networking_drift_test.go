package controller

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lbsg/lbsg/internal/plan"
	"github.com/lbsg/lbsg/internal/sgrules"
)

func TestDriftIsAChangeNoKubernetesChangeAskedFor(t *testing.T) {
	need := func(port int32) plan.NetworkingInput {
		return plan.NetworkingInput{Budget: 1, Needs: map[string]map[string][]sgrules.Need{
			"sg-node": {"sg-backend": {{Protocol: "tcp", Port: port}}}}}
	}
	var d driftTracker
	if d.isDrift("sg-node", wanted(need(80), "sg-node")) {
		t.Error("first pass: nothing to compare with, yet counted as drift")
	}
	d.settled("sg-node", wanted(need(80), "sg-node"))
	if !d.isDrift("sg-node", wanted(need(80), "sg-node")) {
		t.Error("same wanted rules as the settled pass: a change now is drift")
	}
	if d.isDrift("sg-node", wanted(need(81), "sg-node")) {
		t.Error("Kubernetes asked for another port: not drift")
	}
	if wanted(need(80), "sg-node") == wanted(need(80), "sg-other") {
		t.Error("fingerprints of different SGs collide")
	}
	d.forget("sg-node")
	if d.isDrift("sg-node", wanted(need(80), "sg-node")) {
		t.Error("after a failed pass, the retry is counted as drift")
	}

	m := NewNetworkingMetrics(prometheus.NewPedanticRegistry())
	changes := []plan.Change{{Op: plan.OpAuthorize}, {Op: plan.OpRevoke}}
	m.recordDrift(changes, 1, true)
	m.recordDrift(changes, 2, false)
	if f, r := testutil.ToFloat64(m.driftFound.WithLabelValues("revoke")), testutil.ToFloat64(m.driftRepaired.WithLabelValues("revoke")); f != 1 || r != 0 {
		t.Errorf("revoke drift found %v repaired %v, want 1 and 0 (it was not applied)", f, r)
	}
	if r := testutil.ToFloat64(m.driftRepaired.WithLabelValues("authorize")); r != 1 {
		t.Errorf("authorize drift repaired %v, want 1", r)
	}
	m.recordRules(map[string]int{"sg-node": 3})
	if n := testutil.ToFloat64(m.rules.WithLabelValues("sg-node")); n != 3 {
		t.Errorf("lbsg_target_sg_rules{sg-node} = %v, want 3", n)
	}
	var none *NetworkingMetrics
	none.recordDrift(changes, 2, true)
	none.recordRules(nil)
}
