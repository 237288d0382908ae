package awsproxy

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/lbsg/lbsg/internal/tally"
)

// Key names one API action of one service. Service is ServiceEC2, ServiceELBV2, or ""
// when a request named neither; Action is the query-protocol Action parameter ("" when
// the request had none).
type Key struct {
	Service string
	Action  string
}

// Mutating reports whether the action may change state: every action but Describe*, Get*
// and List*.
func (k Key) Mutating() bool { return !IsReadOnlyAction(k.Action) }

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

// Counts is a number of requests by service and action.
type Counts map[Key]int

// Snapshot is what the proxy saw: Calls counts every AWS request it received, whether
// forwarded or answered with a fault; Injected counts, by fault, the requests it answered
// itself. It is a plain value: take one before and one after some work and Sub them.
type Snapshot struct {
	Calls    Counts
	Injected map[Fault]Counts
}

// Sub returns s minus earlier.
func (s Snapshot) Sub(earlier Snapshot) Snapshot {
	out := Snapshot{Calls: s.Calls.Sub(earlier.Calls), Injected: map[Fault]Counts{}}
	for f, c := range s.Injected {
		if d := c.Sub(earlier.Injected[f]); len(d) > 0 {
			out.Injected[f] = d
		}
	}
	return out
}

// InjectedTotal returns the number of requests answered with any fault.
func (s Snapshot) InjectedTotal() int {
	n := 0
	for _, c := range s.Injected {
		n += c.Total()
	}
	return n
}

func (c Counts) clone() Counts { return maps.Clone(c) }

// Sub returns c minus earlier, keeping only the keys whose count changed.
func (c Counts) Sub(earlier Counts) Counts {
	return tally.Sub(c, earlier)
}

// Total returns the number of requests in c.
func (c Counts) Total() int {
	return tally.Total(c)
}

// Mutating returns the number of requests in c to actions that may change state.
func (c Counts) Mutating() int {
	n := 0
	for k, v := range c {
		if k.Mutating() {
			n += v
		}
	}
	return n
}

// Service returns the counts of one service.
func (c Counts) Service(service string) Counts {
	out := Counts{}
	for k, v := range c {
		if k.Service == service {
			out[k] = v
		}
	}
	return out
}

// ByAction returns the number of requests per action, whatever the service.
func (c Counts) ByAction() map[string]int {
	out := map[string]int{}
	for k, v := range c {
		out[k.Action] += v
	}
	return out
}

// String lists the counts one per line, "service action n", sorted by service then action.
func (c Counts) String() string {
	keys := slices.SortedFunc(maps.Keys(c), func(a, b Key) int {
		if x := strings.Compare(a.Service, b.Service); x != 0 {
			return x
		}
		return strings.Compare(a.Action, b.Action)
	})
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s %s %d\n", k.Service, k.Action, c[k])
	}
	return b.String()
}
