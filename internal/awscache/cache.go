// Package awscache is the one read cache lbsg puts in front of AWS, for EC2 and ELBv2
// alike. Its rule for reads that overlap writes: a read that began before a write to the
// same entry (or to the whole collection) completed never stores its result, because that
// result may predate the write. Every write marks what it changed; every store checks the
// mark. What a caller gets is always a copy.
package awscache

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// maxWritten bounds the per-key write marks kept between collection-wide invalidations.
// Past it the marks fold into one collection-wide mark: reads in flight then store
// nothing, which is always safe.
const maxWritten = 1024

// Cache is a mutex-protected map with one TTL. The lock is never held during an AWS call.
// Concurrent misses for the same key share one fetch (a flight), so N callers asking for
// one SG at once cause one describe.
//
// Writes are ordered by a counter. A read takes the counter when it starts (Generation);
// a write bumps it and records it for the keys it touches (Invalidate, Update) or for the
// collection (Clear, InvalidateIf). Store drops a value whose key, or the collection, was
// written after the read started.
type Cache[V any] struct {
	name    string
	ttl     time.Duration
	clone   func(V) V
	now     func() time.Time
	lookups *prometheus.CounterVec

	mu        sync.Mutex
	gen       uint64            // counts writes
	floor     uint64            // generation of the last collection-wide write
	written   map[string]uint64 // generation of the last write to each key, since floor
	entries   map[string]entry[V]
	flights   map[string]*flight[V]
	lastSweep time.Time
}

type entry[V any] struct {
	v       V
	expires time.Time
}

type flight[V any] struct {
	done chan struct{}
	vals map[string]V
	err  error
}

// New returns a cache named name (the "cache" label of lookups, which may be nil) whose
// entries live for ttl. clone copies a value, so that callers may modify what they get;
// now is the clock (time.Now outside tests).
func New[V any](name string, ttl time.Duration, clone func(V) V, lookups *prometheus.CounterVec, now func() time.Time) *Cache[V] {
	if now == nil {
		now = time.Now
	}
	return &Cache[V]{
		name: name, ttl: ttl, clone: clone, now: now, lookups: lookups,
		written: map[string]uint64{},
		entries: map[string]entry[V]{},
		flights: map[string]*flight[V]{},
	}
}

// GetMany returns the values for keys. Unless fresh, valid entries and flights in progress
// are used; the remaining keys go to ONE call of fetch. Keys fetch does not return are
// absent from the result and are not cached. Values are copies.
func (c *Cache[V]) GetMany(ctx context.Context, keys []string, fresh bool, fetch func(context.Context, []string) (map[string]V, error)) (map[string]V, error) {
	out := make(map[string]V, len(keys))
	var toFetch []string
	waits := map[*flight[V]][]string{}

	c.mu.Lock()
	now := c.now()
	for _, k := range Dedup(keys) {
		if !fresh {
			if e, ok := c.entries[k]; ok && now.Before(e.expires) {
				out[k] = c.clone(e.v)
				c.count("hit")
				continue
			}
			if f, ok := c.flights[k]; ok {
				waits[f] = append(waits[f], k)
				c.count("hit")
				continue
			}
		}
		c.count("miss")
		toFetch = append(toFetch, k)
	}
	gen := c.gen
	var mine *flight[V]
	if len(toFetch) > 0 {
		mine = &flight[V]{done: make(chan struct{})}
		for _, k := range toFetch {
			c.flights[k] = mine
		}
	}
	c.mu.Unlock()

	if mine != nil {
		vals, err := c.fly(ctx, mine, toFetch, gen, fetch)
		if err != nil {
			return nil, err
		}
		for k, v := range vals {
			out[k] = c.clone(v)
		}
	}

	// Keys whose shared flight failed (for example because its caller's context was
	// cancelled) are fetched again here, in one call.
	var retry []string
	for f, ks := range waits {
		select {
		case <-f.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if f.err != nil {
			retry = append(retry, ks...)
			continue
		}
		for _, k := range ks {
			if v, ok := f.vals[k]; ok {
				out[k] = c.clone(v)
			}
		}
	}
	if len(retry) > 0 {
		gen := c.Generation()
		vals, err := fetch(ctx, retry)
		if err != nil {
			return nil, err
		}
		c.Store(vals, gen)
		for k, v := range vals {
			out[k] = c.clone(v)
		}
	}
	return out, nil
}

// fly runs fetch for the keys of flight f, stores the result, and lands the flight: even
// if fetch panics, waiters are released (with an error).
func (c *Cache[V]) fly(ctx context.Context, f *flight[V], keys []string, gen uint64, fetch func(context.Context, []string) (map[string]V, error)) (vals map[string]V, err error) {
	completed := false
	defer func() {
		ferr := err
		if !completed {
			ferr = errors.New("describe did not complete")
		}
		c.mu.Lock()
		if ferr == nil {
			c.storeLocked(vals, gen)
		}
		for _, k := range keys {
			if c.flights[k] == f {
				delete(c.flights, k)
			}
		}
		c.mu.Unlock()
		f.vals, f.err = vals, ferr
		close(f.done)
	}()
	vals, err = fetch(ctx, keys)
	completed = true
	return vals, err
}

// Get is GetMany for one key; ok is false when fetch did not return it.
func (c *Cache[V]) Get(ctx context.Context, key string, fresh bool, fetch func(context.Context) (V, bool, error)) (V, bool, error) {
	m, err := c.GetMany(ctx, []string{key}, fresh, func(ctx context.Context, _ []string) (map[string]V, error) {
		v, ok, err := fetch(ctx)
		if err != nil || !ok {
			return nil, err
		}
		return map[string]V{key: v}, nil
	})
	if err != nil {
		var zero V
		return zero, false, err
	}
	v, ok := m[key]
	return v, ok, nil
}

// Generation returns the write counter, to pass to Store after a read done outside
// GetMany (values learned as a side effect of another describe). Take it BEFORE the read.
func (c *Cache[V]) Generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// Store caches vals, except those whose key (or the whole cache) was written since
// generation gen was taken.
func (c *Cache[V]) Store(vals map[string]V, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.storeLocked(vals, gen)
}

func (c *Cache[V]) storeLocked(vals map[string]V, gen uint64) {
	if gen < c.floor {
		return
	}
	now := c.now()
	if now.Sub(c.lastSweep) > c.ttl {
		for k, e := range c.entries {
			if !now.Before(e.expires) {
				delete(c.entries, k)
			}
		}
		c.lastSweep = now
	}
	for k, v := range vals {
		if c.written[k] > gen {
			continue
		}
		c.entries[k] = entry[V]{v: c.clone(v), expires: now.Add(c.ttl)}
	}
}

// markLocked records a write to keys: reads of them in flight will not store, and later
// readers do not join those reads.
func (c *Cache[V]) markLocked(keys []string) {
	c.gen++
	for _, k := range keys {
		c.written[k] = c.gen
		delete(c.flights, k)
	}
	if len(c.written) > maxWritten {
		c.markAllLocked()
	}
}

// markAllLocked records a write to the whole collection.
func (c *Cache[V]) markAllLocked() {
	c.gen++
	c.floor = c.gen
	clear(c.written)
	clear(c.flights)
}

// Invalidate drops keys after a write to them.
func (c *Cache[V]) Invalidate(keys ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.markLocked(keys)
	for _, k := range keys {
		delete(c.entries, k)
	}
}

// Update is a write-through: after a write to key, it replaces a valid cached value v by
// apply(copy of v), keeping its expiry (the rest of the value is as old as the read that
// produced it). Without a valid entry it only invalidates key.
func (c *Cache[V]) Update(key string, apply func(V) V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.markLocked([]string{key})
	e, ok := c.entries[key]
	if !ok || !c.now().Before(e.expires) {
		delete(c.entries, key)
		return
	}
	c.entries[key] = entry[V]{v: apply(c.clone(e.v)), expires: e.expires}
}

// InvalidateIf drops every entry for which drop returns true. Since a read in flight may
// be one drop would have matched, it counts as a write to the whole collection.
func (c *Cache[V]) InvalidateIf(drop func(key string, v V) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.markAllLocked()
	for k, e := range c.entries {
		if drop(k, e.v) {
			delete(c.entries, k)
		}
	}
}

// Clear drops everything after a write that may touch any entry.
func (c *Cache[V]) Clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.markAllLocked()
	clear(c.entries)
}

func (c *Cache[V]) count(result string) {
	if c.lookups != nil {
		c.lookups.WithLabelValues(c.name, result).Inc()
	}
}

// Dedup returns keys without empty strings and repeats, in first-seen order.
func Dedup(keys []string) []string {
	seen := make(map[string]bool, len(keys))
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		if k != "" && !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}
