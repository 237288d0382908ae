package awscache

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
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

func newTestCache(t *testing.T) (*Cache[[]string], *fakeClock, *prometheus.CounterVec) {
	t.Helper()
	lookups := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lookups"}, []string{"cache", "result"})
	clock := &fakeClock{now: time.Unix(1000, 0)}
	clone := func(v []string) []string { return append([]string(nil), v...) }
	return New("test", time.Minute, clone, lookups, clock.Now), clock, lookups
}

// counters reads a CounterVec as "label values" -> value.
func counters(t *testing.T, cv *prometheus.CounterVec) map[string]float64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 100)
	cv.Collect(ch)
	close(ch)
	out := map[string]float64{}
	for m := range ch {
		var pb dto.Metric
		if err := m.Write(&pb); err != nil {
			t.Fatal(err)
		}
		var key []string
		for _, l := range pb.GetLabel() {
			key = append(key, l.GetValue())
		}
		out[strings.Join(key, " ")] = pb.GetCounter().GetValue()
	}
	return out
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

func TestCacheHitsMissesAndExpiry(t *testing.T) {
	c, clock, lookups := newTestCache(t)
	ctx := context.Background()
	f := &fetcher{}

	got, err := c.GetMany(ctx, []string{"a", "b", "a", "missing"}, false, f.fetch)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{"a": {"v(a)"}, "b": {"v(b)"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("first read (-want +got):\n%s", diff)
	}
	// The caller owns what it got.
	got["a"][0] = "scribbled"

	got, _ = c.GetMany(ctx, []string{"a", "b", "c"}, false, f.fetch)
	want["c"] = []string{"v(c)"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("second read (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([][]string{{"a", "b", "missing"}, {"c"}}, f.keys); diff != "" {
		t.Errorf("fetched keys (-want +got):\n%s", diff)
	}

	clock.Add(59 * time.Second)
	_, _ = c.GetMany(ctx, []string{"a"}, false, f.fetch)
	if n := f.calls.Load(); n != 2 {
		t.Errorf("within TTL: %d fetches, want 2", n)
	}
	clock.Add(2 * time.Second)
	_, _ = c.GetMany(ctx, []string{"a"}, false, f.fetch)
	if n := f.calls.Load(); n != 3 {
		t.Errorf("after TTL: %d fetches, want 3", n)
	}
	_, _ = c.GetMany(ctx, []string{"a"}, true, f.fetch)
	if n := f.calls.Load(); n != 4 {
		t.Errorf("fresh: %d fetches, want 4", n)
	}
	_, _ = c.GetMany(ctx, []string{"b"}, true, f.fetch) // b had expired too
	c.Invalidate("a")
	_, _ = c.GetMany(ctx, []string{"a", "b"}, false, f.fetch)
	if diff := cmp.Diff([]string{"a"}, f.keys[len(f.keys)-1]); diff != "" {
		t.Errorf("after delete, fetched (-want +got):\n%s", diff)
	}
	// Lookups: a,b,missing miss; a,b hit, c miss; a hit; a miss; a miss (fresh); b miss
	// (fresh); a miss, b hit.
	wantLookups := map[string]float64{"test hit": 4, "test miss": 8}
	if diff := cmp.Diff(wantLookups, counters(t, lookups)); diff != "" {
		t.Errorf("lookups (-want +got):\n%s", diff)
	}
}

func TestCacheCoalescesConcurrentMisses(t *testing.T) {
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
	go func() { defer wg.Done(); results[0], _ = c.GetMany(ctx, []string{"x", "y"}, false, slow) }()
	<-started
	for i := 1; i < 5; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); results[i], _ = c.GetMany(ctx, []string{"y"}, false, slow) }()
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

func TestCacheInvalidationDuringFetchDoesNotStore(t *testing.T) {
	c, _, _ := newTestCache(t)
	ctx := context.Background()
	var calls atomic.Int32
	fetch := func(_ context.Context, keys []string) (map[string][]string, error) {
		if calls.Add(1) == 1 {
			c.Invalidate("k") // an lbsg write lands while the describe is in flight
		}
		return map[string][]string{"k": {"old"}}, nil
	}
	if _, err := c.GetMany(ctx, []string{"k"}, false, fetch); err != nil {
		t.Fatal(err)
	}
	_, _ = c.GetMany(ctx, []string{"k"}, false, fetch)
	if n := calls.Load(); n != 2 {
		t.Errorf("%d fetches, want 2: a read that raced an invalidation must not be cached", n)
	}
}

func TestCacheFailedFlightIsRetriedByWaiter(t *testing.T) {
	c, _, _ := newTestCache(t)
	release := make(chan struct{})
	started := make(chan struct{})
	failing := func(context.Context, []string) (map[string][]string, error) {
		close(started)
		<-release
		return nil, errors.New("boom")
	}
	errc := make(chan error)
	go func() { _, err := c.GetMany(context.Background(), []string{"k"}, false, failing); errc <- err }()
	<-started
	f := &fetcher{}
	done := make(chan map[string][]string)
	go func() { m, _ := c.GetMany(context.Background(), []string{"k"}, false, f.fetch); done <- m }()
	time.Sleep(20 * time.Millisecond)
	close(release)
	if err := <-errc; err == nil {
		t.Error("first caller: no error")
	}
	if diff := cmp.Diff(map[string][]string{"k": {"v(k)"}}, <-done); diff != "" {
		t.Errorf("waiter (-want +got):\n%s", diff)
	}
}

// blockingFetch returns a fetch that announces itself on started, waits for release, and
// then returns value for every key: a describe that is in flight while the test writes.
func blockingFetch(started chan<- struct{}, release <-chan struct{}, value string) func(context.Context, []string) (map[string][]string, error) {
	return func(_ context.Context, keys []string) (map[string][]string, error) {
		started <- struct{}{}
		<-release
		out := map[string][]string{}
		for _, k := range keys {
			out[k] = []string{value}
		}
		return out, nil
	}
}

// readDuringWrite starts a read of keys that blocks in its describe, runs write while it
// is in flight, then lets the read finish, and returns what the read got.
func readDuringWrite(t *testing.T, c *Cache[[]string], keys []string, write func()) map[string][]string {
	t.Helper()
	started, release := make(chan struct{}, 1), make(chan struct{})
	got := make(chan map[string][]string, 1)
	go func() {
		m, err := c.GetMany(context.Background(), keys, false, blockingFetch(started, release, "before the write"))
		if err != nil {
			t.Error(err)
		}
		got <- m
	}()
	<-started
	write()
	close(release)
	return <-got
}

func TestCacheReadOverlappingWriteIsNotCached(t *testing.T) {
	for name, write := range map[string]func(c *Cache[[]string]){
		"invalidate the key":    func(c *Cache[[]string]) { c.Invalidate("k") },
		"write through the key": func(c *Cache[[]string]) { c.Update("k", func(v []string) []string { return append(v, "new") }) },
		"clear":                 func(c *Cache[[]string]) { c.Clear() },
		"invalidate if":         func(c *Cache[[]string]) { c.InvalidateIf(func(string, []string) bool { return false }) },
	} {
		t.Run(name, func(t *testing.T) {
			c, _, _ := newTestCache(t)
			got := readDuringWrite(t, c, []string{"k"}, func() { write(c) })
			// The overlapping read itself returns what it read...
			if diff := cmp.Diff(map[string][]string{"k": {"before the write"}}, got); diff != "" {
				t.Errorf("overlapping read (-want +got):\n%s", diff)
			}
			// ...but the next read does not get it from the cache.
			f := &fetcher{}
			next, _ := c.GetMany(context.Background(), []string{"k"}, false, f.fetch)
			if diff := cmp.Diff(map[string][]string{"k": {"v(k)"}}, next); diff != "" {
				t.Errorf("read after the write (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCacheReadOverlappingWriteToAnotherKeyIsCached(t *testing.T) {
	c, _, _ := newTestCache(t)
	readDuringWrite(t, c, []string{"a", "b"}, func() { c.Invalidate("b") })
	f := &fetcher{}
	got, _ := c.GetMany(context.Background(), []string{"a", "b"}, false, f.fetch)
	want := map[string][]string{"a": {"before the write"}, "b": {"v(b)"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([][]string{{"b"}}, f.keys); diff != "" {
		t.Errorf("fetched (-want +got):\n%s", diff)
	}
}

func TestCacheReaderAfterWriteDoesNotJoinOlderRead(t *testing.T) {
	c, _, _ := newTestCache(t)
	started, release := make(chan struct{}, 1), make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = c.GetMany(context.Background(), []string{"k"}, false, blockingFetch(started, release, "before the write"))
	}()
	<-started
	c.Invalidate("k")
	// This read starts after the write: it must describe again, not wait for the old one.
	f := &fetcher{}
	got, _ := c.GetMany(context.Background(), []string{"k"}, false, f.fetch)
	close(release)
	<-done
	if diff := cmp.Diff(map[string][]string{"k": {"v(k)"}}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestCacheStoreOutsideGetManyHonoursWrites(t *testing.T) {
	c, _, _ := newTestCache(t)
	gen := c.Generation()
	c.Invalidate("a")
	c.Store(map[string][]string{"a": {"stale"}, "b": {"fine"}}, gen)
	f := &fetcher{}
	got, _ := c.GetMany(context.Background(), []string{"a", "b"}, false, f.fetch)
	if diff := cmp.Diff(map[string][]string{"a": {"v(a)"}, "b": {"fine"}}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestCacheUpdateWritesThroughAndKeepsExpiry(t *testing.T) {
	c, clock, _ := newTestCache(t)
	ctx := context.Background()
	f := &fetcher{}
	_, _ = c.GetMany(ctx, []string{"list"}, false, f.fetch)
	clock.Add(30 * time.Second)
	c.Update("list", func(v []string) []string { return append(v, "created") })
	got, _ := c.GetMany(ctx, []string{"list"}, false, f.fetch)
	if diff := cmp.Diff(map[string][]string{"list": {"v(list)", "created"}}, got); diff != "" {
		t.Errorf("after update (-want +got):\n%s", diff)
	}
	if n := f.calls.Load(); n != 1 {
		t.Errorf("%d fetches, want 1: the write went through the cache", n)
	}
	clock.Add(31 * time.Second) // the entry is as old as its read, not as the update
	_, _ = c.GetMany(ctx, []string{"list"}, false, f.fetch)
	if n := f.calls.Load(); n != 2 {
		t.Errorf("%d fetches, want 2: the entry should have expired", n)
	}
	// Without an entry, Update only invalidates.
	c.Update("other", func(v []string) []string { return []string{"made up"} })
	got, _ = c.GetMany(ctx, []string{"other"}, false, f.fetch)
	if diff := cmp.Diff(map[string][]string{"other": {"v(other)"}}, got); diff != "" {
		t.Errorf("update without entry (-want +got):\n%s", diff)
	}
}

func TestCacheManyWritesFoldIntoOneCollectionWideMark(t *testing.T) {
	c, _, _ := newTestCache(t)
	gen := c.Generation()
	for i := 0; i <= maxWritten; i++ {
		c.Invalidate(fmt.Sprint("w", i))
	}
	if len(c.written) > maxWritten {
		t.Fatalf("%d write marks kept, want at most %d", len(c.written), maxWritten)
	}
	// A read that began before the writes stores nothing, not even untouched keys.
	c.Store(map[string][]string{"w0": {"stale"}, "untouched": {"maybe stale"}}, gen)
	if len(c.entries) != 0 {
		t.Errorf("stored %v, want nothing", c.entries)
	}
	c.Store(map[string][]string{"w0": {"new"}}, c.Generation())
	if len(c.entries) != 1 {
		t.Errorf("a read after the writes was not stored")
	}
}
