package controller

import (
	"testing"
	"time"
)

// TestRetriesBackOffToACap guards issue 6 case 8: a failing object is retried later and
// later (exponentially, spread by jitter) up to five minutes, never at a fixed interval,
// and a success resets it.
func TestRetriesBackOffToACap(t *testing.T) {
	for _, r := range []float64{0, 0.5, 0.999} {
		b := newJitteredBackoff[string](BackoffBase, BackoffMax, BackoffJitter)
		b.rand = func() float64 { return r }
		var prev time.Duration
		for i := 0; i < 40; i++ {
			d := b.When("svc")
			nominal := min(BackoffBase<<i, BackoffMax)
			if i >= 32 {
				nominal = BackoffMax
			}
			lo := time.Duration(float64(nominal) * (1 - BackoffJitter))
			hi := min(time.Duration(float64(nominal)*(1+BackoffJitter)), BackoffMax)
			if d < lo-time.Millisecond || d > hi {
				t.Fatalf("rand %v, failure %d: delay %s outside [%s, %s]", r, i+1, d, lo, hi)
			}
			if nominal < BackoffMax/2 && d <= prev {
				t.Fatalf("rand %v, failure %d: delay %s did not grow from %s", r, i+1, d, prev)
			}
			prev = d
		}
		if b.NumRequeues("svc") != 40 || b.NumRequeues("other") != 0 {
			t.Errorf("requeues = %d, %d", b.NumRequeues("svc"), b.NumRequeues("other"))
		}
		b.Forget("svc")
		if d := b.When("svc"); d > BackoffBase*2 {
			t.Errorf("after a success the first retry waits %s", d)
		}
	}
	// Jitter spreads objects that fail together.
	b := newJitteredBackoff[int](BackoffBase, BackoffMax, BackoffJitter)
	seen := map[time.Duration]bool{}
	for i := 0; i < 20; i++ {
		for j := 0; j < 5; j++ {
			_ = b.When(i)
		}
		seen[b.When(i)] = true
	}
	if len(seen) < 10 {
		t.Errorf("20 objects failing together got only %d distinct delays", len(seen))
	}
	// The work queues' limiter is capped too.
	rl := newPassRateLimiter()
	var last time.Duration
	for i := 0; i < 30; i++ {
		last = rl.When(TargetSGPass{})
	}
	if last > BackoffMax || last < BackoffMax*3/4 {
		t.Errorf("after 30 failures the cluster pass waits %s, want about %s", last, BackoffMax)
	}
	objects := NewRateLimiter[ServiceRequest]()
	for i := 0; i < 30; i++ {
		last = objects.When(ServiceRequest{Namespace: "default", Name: "web"})
	}
	if last > BackoffMax || last < BackoffMax*3/4 {
		t.Errorf("after 30 failures an object waits %s, want about %s", last, BackoffMax)
	}
}
