package controller

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"k8s.io/client-go/util/workqueue"

	"github.com/lbsg/lbsg/internal/apply"
)

// Retry timing of a failing object: the first retry after about BackoffBase, then twice
// as long each time, never more than BackoffMax. Each delay is spread by ±BackoffJitter so
// that objects failing together (one AWS outage) do not retry together.
const (
	BackoffBase   = 500 * time.Millisecond
	BackoffMax    = 5 * time.Minute
	BackoffJitter = 0.2
)

// failureReason is the condition reason of a failed reconcile: Waiting when it is held
// up by something that goes away (a security group still in use, throttling).
func failureReason(err error) string {
	var retry *apply.RetryError
	if errors.As(err, &retry) {
		return ReasonWaiting
	}
	return ReasonAWSError
}

// shuttingDown reports whether a reconcile failed only because the manager is stopping:
// that is not the object's failure, and is not reported on it.
func shuttingDown(ctx context.Context, err error) bool {
	return errors.Is(err, context.Canceled) && errors.Is(ctx.Err(), context.Canceled)
}

// reportContext is the context a failure is reported with (Event, condition): the
// reconcile's own may have passed its deadline, and a failure nobody sees is retried
// blind.
func reportContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
}

// NewRateLimiter is the work queues' rate limiter: per-request exponential backoff with
// jitter, capped at BackoffMax, and an overall bucket (10 per second, bursts of 100, as
// client-go's default) so that many failing objects cannot flood AWS.
func NewRateLimiter[T comparable]() workqueue.TypedRateLimiter[T] {
	return workqueue.NewTypedMaxOfRateLimiter[T](
		newJitteredBackoff[T](BackoffBase, BackoffMax, BackoffJitter),
		&workqueue.TypedBucketRateLimiter[T]{Limiter: rate.NewLimiter(rate.Limit(10), 100)},
	)
}

// jitteredBackoff is an exponential per-item backoff whose delays are spread by a random
// factor. Forget (a reconcile that succeeded) resets the item.
type jitteredBackoff[T comparable] struct {
	base, max time.Duration
	jitter    float64

	mu       sync.Mutex
	failures map[T]int
	rand     func() float64 // in [0, 1)
}

func newJitteredBackoff[T comparable](base, max time.Duration, jitter float64) *jitteredBackoff[T] {
	return &jitteredBackoff[T]{base: base, max: max, jitter: jitter, failures: map[T]int{}, rand: rand.Float64}
}

// When returns the delay before the item's next try and counts one more failure.
func (b *jitteredBackoff[T]) When(item T) time.Duration {
	b.mu.Lock()
	n := b.failures[item]
	b.failures[item] = n + 1
	r := b.rand()
	b.mu.Unlock()
	d := b.max
	if n < 32 { // past 2^32 × base, the cap applies anyway
		if e := b.base << n; e > 0 && e < b.max {
			d = e
		}
	}
	d = time.Duration(float64(d) * (1 - b.jitter + 2*b.jitter*r))
	return min(d, b.max)
}

// NumRequeues returns how many times the item failed since it last succeeded.
func (b *jitteredBackoff[T]) NumRequeues(item T) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.failures[item]
}

// Forget resets the item after a success.
func (b *jitteredBackoff[T]) Forget(item T) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.failures, item)
}
