package apply

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lbsg/lbsg/internal/cloud"
)

// NewChangeCounter returns lbsg_plan_changes_total registered with reg (if any; the one
// registered already is reused), for Executor.Changes.
func NewChangeCounter(reg prometheus.Registerer) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lbsg_plan_changes_total",
		Help: "Plan changes carried out, by operation (authorize, revoke, create-lb, …) and outcome (ok, an AWS error code, or error).",
	}, []string{"op", "outcome"})
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
				return existing
			}
		}
	}
	return c
}

// changeOutcome is the outcome label of a change: ok, the AWS error code that stopped it,
// or error.
func changeOutcome(err error) string {
	if err == nil {
		return "ok"
	}
	if code := cloud.ErrorCode(err); code != "" {
		return code
	}
	return "error"
}
