package controller

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/util/workqueue"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crcontroller "sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
)

// EndpointFold is how long a reconcile that an EndpointSlice or Pod event asks for waits
// before it runs. A rollout is a burst of such events (Pods deleted and created, their IPs
// set, slices rewritten); within the window they fold into one reconcile, which
// (de)registers the targets once and looks up new pod IPs once, instead of once per
// event. Events of the objects themselves (a Service, an Ingress) are not delayed.
const EndpointFold = time.Second

// enqueueFolded is handler.TypedEnqueueRequestsFromMapFunc whose requests wait fold
// before they are processed. A request already waiting keeps its earlier time, so a
// burst runs once, fold after its first event.
func enqueueFolded[T comparable](fold time.Duration, fn func(context.Context, client.Object) []T) handler.TypedEventHandler[client.Object, T] {
	add := func(ctx context.Context, q workqueue.TypedRateLimitingInterface[T], objs ...client.Object) {
		for _, o := range objs {
			for _, r := range fn(ctx, o) {
				q.AddAfter(r, fold)
			}
		}
	}
	return handler.TypedFuncs[client.Object, T]{
		CreateFunc: func(ctx context.Context, e event.TypedCreateEvent[client.Object], q workqueue.TypedRateLimitingInterface[T]) {
			add(ctx, q, e.Object)
		},
		UpdateFunc: func(ctx context.Context, e event.TypedUpdateEvent[client.Object], q workqueue.TypedRateLimitingInterface[T]) {
			add(ctx, q, e.ObjectOld, e.ObjectNew)
		},
		DeleteFunc: func(ctx context.Context, e event.TypedDeleteEvent[client.Object], q workqueue.TypedRateLimitingInterface[T]) {
			add(ctx, q, e.Object)
		},
		GenericFunc: func(ctx context.Context, e event.TypedGenericEvent[client.Object], q workqueue.TypedRateLimitingInterface[T]) {
			add(ctx, q, e.Object)
		},
	}
}

// itself enqueues the request a channel event carries.
func itself[T comparable]() handler.TypedEventHandler[T, T] {
	return handler.TypedEnqueueRequestsFromMapFunc(func(_ context.Context, r T) []T { return []T{r} })
}

// offer sends r on ch unless ch is full: the sender (the drift check) must never wait on a
// reconciler.
func offer[T any](ch chan event.TypedGenericEvent[T], r T) error {
	select {
	case ch <- event.TypedGenericEvent[T]{Object: r}:
		return nil
	default:
		return errors.New("queue full")
	}
}

// typedOptions are the options of a controller whose requests are T. Failures are
// returned to the work queue, which retries each request with jittered exponential
// backoff up to BackoffMax (each controller its own limiter); every reconcile has a
// deadline; logs name the request.
func typedOptions[T comparable](o Options, log logr.Logger, name string, workers int) crcontroller.TypedOptions[T] {
	log = log.WithValues("controller", name)
	return crcontroller.TypedOptions[T]{SkipNameValidation: &o.SkipNameValidation, RateLimiter: NewRateLimiter[T](),
		ReconciliationTimeout: o.ReconcileTimeout, MaxConcurrentReconciles: max(workers, 1),
		LogConstructor: func(r *T) logr.Logger {
			if r == nil {
				return log
			}
			return log.WithValues("request", fmt.Sprint(*r))
		}}
}
