package config

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"
)

// lbsg's own flags that bound how long work may take.
const (
	FlagReconcileTimeout = "reconcile-timeout"
	FlagAWSAPITimeout    = "aws-api-timeout"
)

// Defaults of the bounds. A reconcile makes a few dozen AWS calls at most; an AWS call
// answers in well under a second, so 30 s per attempt only ever cuts a call that hangs.
const (
	DefaultReconcileTimeout = 3 * time.Minute
	DefaultAWSAPITimeout    = 30 * time.Second
)

// Timeouts bound every reconcile and every AWS call, so that a call that never answers
// cannot stall a worker (and the single target-SG worker with it).
type Timeouts struct {
	// ReconcileTimeout (--reconcile-timeout) is the deadline of one reconcile.
	ReconcileTimeout time.Duration
	// AWSAPITimeout (--aws-api-timeout) bounds each attempt of an AWS API call.
	AWSAPITimeout time.Duration
}

func (t *Timeouts) addFlags(fs *pflag.FlagSet) {
	fs.DurationVar(&t.ReconcileTimeout, FlagReconcileTimeout, DefaultReconcileTimeout,
		"Deadline of one reconcile of a Service, an Ingress group or the target security groups")
	fs.DurationVar(&t.AWSAPITimeout, FlagAWSAPITimeout, DefaultAWSAPITimeout,
		"Timeout of each attempt of an AWS API call")
}

// Reconcile returns the reconcile deadline; zero (flags not registered) is the default.
func (t Timeouts) Reconcile() time.Duration {
	if t.ReconcileTimeout == 0 {
		return DefaultReconcileTimeout
	}
	return t.ReconcileTimeout
}

// AWSAPI returns the per-attempt AWS call timeout; zero (flags not registered) is the
// default.
func (t Timeouts) AWSAPI() time.Duration {
	if t.AWSAPITimeout == 0 {
		return DefaultAWSAPITimeout
	}
	return t.AWSAPITimeout
}

func (t Timeouts) validate() []error {
	var errs []error
	if t.ReconcileTimeout < 0 {
		errs = append(errs, fmt.Errorf("invalid value %v for --%s: must be positive", t.ReconcileTimeout, FlagReconcileTimeout))
	}
	if t.AWSAPITimeout < 0 {
		errs = append(errs, fmt.Errorf("invalid value %v for --%s: must be positive", t.AWSAPITimeout, FlagAWSAPITimeout))
	}
	return errs
}
