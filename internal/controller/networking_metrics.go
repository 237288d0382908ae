package controller

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lbsg/lbsg/internal/plan"
)

// Reasons of lbsg_target_sg_failures and lbsg_target_rules_owner_failures.
const (
	failureOverQuota = "over_quota"  // the SG's rules would exceed the rule quota
	failureApply     = "apply_error" // AWS refused a change on the SG
	failureCompute   = "invalid"     // the owner's rules could not be computed
	// failureOverShare: the owner's namespace asks for more rules on the SG than its share.
	failureOverShare = "over_namespace_share"
	// failureRefused: client CIDR rules outside the NodePort range were not added.
	failureRefused = "outside_node_port_range"
	// failureNotTrafficPort: a binding's rules on ports its targets receive no traffic on
	// were not added.
	failureNotTrafficPort = "not_a_traffic_port"
	// failureSourceDenied: a binding's rules from a security group it may not name were
	// not added.
	failureSourceDenied = "source_denied"
)

// NetworkingMetrics are the target-SG reconciler's gauges. They describe the last pass,
// so an alert fires while a failure lasts and clears when it is fixed.
type NetworkingMetrics struct {
	sgFailures    *prometheus.GaugeVec
	ownerFailures *prometheus.GaugeVec
	authorizeOnly prometheus.Gauge
	rules         *prometheus.GaugeVec
	driftFound    *prometheus.CounterVec
	driftRepaired *prometheus.CounterVec
}

// NewNetworkingMetrics builds the gauges and registers them with reg (if any); when they
// are registered already (several managers in one process), those are used.
func NewNetworkingMetrics(reg prometheus.Registerer) *NetworkingMetrics {
	return &NetworkingMetrics{
		sgFailures: registerCollector(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "lbsg_target_sg_failures",
			Help: "Target security groups whose rules were not fully applied in the last pass, by SG and reason (over_quota, over_namespace_share, apply_error); 1 while failing.",
		}, []string{"sg", "reason"})),
		ownerFailures: registerCollector(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "lbsg_target_rules_owner_failures",
			Help: "Services, Ingress groups and TargetGroupBindings whose target security group rules were not fully applied in the last pass, by owner and reason (invalid, over_quota, over_namespace_share, outside_node_port_range, not_a_traffic_port, source_denied, apply_error); 1 while failing.",
		}, []string{"owner", "reason"})),
		authorizeOnly: registerCollector(reg, prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "lbsg_authorize_only_sgs",
			Help: "Target security groups on which revokes were held back in the last pass because a stack that may rely on their rules could not be computed.",
		})),
		rules: registerCollector(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "lbsg_target_sg_rules",
			Help: "Inbound rules on each target security group after the last pass (all rules, lbsg's and others', as the rule quota counts them).",
		}, []string{"sg"})),
		driftFound: registerCollector(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lbsg_drift_found_total",
			Help: "Changes to target security groups that no Kubernetes change asked for (AWS changed behind lbsg's back), by kind (the plan operation: authorize, revoke, tag-sg).",
		}, []string{"kind"})),
		driftRepaired: registerCollector(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lbsg_drift_repaired_total",
			Help: "Drift changes (see lbsg_drift_found_total) carried out successfully, by kind.",
		}, []string{"kind"})),
	}
}

func registerCollector[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}

// passFailures is what one pass failed at, for the metrics.
type passFailures struct {
	sgs    map[[2]string]bool // (sg, reason)
	owners map[[2]string]bool // (owner, reason)
	held   int
}

func newPassFailures() *passFailures {
	return &passFailures{sgs: map[[2]string]bool{}, owners: map[[2]string]bool{}}
}

// record replaces the gauges with this pass's failures. A nil receiver records nothing
// (`lbsg plan`, tests).
func (m *NetworkingMetrics) record(f *passFailures) {
	if m == nil {
		return
	}
	m.sgFailures.Reset()
	for k := range f.sgs {
		m.sgFailures.WithLabelValues(k[0], k[1]).Set(1)
	}
	m.ownerFailures.Reset()
	for k := range f.owners {
		m.ownerFailures.WithLabelValues(k[0], k[1]).Set(1)
	}
	m.authorizeOnly.Set(float64(f.held))
}

// recordDrift counts changes as drift found, and the first applied of them as repaired,
// when drift is set. A nil receiver records nothing.
func (m *NetworkingMetrics) recordDrift(changes []plan.Change, applied int, drift bool) {
	if m == nil || !drift {
		return
	}
	for i, c := range changes {
		m.driftFound.WithLabelValues(string(c.Op)).Inc()
		if i < applied {
			m.driftRepaired.WithLabelValues(string(c.Op)).Inc()
		}
	}
}

// recordRules replaces the rules-per-SG gauge with this pass's counts.
func (m *NetworkingMetrics) recordRules(rules map[string]int) {
	if m == nil {
		return
	}
	m.rules.Reset()
	for sg, n := range rules {
		m.rules.WithLabelValues(sg).Set(float64(n))
	}
}
