// Package audit writes the audit trail of AWS writes: one log line per write, naming the
// API action, the resource it changed, the Kubernetes object it was made for and how it
// ended. Reconcilers say which object they work for by putting it in the context
// (WithObject); the AWS client middleware, which every call passes, writes the line.
package audit

import (
	"context"

	"github.com/go-logr/logr"
)

// Message is the message of every audit line, so that they can be filtered on it.
const Message = "aws write"

// Outcome of a write that succeeded; a failed one has its AWS error code, or "error".
const OutcomeOK = "ok"

type objectKey struct{}

// WithObject returns ctx carrying the Kubernetes object that the AWS writes made under it
// serve, as it is named in Events and logs: "Service default/web", "Ingress group web".
func WithObject(ctx context.Context, object string) context.Context {
	return context.WithValue(ctx, objectKey{}, object)
}

// Object returns the object WithObject put in ctx, or "" when the write serves none that
// is known (a start-up check, `lbsg plan`).
func Object(ctx context.Context) string {
	s, _ := ctx.Value(objectKey{}).(string)
	return s
}

// Write is one AWS write, as the audit line reports it.
type Write struct {
	Service  string // the SDK service ID: "EC2", "Elastic Load Balancing v2"
	Action   string // the API action: "AuthorizeSecurityGroupIngress"
	Resource string // the ID or ARN of the resource written (or created), "" when unknown
	Object   string // the Kubernetes object served, "" when none
	Outcome  string // OutcomeOK, an AWS error code, or "error"
}

// Log writes w's audit line at info level (V(0)), so that it shows at the default
// --log-level.
func Log(l logr.Logger, w Write) {
	object := w.Object
	if object == "" {
		object = "none"
	}
	l.Info(Message, "action", w.Action, "service", w.Service, "resource", w.Resource,
		"object", object, "outcome", w.Outcome)
}
