package cloud

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lbsg/lbsg/internal/audit"
	"github.com/lbsg/lbsg/internal/tally"
)

// OutcomeOK is the outcome of a call that succeeded; a failed call's outcome is its AWS
// error code, or OutcomeError when it has none (a network error, a cancelled context).
const (
	OutcomeOK    = "ok"
	OutcomeError = "error"
	// OutcomeRetryQuotaExceeded is the outcome of an operation the SDK stopped retrying
	// because its retry budget was used up (see IsRetryQuotaExceeded).
	OutcomeRetryQuotaExceeded = "RetryQuotaExceeded"
)

// CallKey names one counted outcome of one API action.
type CallKey struct {
	Service string // the SDK service ID: "EC2", "Elastic Load Balancing v2"
	Action  string // the API action: "DescribeSecurityGroups"
	Outcome string // OutcomeOK, an AWS error code, or OutcomeError
}

// Counts is a snapshot of API call counts. It is a plain value: tests take one before and
// one after an operation and compare the difference.
type Counts map[CallKey]int

// Calls counts every HTTP attempt the EC2 and ELBv2 clients make, by service, action and
// outcome, in memory (for tests and `lbsg plan`) and in Prometheus. It is safe for
// concurrent use.
//
// Attempts, not operations, are counted: an operation that the SDK retries after a
// throttling error shows up once as "Throttling" and once as "ok". That matches what AWS
// (and the fault-injecting proxy in front of moto) sees.
type Calls struct {
	mu     sync.Mutex
	counts Counts

	total     *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	throttled *prometheus.CounterVec
	up        *upstreamMetrics

	// audit receives one line per write (see package audit); the zero Logger discards.
	audit logr.Logger
}

// NewCalls returns an empty call counter. With a non-nil registerer its metrics
// (lbsg_aws_api_calls_total, lbsg_aws_api_call_duration_seconds and upstream's aws_api_*,
// see upstreamMetrics) are registered there; if they already are (a second Clients in one
// process), the registered collectors are reused.
func NewCalls(reg prometheus.Registerer) (*Calls, error) {
	total := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lbsg_aws_api_calls_total",
		Help: "AWS API call attempts by service, action and outcome (ok, an AWS error code, or error).",
	}, []string{"service", "action", "outcome"})
	duration := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "lbsg_aws_api_call_duration_seconds",
		Help:    "Latency of AWS API call attempts by service and action.",
		Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
	}, []string{"service", "action"})
	throttled := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lbsg_aws_api_throttled_total",
		Help: "AWS API operations that ended throttled, retries included, by service, action and reason: aws (AWS's throttling error), retry_quota (the SDK's retry budget used up) or client_limit (held back by --aws-api-throttle).",
	}, []string{"service", "action", "reason"})
	var err error
	if total, err = register(reg, total); err != nil {
		return nil, err
	}
	if throttled, err = register(reg, throttled); err != nil {
		return nil, err
	}
	if duration, err = register(reg, duration); err != nil {
		return nil, err
	}
	up, err := newUpstreamMetrics(reg)
	if err != nil {
		return nil, err
	}
	return &Calls{counts: Counts{}, total: total, duration: duration, throttled: throttled, up: up}, nil
}

// SetAuditLog makes c write the audit line of every AWS write to l. It must be called
// before the clients are used (New does it from Options.AuditLog).
func (c *Calls) SetAuditLog(l logr.Logger) { c.audit = l }

// register registers c with reg (if reg is non-nil) and returns the collector that is in
// use: c, or the one registered before it under the same name.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if reg == nil {
		return c, nil
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, fmt.Errorf("register metrics: %w", err)
	}
	return c, nil
}

// Record counts one attempt. The middleware calls it; tests may too.
func (c *Calls) Record(service, action, outcome string, d time.Duration) {
	c.mu.Lock()
	c.counts[CallKey{Service: service, Action: action, Outcome: outcome}]++
	c.mu.Unlock()
	c.total.WithLabelValues(service, action, outcome).Inc()
	c.duration.WithLabelValues(service, action).Observe(d.Seconds())
}

// Snapshot returns a copy of the counts so far.
func (c *Calls) Snapshot() Counts {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.counts)
}

// Middleware returns the smithy middleware that records every attempt. It belongs in a
// client's APIOptions (New and NewFromConfig put it there).
func (c *Calls) Middleware() func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		// Finalize runs once per attempt when it sits after the retry middleware; Add with
		// After puts it at the end of the step, inside the retry loop and after signing.
		if err := stack.Finalize.Add(callsMiddleware{calls: c}, middleware.After); err != nil {
			return err
		}
		// Initialize runs once per operation, around every attempt and retry: the
		// operation-level metrics and the audit line belong there.
		return stack.Initialize.Add(operationMiddleware{calls: c}, middleware.After)
	}
}

type callsMiddleware struct{ calls *Calls }

func (callsMiddleware) ID() string { return "lbsg/CountCalls" }

func (m callsMiddleware) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	start := time.Now()
	out, md, err := next.HandleFinalize(ctx, in)
	d := time.Since(start)
	service, op := awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx)
	m.calls.Record(service, op, outcome(err), d)
	m.calls.up.request(service, op, statusCode(md), upstreamErrorCode(err), d)
	return out, md, err
}

type operationMiddleware struct{ calls *Calls }

func (operationMiddleware) ID() string { return "lbsg/Operation" }

func (m operationMiddleware) HandleInitialize(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
	start := time.Now()
	out, md, err := next.HandleInitialize(ctx, in)
	service, op := awsmiddleware.GetServiceID(ctx), awsmiddleware.GetOperationName(ctx)
	m.calls.up.call(service, op, statusCode(md), upstreamErrorCode(err), time.Since(start), retries(md))
	if reason := throttleReason(err); reason != "" {
		m.calls.throttled.WithLabelValues(service, op, reason).Inc()
	}
	if !IsReadOnlyAction(op) {
		audit.Log(m.calls.audit, audit.Write{Service: service, Action: op, Resource: resourceID(in.Parameters, out.Result),
			Object: audit.Object(ctx), Outcome: outcome(err)})
	}
	return out, md, err
}

// statusCode is the HTTP status of the last response, "" when there was none (the
// request never reached AWS).
func statusCode(md middleware.Metadata) string {
	if resp, ok := awsmiddleware.GetRawResponse(md).(*smithyhttp.Response); ok && resp != nil && resp.Response != nil {
		return strconv.Itoa(resp.StatusCode)
	}
	return ""
}

// retries counts the attempts of an operation that were retried.
func retries(md middleware.Metadata) int {
	res, ok := retry.GetAttemptResults(md)
	if !ok {
		return 0
	}
	n := 0
	for _, r := range res.Results {
		if r.Retried {
			n++
		}
	}
	return n
}

// Throttle reasons, the reason label of lbsg_aws_api_throttled_total.
const (
	ThrottledByAWS         = "aws"
	ThrottledByRetryQuota  = "retry_quota"
	ThrottledByClientLimit = "client_limit"
)

// throttleReason says why an operation that ended with err counts as throttled, "" when
// it does not.
func throttleReason(err error) string {
	var wait *ThrottleWaitError
	switch {
	case err == nil:
		return ""
	case IsRetryQuotaExceeded(err):
		return ThrottledByRetryQuota
	case errors.As(err, &wait):
		return ThrottledByClientLimit
	case IsThrottling(err):
		return ThrottledByAWS
	}
	return ""
}

func outcome(err error) string {
	if err == nil {
		return OutcomeOK
	}
	// The retry budget is the operation's outcome, whatever the last attempt's error was:
	// it is why the SDK stopped.
	if IsRetryQuotaExceeded(err) {
		return OutcomeRetryQuotaExceeded
	}
	if code := ErrorCode(err); code != "" {
		return code
	}
	return OutcomeError
}

// Sub returns c minus earlier, keeping only keys whose count changed.
func (c Counts) Sub(earlier Counts) Counts {
	return tally.Sub(c, earlier)
}

// Total returns the number of calls in c.
func (c Counts) Total() int {
	return tally.Total(c)
}

// Mutating returns, per action, the number of calls to actions that may change state (all
// but Describe*, Get* and List*), whatever their outcome.
func (c Counts) Mutating() map[string]int {
	out := map[string]int{}
	for k, n := range c {
		if !IsReadOnlyAction(k.Action) {
			out[k.Action] += n
		}
	}
	return out
}

// ByAction returns the number of calls per action, whatever the service and outcome.
func (c Counts) ByAction() map[string]int {
	out := map[string]int{}
	for k, n := range c {
		out[k.Action] += n
	}
	return out
}

// String lists the counts one per line, "service action outcome n", sorted.
func (c Counts) String() string {
	keys := slices.SortedFunc(maps.Keys(c), func(a, b CallKey) int {
		if x := strings.Compare(a.Service, b.Service); x != 0 {
			return x
		}
		if x := strings.Compare(a.Action, b.Action); x != 0 {
			return x
		}
		return strings.Compare(a.Outcome, b.Outcome)
	})
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s %s %s %d\n", k.Service, k.Action, k.Outcome, c[k])
	}
	return b.String()
}

// IsReadOnlyAction reports whether an API action only reads: its name starts with
// Describe, Get or List.
func IsReadOnlyAction(action string) bool {
	for _, p := range []string{"Describe", "Get", "List"} {
		if strings.HasPrefix(action, p) {
			return true
		}
	}
	return false
}
