package cloud

import (
	"context"
	"fmt"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
)

// attemptTimeout bounds each HTTP attempt of an API call. It sits in the Finalize step
// after the retry middleware, so a hung attempt ends and the SDK's retryer may try again
// (within --aws-max-retries); the caller's context still bounds the whole call.
type attemptTimeout struct{ d time.Duration }

func (attemptTimeout) ID() string { return "lbsg/AttemptTimeout" }

func (m attemptTimeout) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	actx, cancel := context.WithTimeout(ctx, m.d)
	defer cancel()
	out, md, err := next.HandleFinalize(actx, in)
	if err != nil && ctx.Err() == nil && actx.Err() == context.DeadlineExceeded {
		// The SDK reports a cancelled attempt as a cancelled call, which it never
		// retries; a timed-out attempt is a timeout, which it retries like a lost
		// connection.
		err = &AttemptTimeoutError{Service: awsmiddleware.GetServiceID(ctx), Action: awsmiddleware.GetOperationName(ctx), After: m.d}
	}
	return out, md, err
}

// AttemptTimeoutError is an attempt of an AWS call that got no answer within the bound
// (--aws-api-timeout).
type AttemptTimeoutError struct {
	Service, Action string
	After           time.Duration
}

func (e *AttemptTimeoutError) Error() string {
	return fmt.Sprintf("%s %s: no answer within %s (--aws-api-timeout)", e.Service, e.Action, e.After)
}

// Timeout marks the error as a timeout for the SDK's retryer and for net-style checks.
func (e *AttemptTimeoutError) Timeout() bool { return true }

// timeoutMiddleware returns the API option that installs attemptTimeout.
func timeoutMiddleware(d time.Duration) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		return stack.Finalize.Add(attemptTimeout{d: d}, middleware.After)
	}
}
