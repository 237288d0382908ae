package sgrules

import (
	"cmp"
	"slices"
)

// PortRange is an inclusive range of ports, From <= To.
type PortRange struct {
	From, To int32
}

// Compress returns the fewest ranges that cover ports exactly, and, if there are more than
// budget of them, merges neighbours until budget remain, opening as few unrequested ports
// as possible.
//
// Steps: sort; merge ranges that overlap or touch (80-81 and 82 become 80-82); then, while
// there are more than budget ranges, merge the two neighbours with the smallest gap between
// them, the lowest such pair first on ties. Merging never changes the other gaps, so this is
// the same as keeping the budget-1 largest gaps, which is optimal: no set of budget ranges
// covering the ports opens fewer extra ports.
//
// budget <= 0 means no limit. budget 1 gives upstream's single min..max range. A range with
// From > To is read as To..From. The result is a new slice, sorted, nil for no ports; the
// input is not modified.
func Compress(ports []PortRange, budget int) []PortRange {
	if len(ports) == 0 {
		return nil
	}
	sorted := make([]PortRange, 0, len(ports))
	for _, p := range ports {
		if p.From > p.To {
			p.From, p.To = p.To, p.From
		}
		sorted = append(sorted, p)
	}
	slices.SortFunc(sorted, func(a, b PortRange) int {
		return cmp.Or(cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To))
	})

	merged := sorted[:1]
	for _, p := range sorted[1:] {
		last := &merged[len(merged)-1]
		if int64(p.From) <= int64(last.To)+1 {
			last.To = max(last.To, p.To)
			continue
		}
		merged = append(merged, p)
	}
	if budget <= 0 || len(merged) <= budget {
		return slices.Clip(merged)
	}

	// gap i lies between merged[i] and merged[i+1]. Close the len-budget smallest gaps,
	// lowest first on ties.
	gaps := make([]int, len(merged)-1)
	for i := range gaps {
		gaps[i] = i
	}
	size := func(i int) int64 { return int64(merged[i+1].From) - int64(merged[i].To) - 1 }
	slices.SortFunc(gaps, func(a, b int) int {
		return cmp.Or(cmp.Compare(size(a), size(b)), cmp.Compare(a, b))
	})
	closed := make([]bool, len(gaps))
	for _, i := range gaps[:len(merged)-budget] {
		closed[i] = true
	}

	out := make([]PortRange, 0, budget)
	cur := merged[0]
	for i := range gaps {
		if closed[i] {
			cur.To = merged[i+1].To
			continue
		}
		out = append(out, cur)
		cur = merged[i+1]
	}
	return append(out, cur)
}
