package cloud

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
	"golang.org/x/time/rate"
)

// ThrottleRule is one client-side rate limit (one entry of --aws-api-throttle): the calls
// of the service whose action matches Operation share one token bucket that refills at
// Rate tokens a second and holds Burst tokens.
type ThrottleRule struct {
	Service   string         // an SDK service ID: ServiceEC2, ServiceELBV2
	Operation *regexp.Regexp // matched against the action name, unanchored (as upstream does)
	Rate      float64        // calls per second, > 0
	Burst     int            // calls allowed at once, >= 1
}

// String renders the rule in the flag's syntax, serviceID:operationRegex=rate:burst.
func (r ThrottleRule) String() string {
	return r.Service + ":" + r.Operation.String() + "=" + strconv.FormatFloat(r.Rate, 'g', -1, 64) + ":" + strconv.Itoa(r.Burst)
}

// Throttle is the set of client-side rate limits. A call waits for a token of every rule
// that matches it, before each attempt (retries included: AWS counts them too).
type Throttle []ThrottleRule

// String renders t in the flag's syntax, rules separated by commas.
func (t Throttle) String() string {
	s := make([]string, len(t))
	for i, r := range t {
		s[i] = r.String()
	}
	return strings.Join(s, ",")
}

// DefaultThrottle returns the limits lbsg applies when --aws-api-throttle does not name a
// service. They keep lbsg below the request-rate buckets AWS publishes per account and
// Region (each default is at most 80 % of AWS's refill rate and bucket size), so that
// lbsg alone never drains a bucket that every other tool in the account shares:
//
//   - EC2 (AWS: non-mutating actions refill 20/s, bucket 100; mutating actions refill
//     5/s, bucket 200): Describe* 16/s, burst 80; the security-group and tag writes lbsg
//     makes 4/s, burst 80.
//   - ELBv2 (AWS: Describe* refill 10/s, bucket 40): Describe* 8/s, burst 32, where
//     upstream allows 50/s, burst 200, above AWS's bucket. Upstream's limits on
//     RegisterTargets/DeregisterTargets (4/s, burst 20) and Modify* (3/s, burst 20) are
//     kept.
//
// docs/flags.md lists them in the flag's syntax.
func DefaultThrottle() Throttle {
	rule := func(service, op string, r float64, burst int) ThrottleRule {
		return ThrottleRule{Service: service, Operation: regexp.MustCompile(op), Rate: r, Burst: burst}
	}
	return Throttle{
		rule(ServiceEC2, "^Describe", 16, 80),
		rule(ServiceEC2, "^(Authorize|Revoke|Create|Delete|Modify)", 4, 80),
		rule(ServiceELBV2, "^RegisterTargets|^DeregisterTargets", 4, 20),
		rule(ServiceELBV2, "^Describe", 8, 32),
		rule(ServiceELBV2, "^Modify", 3, 20),
	}
}

// throttler holds one token bucket per rule, shared by every client built with it.
type throttler struct {
	rules    Throttle
	limiters []*rate.Limiter
}

func newThrottler(t Throttle) *throttler {
	th := &throttler{rules: t, limiters: make([]*rate.Limiter, len(t))}
	for i, r := range t {
		th.limiters[i] = rate.NewLimiter(rate.Limit(r.Rate), r.Burst)
	}
	return th
}

// wait blocks until every bucket that matches the call has a token for it. It never waits
// past ctx's deadline: when a token would come too late it returns a *ThrottleWaitError at
// once, and the call is not made.
func (th *throttler) wait(ctx context.Context, service, action string) error {
	for i, r := range th.rules {
		if r.Service != service || !r.Operation.MatchString(action) {
			continue
		}
		if err := th.limiters[i].Wait(ctx); err != nil {
			return &ThrottleWaitError{Service: service, Action: action, Rule: r.String(), Err: err}
		}
	}
	return nil
}

// ThrottleWaitError is a call that was not made because lbsg's own rate limit
// (--aws-api-throttle) would have held it past its context's deadline, or the context
// ended while it waited. IsThrottling reports it as throttling.
type ThrottleWaitError struct {
	Service, Action, Rule string
	Err                   error
}

func (e *ThrottleWaitError) Error() string {
	return fmt.Sprintf("%s %s: held back by the client-side rate limit %q (--aws-api-throttle): %v", e.Service, e.Action, e.Rule, e.Err)
}

func (e *ThrottleWaitError) Unwrap() error { return e.Err }

type throttleMiddleware struct{ th *throttler }

func (throttleMiddleware) ID() string { return "lbsg/Throttle" }

func (m throttleMiddleware) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	if err := m.th.wait(ctx, awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx)); err != nil {
		return middleware.FinalizeOutput{}, middleware.Metadata{}, err
	}
	return next.HandleFinalize(ctx, in)
}

// throttleOption returns the API option that installs th right after the SDK's retry
// middleware: once per attempt, before the attempt is counted, timed and signed, so
// neither the wait nor a call it prevents shows up as an AWS call.
func throttleOption(th *throttler) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		if _, ok := stack.Finalize.Get("Retry"); ok {
			return stack.Finalize.Insert(throttleMiddleware{th: th}, "Retry", middleware.After)
		}
		return stack.Finalize.Add(throttleMiddleware{th: th}, middleware.Before)
	}
}
