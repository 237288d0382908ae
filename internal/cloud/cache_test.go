package cloud

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newTestCache(t *testing.T) (*ttlCache[[]string], *fakeClock, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	clock := &fakeClock{now: time.Unix(1000, 0)}
	clone := func(v []string) []string { return append([]string(nil), v...) }
	return newTTLCache("test", time.Minute, clone, newLookupCounter(reg), clock.Now), clock, reg
}

// fetcher returns values "v(<key>)" for keys not starting with "missing", counting calls.
type fetcher struct {
	calls atomic.Int32
	keys  [][]string
	mu    sync.Mutex
}

func (f *fetcher) fetch(_ context.Context, keys []string) (map[string][]string, error) {
	f.calls.Add(1)
	f.mu.Lock()
	f.keys = append(f.keys, keys)
	f.mu.Unlock()
	out := map[string][]string{}
	for _, k := range keys {
		if k != "missing" {
			out[k] = []string{"v(" + k + ")"}
		}
	}
	return out, nil
}

func TestTTLCacheHitsMissesAndExpiry(t *testing.T) {
	c, clock, reg := newTestCache(t)
	ctx := context.Background()
	f := &fetcher{}

	got, err := c.getMany(ctx, []string{"a", "b", "a", "missing"}, false, f.fetch)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"a": {"v(a)"}, "b": {"v(b)"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("first read (-want +got):\n%s", diff)
	}
	// The caller owns what it got.
	got["a"][0] = "scribbled"

	got, _ = c.getMany(ctx, []string{"a", "b", "c"}, false, f.fetch)
	want["c"] = []string{"v(c)"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("second read (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([][]string{{"a", "b", "missing"}, {"c"}}, f.keys); diff != "" {
		t.Errorf("fetched keys (-want +got):\n%s", diff)
	}

	clock.Add(59 * time.Second)
	_, _ = c.getMany(ctx, []string{"a"}, false, f.fetch)
	if n := f.calls.Load(); n != 2 {
		t.Errorf("within TTL: %d fetches, want 2", n)
	}
	clock.Add(2 * time.Second)
	_, _ = c.getMany(ctx, []string{"a"}, false, f.fetch)
	if n := f.calls.Load(); n != 3 {
		t.Errorf("after TTL: %d fetches, want 3", n)
	}
	_, _ = c.getMany(ctx, []string{"a"}, true, f.fetch)
	if n := f.calls.Load(); n != 4 {
		t.Errorf("fresh: %d fetches, want 4", n)
	}
	_, _ = c.getMany(ctx, []string{"b"}, true, f.fetch) // b had expired too
	c.delete("a")
	_, _ = c.getMany(ctx, []string{"a", "b"}, false, f.fetch)
	if diff := cmp.Diff([]string{"a"}, f.keys[len(f.keys)-1]); diff != "" {
		t.Errorf("after delete, fetched (-want +got):\n%s", diff)
	}
	// Lookups: a,b,missing miss; a,b hit, c miss; a hit; a miss; a miss (fresh); b miss
	// (fresh); a miss, b hit.
	wantLookups := map[string]float64{"test hit": 4, "test miss": 8}
	if diff := cmp.Diff(wantLookups, gatherCounters(t, reg, "lbsg_aws_cache_lookups_total")); diff != "" {
		t.Errorf("lookups (-want +got):\n%s", diff)
	}
}

func TestTTLCacheCoalescesConcurrentMisses(t *testing.T) {
	c, _, _ := newTestCache(t)
	ctx := context.Background()
	release := make(chan struct{})
	started := make(chan struct{}, 10)
	var calls atomic.Int32
	slow := func(_ context.Context, keys []string) (map[string][]string, error) {
		calls.Add(1)
		started <- struct{}{}
		<-release
		out := map[string][]string{}
		for _, k := range keys {
			out[k] = []string{k}
		}
		return out, nil
	}
	var wg sync.WaitGroup
	results := make([]map[string][]string, 5)
	wg.Add(1)
	go func() { defer wg.Done(); results[0], _ = c.getMany(ctx, []string{"x", "y"}, false, slow) }()
	<-started
	for i := 1; i < 5; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); results[i], _ = c.getMany(ctx, []string{"y"}, false, slow) }()
	}
	time.Sleep(20 * time.Millisecond) // let the waiters join the flight
	close(release)
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Errorf("%d fetches for concurrent misses, want 1", n)
	}
	for i := 1; i < 5; i++ {
		if diff := cmp.Diff(map[string][]string{"y": {"y"}}, results[i]); diff != "" {
			t.Errorf("waiter %d (-want +got):\n%s", i, diff)
		}
	}
}

func TestTTLCacheInvalidationDuringFetchDoesNotStore(t *testing.T) {
	c, _, _ := newTestCache(t)
	ctx := context.Background()
	var calls atomic.Int32
	fetch := func(_ context.Context, keys []string) (map[string][]string, error) {
		if calls.Add(1) == 1 {
			c.delete("k") // an lbsg write lands while the describe is in flight
		}
		return map[string][]string{"k": {"old"}}, nil
	}
	if _, err := c.getMany(ctx, []string{"k"}, false, fetch); err != nil {
		t.Fatal(err)
	}
	_, _ = c.getMany(ctx, []string{"k"}, false, fetch)
	if n := calls.Load(); n != 2 {
		t.Errorf("%d fetches, want 2: a read that raced an invalidation must not be cached", n)
	}
}

func TestTTLCacheFailedFlightIsRetriedByWaiter(t *testing.T) {
	c, _, _ := newTestCache(t)
	release := make(chan struct{})
	started := make(chan struct{})
	failing := func(context.Context, []string) (map[string][]string, error) {
		close(started)
		<-release
		return nil, errors.New("boom")
	}
	errc := make(chan error)
	go func() { _, err := c.getMany(context.Background(), []string{"k"}, false, failing); errc <- err }()
	<-started
	f := &fetcher{}
	done := make(chan map[string][]string)
	go func() { m, _ := c.getMany(context.Background(), []string{"k"}, false, f.fetch); done <- m }()
	time.Sleep(20 * time.Millisecond)
	close(release)
	if err := <-errc; err == nil {
		t.Error("first caller: no error")
	}
	if diff := cmp.Diff(map[string][]string{"k": {"v(k)"}}, <-done); diff != "" {
		t.Errorf("waiter (-want +got):\n%s", diff)
	}
}
