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
	return CompressApart(ports, budget, PortRange{})
}

// CompressApart is Compress with one rule more: ports inside apart (the cluster's NodePort
// range) and ports outside it (below or above) never share a range, so that a pod port
// never opens the NodePort range, nor a NodePort a pod port. Ports on different sides are
// never merged, even when they touch (32767 and 32768). When the ports lie on more sides
// than budget allows ranges, one range per side is returned (at most 3); within that,
// the budget is spent as Compress spends it, merging across the smallest gaps that do not
// cross a side, which is optimal for the constraint. A range of the input that already
// crosses a side (0-65535 for every port) is kept as it is. A zero apart ({0, 0}) keeps
// nothing apart: CompressApart is then Compress.
func CompressApart(ports []PortRange, budget int, apart PortRange) []PortRange {
	if len(ports) == 0 {
		return nil
	}
	if apart.From > apart.To {
		apart.From, apart.To = apart.To, apart.From
	}
	split := apart != PortRange{}
	// side is -1 below apart, 0 inside and 1 above; crosses reports whether joining a range
	// ending at a with one starting at b would span two sides.
	side := func(p int32) int {
		switch {
		case p < apart.From:
			return -1
		case p > apart.To:
			return 1
		}
		return 0
	}
	crosses := func(a, b int32) bool { return split && side(a) != side(b) }
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
		if int64(p.From) <= int64(last.To) || (int64(p.From) == int64(last.To)+1 && !crosses(last.To, p.From)) {
			last.To = max(last.To, p.To)
			continue
		}
		merged = append(merged, p)
	}
	if budget <= 0 || len(merged) <= budget {
		return slices.Clip(merged)
	}

	// gap i lies between merged[i] and merged[i+1]. Close the len-budget smallest gaps that
	// do not cross a side, lowest first on ties.
	var gaps []int
	for i := range len(merged) - 1 {
		if !crosses(merged[i].To, merged[i+1].From) {
			gaps = append(gaps, i)
		}
	}
	size := func(i int) int64 { return int64(merged[i+1].From) - int64(merged[i].To) - 1 }
	slices.SortFunc(gaps, func(a, b int) int {
		return cmp.Or(cmp.Compare(size(a), size(b)), cmp.Compare(a, b))
	})
	closed := make([]bool, len(merged)-1)
	for _, i := range gaps[:min(len(gaps), len(merged)-budget)] {
		closed[i] = true
	}

	out := make([]PortRange, 0, budget)
	cur := merged[0]
	for i := range closed {
		if closed[i] {
			cur.To = merged[i+1].To
			continue
		}
		out = append(out, cur)
		cur = merged[i+1]
	}
	return append(out, cur)
}
