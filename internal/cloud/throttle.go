package cloud

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

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
// service: the request-rate token buckets AWS publishes per account and Region, one rule
// per bucket, at AWS's size and refill rate. A limit below AWS's only slows lbsg down; one
// above it (or none) lets lbsg's calls fail with AWS's throttling error and be retried, on
// a bucket every other tool in the account shares. Each rule's actions are those AWS puts
// in the bucket, so that a call takes a token from exactly the buckets AWS charges it to.
//
//   - EC2 ("Request throttling for the Amazon EC2 API"): each API has a bucket of its own
//     ("each API is evaluated individually"), sized by its category: non-mutating actions
//     (Describe*) bucket 100, refill 20/s; mutating actions (the SG creates and deletes)
//     50, 5/s; AuthorizeSecurityGroupIngress and RevokeSecurityGroupIngress are
//     resource-intensive, 50, 5/s; CreateTags and DeleteTags 100, 10/s. So lbsg has one
//     rule per EC2 action it calls: a rule shared by several actions would hold lbsg below
//     AWS's limits.
//   - ELBv2 ("Request throttling for the Elastic Load Balancing API"): every action draws
//     on the account-level bucket, 40, 10/s (the non-mutating actions' bucket has the
//     same size and rate, so this rule is theirs too); RegisterTargets and
//     DeregisterTargets also on the registration bucket, 20, 4/s; CreateLoadBalancer and
//     SetSubnets on the resource-intensive bucket, 10, 0.2/s; the other writes on the
//     mutating bucket, 20, 3/s.
//
// docs/flags.md lists them in the flag's syntax, with the sources.
func DefaultThrottle() Throttle {
	rule := func(service, op string, r float64, burst int) ThrottleRule {
		return ThrottleRule{Service: service, Operation: regexp.MustCompile(op), Rate: r, Burst: burst}
	}
	return Throttle{
		rule(ServiceEC2, "^DescribeSecurityGroups$", 20, 100),
		rule(ServiceEC2, "^DescribeInstances$", 20, 100),
		rule(ServiceEC2, "^DescribeNetworkInterfaces$", 20, 100),
		rule(ServiceEC2, "^DescribeSubnets$", 20, 100),
		rule(ServiceEC2, "^DescribeVpcs$", 20, 100),
		rule(ServiceEC2, "^CreateSecurityGroup$", 5, 50),
		rule(ServiceEC2, "^DeleteSecurityGroup$", 5, 50),
		rule(ServiceEC2, "^AuthorizeSecurityGroupIngress$", 5, 50),
		rule(ServiceEC2, "^RevokeSecurityGroupIngress$", 5, 50),
		rule(ServiceEC2, "^CreateTags$", 10, 100),
		rule(ServiceEC2, "^DeleteTags$", 10, 100),
		rule(ServiceELBV2, ".*", 10, 40),
		rule(ServiceELBV2, "^(RegisterTargets|DeregisterTargets)$", 4, 20),
		rule(ServiceELBV2, "^(CreateLoadBalancer|SetSubnets)$", 0.2, 10),
		rule(ServiceELBV2, "^(Add|Remove|Delete|Modify)|^Create(Listener|Rule|TargetGroup)$|^Set(IpAddressType|RulePriorities|SecurityGroups)$", 3, 20),
	}
}

// CallCount is a number of calls of one API action of one service (an SDK service ID).
type CallCount struct {
	Service, Action string
	N               int
}

// BucketTime is how long one rule's token bucket holds back the calls it matches.
type BucketTime struct {
	Rule  ThrottleRule
	Calls int           // calls the rule matches
	Time  time.Duration // the least time those calls take under the rule alone
}

// Buckets returns, for each rule that matches any of the calls, how long its bucket holds
// them back when it starts full: Burst calls go at once, then one every 1/Rate seconds, so
// n calls take (n − Burst)/Rate, or nothing when n ≤ Burst. Rules come in t's order.
func (t Throttle) Buckets(calls []CallCount) []BucketTime {
	var out []BucketTime
	for _, r := range t {
		n := 0
		for _, c := range calls {
			if c.N > 0 && r.Service == c.Service && r.Operation.MatchString(c.Action) {
				n += c.N
			}
		}
		if n == 0 {
			continue
		}
		var d time.Duration
		if over := n - r.Burst; over > 0 {
			d = time.Duration(float64(over) / r.Rate * float64(time.Second))
		}
		out = append(out, BucketTime{Rule: r, Calls: n, Time: d})
	}
	return out
}

// Bound returns the least time the calls can take under t, each bucket starting full, and
// the bucket that sets it (ok is false when no bucket holds any call back). A call waits
// for a token of every rule it matches, so no bucket's calls finish before that bucket
// lets them through: the slowest bucket is a lower bound on the whole. It is not always
// reached: calls that wait on one bucket may let another refill meanwhile.
func (t Throttle) Bound(calls []CallCount) (d time.Duration, by BucketTime, ok bool) {
	for _, b := range t.Buckets(calls) {
		if b.Time > d {
			d, by, ok = b.Time, b, true
		}
	}
	return d, by, ok
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
