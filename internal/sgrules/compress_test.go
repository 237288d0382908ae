package sgrules

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func pr(from, to int32) PortRange { return PortRange{from, to} }

func ports(ps ...int32) []PortRange {
	out := make([]PortRange, len(ps))
	for i, p := range ps {
		out[i] = PortRange{p, p}
	}
	return out
}

func TestCompress(t *testing.T) {
	tests := []struct {
		name   string
		in     []PortRange
		budget int
		want   []PortRange
	}{
		{name: "nil", in: nil, budget: 3, want: nil},
		{name: "empty", in: []PortRange{}, budget: 0, want: nil},
		{name: "one port", in: ports(80), budget: 1, want: []PortRange{pr(80, 80)}},
		{name: "no limit keeps exact ports", in: ports(443, 80, 8080), budget: 0, want: []PortRange{pr(80, 80), pr(443, 443), pr(8080, 8080)}},
		{name: "negative budget is no limit", in: ports(443, 80), budget: -1, want: []PortRange{pr(80, 80), pr(443, 443)}},
		{name: "within budget", in: ports(443, 80), budget: 2, want: []PortRange{pr(80, 80), pr(443, 443)}},
		{name: "duplicates collapse", in: ports(80, 80, 80), budget: 0, want: []PortRange{pr(80, 80)}},
		{name: "adjacent merge without budget", in: ports(80, 81, 82, 90), budget: 0, want: []PortRange{pr(80, 82), pr(90, 90)}},
		{name: "overlapping ranges merge", in: []PortRange{pr(100, 200), pr(150, 300), pr(301, 310), pr(50, 60)}, budget: 0, want: []PortRange{pr(50, 60), pr(100, 310)}},
		{name: "contained range", in: []PortRange{pr(100, 200), pr(120, 130)}, budget: 0, want: []PortRange{pr(100, 200)}},
		{name: "reversed range read as swapped", in: []PortRange{pr(90, 80)}, budget: 0, want: []PortRange{pr(80, 90)}},
		{name: "budget 1 is upstream min..max", in: ports(30080, 8080, 32001), budget: 1, want: []PortRange{pr(8080, 32001)}},
		{name: "budget 2 merges smallest gap", in: ports(30080, 8080, 32001), budget: 2, want: []PortRange{pr(8080, 8080), pr(30080, 32001)}},
		{name: "merges several smallest gaps", in: ports(10, 12, 100, 103, 1000), budget: 2, want: []PortRange{pr(10, 103), pr(1000, 1000)}},
		{name: "tie: lowest pair merged first", in: ports(1, 3, 5), budget: 2, want: []PortRange{pr(1, 3), pr(5, 5)}},
		{name: "tie across three gaps", in: ports(1, 3, 5, 7), budget: 2, want: []PortRange{pr(1, 5), pr(7, 7)}},
		{name: "extremes", in: []PortRange{pr(0, 0), pr(65535, 65535)}, budget: 1, want: []PortRange{pr(0, 65535)}},
		{name: "max int32 does not overflow", in: []PortRange{pr(2147483646, 2147483647), pr(2147483647, 2147483647)}, budget: 0, want: []PortRange{pr(2147483646, 2147483647)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := slices.Clone(tt.in)
			got := Compress(tt.in, tt.budget)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Compress(%v, %d) mismatch (-want +got):\n%s", tt.in, tt.budget, diff)
			}
			if !slices.Equal(before, tt.in) {
				t.Errorf("Compress mutated its input: %v -> %v", before, tt.in)
			}
		})
	}
}

// TestCompressBruteForce checks Compress against an exhaustive search on small random
// inputs: the result covers exactly the requested ports plus as few others as any
// covering by at most budget ranges can.
func TestCompressBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(42, 7))
	for iter := range 3000 {
		n := 1 + r.IntN(7)
		in := make([]PortRange, n)
		for i := range in {
			from := int32(r.IntN(40))
			in[i] = PortRange{from, from + int32(r.IntN(3))}
		}
		budget := r.IntN(n + 2) // 0 (no limit) .. n+1

		got := Compress(in, budget)

		want := map[int32]bool{}
		for _, p := range in {
			for q := p.From; q <= p.To; q++ {
				want[q] = true
			}
		}
		// Well-formed: sorted, disjoint, not touching.
		for i, g := range got {
			if g.From > g.To {
				t.Fatalf("iter %d: bad range %v in %v", iter, g, got)
			}
			if i > 0 && g.From <= got[i-1].To+1 {
				t.Fatalf("iter %d: ranges overlap or touch: %v", iter, got)
			}
		}
		// Covers every requested port.
		covered := map[int32]bool{}
		for _, g := range got {
			for q := g.From; q <= g.To; q++ {
				covered[q] = true
			}
		}
		for q := range want {
			if !covered[q] {
				t.Fatalf("iter %d: Compress(%v, %d) = %v misses port %d", iter, in, budget, got, q)
			}
		}
		extra := len(covered) - len(want)
		if budget <= 0 {
			if extra != 0 {
				t.Fatalf("iter %d: no budget but %d extra ports: Compress(%v) = %v", iter, extra, in, got)
			}
			continue
		}
		if len(got) > budget {
			t.Fatalf("iter %d: Compress(%v, %d) = %v has more than budget ranges", iter, in, budget, got)
		}
		if best := bruteMinExtra(want, budget); extra != best {
			t.Fatalf("iter %d: Compress(%v, %d) = %v opens %d extra ports, best is %d", iter, in, budget, got, extra, best)
		}
	}
}

// bruteMinExtra returns the fewest unrequested ports any covering of want by at most budget
// ranges opens. It tries every way to cut the sorted distinct ports into at most budget
// runs of consecutive members; an optimal covering has this shape (each range can be
// shrunk to start and end on requested ports).
func bruteMinExtra(want map[int32]bool, budget int) int {
	var ps []int32
	for p := range want {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	cuts := len(ps) - 1 // possible cut points between ps[i] and ps[i+1]
	best := -1
	for mask := 0; mask < 1<<cuts; mask++ {
		runs := 1
		for i := range cuts {
			if mask&(1<<i) != 0 {
				runs++
			}
		}
		if runs > budget {
			continue
		}
		extra := 0
		for i := range cuts {
			if mask&(1<<i) == 0 { // not cut: the gap is covered
				extra += int(ps[i+1] - ps[i] - 1)
			}
		}
		if best < 0 || extra < best {
			best = extra
		}
	}
	return best
}

func TestCompressApart(t *testing.T) {
	nodePorts := pr(30000, 32767)
	tests := []struct {
		name   string
		in     []PortRange
		budget int
		want   []PortRange
	}{
		{name: "budget 1 keeps a pod port out of the NodePort range", in: ports(30080, 8080, 32001), budget: 1,
			want: []PortRange{pr(8080, 8080), pr(30080, 32001)}},
		{name: "three sides give three ranges at budget 1", in: ports(8080, 30080, 40000, 30100), budget: 1,
			want: []PortRange{pr(8080, 8080), pr(30080, 30100), pr(40000, 40000)}},
		{name: "ports touching across the edge stay apart", in: ports(29999, 30000, 32767, 32768), budget: 0,
			want: []PortRange{pr(29999, 29999), pr(30000, 30000), pr(32767, 32767), pr(32768, 32768)}},
		{name: "touching ports inside still merge", in: ports(30000, 30001), budget: 0, want: []PortRange{pr(30000, 30001)}},
		{name: "the budget left merges within a side", in: ports(80, 443, 8080, 30080, 30090, 32000), budget: 3,
			want: []PortRange{pr(80, 443), pr(8080, 8080), pr(30080, 32000)}},
		{name: "all ports stays one range", in: []PortRange{pr(0, 65535), pr(30080, 30080)}, budget: 1, want: []PortRange{pr(0, 65535)}},
		{name: "only NodePorts is Compress", in: ports(30080, 30100, 32001), budget: 1, want: []PortRange{pr(30080, 32001)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := slices.Clone(tt.in)
			got := CompressApart(tt.in, tt.budget, nodePorts)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("CompressApart(%v, %d) mismatch (-want +got):\n%s", tt.in, tt.budget, diff)
			}
			if !slices.Equal(before, tt.in) {
				t.Errorf("CompressApart mutated its input: %v -> %v", before, tt.in)
			}
		})
	}
}

// TestCompressApartBruteForce checks CompressApart against an exhaustive search on small
// random inputs: no range holds ports of two sides of the kept-apart range, every port is
// covered, at most max(budget, sides) ranges, and as few extra ports as any such covering.
func TestCompressApartBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 6))
	apart := pr(15, 25)
	side := func(p int32) int {
		switch {
		case p < apart.From:
			return -1
		case p > apart.To:
			return 1
		}
		return 0
	}
	for iter := range 3000 {
		n := 1 + r.IntN(7)
		in := make([]PortRange, n)
		for i := range in {
			p := int32(r.IntN(41))
			in[i] = PortRange{p, p}
		}
		budget := r.IntN(n + 2)
		got := CompressApart(in, budget, apart)

		want := map[int32]bool{}
		sides := map[int]bool{}
		for _, p := range in {
			want[p.From] = true
			sides[side(p.From)] = true
		}
		covered := map[int32]bool{}
		for i, g := range got {
			if g.From > g.To || (i > 0 && g.From <= got[i-1].To) {
				t.Fatalf("iter %d: malformed %v", iter, got)
			}
			if side(g.From) != side(g.To) {
				t.Fatalf("iter %d: CompressApart(%v, %d) = %v: range %v spans two sides of %v", iter, in, budget, got, g, apart)
			}
			for q := g.From; q <= g.To; q++ {
				covered[q] = true
			}
		}
		for q := range want {
			if !covered[q] {
				t.Fatalf("iter %d: CompressApart(%v, %d) = %v misses port %d", iter, in, budget, got, q)
			}
		}
		extra := len(covered) - len(want)
		if budget <= 0 {
			if extra != 0 {
				t.Fatalf("iter %d: no budget but %d extra ports: %v", iter, extra, got)
			}
			continue
		}
		if len(got) > max(budget, len(sides)) {
			t.Fatalf("iter %d: CompressApart(%v, %d) = %v has more than max(budget, %d sides) ranges", iter, in, budget, got, len(sides))
		}
		if best := bruteMinExtraApart(want, max(budget, len(sides)), side); extra != best {
			t.Fatalf("iter %d: CompressApart(%v, %d) = %v opens %d extra ports, best is %d", iter, in, budget, got, extra, best)
		}
	}
}

// bruteMinExtraApart is bruteMinExtra where a cut between ports of two sides is forced.
func bruteMinExtraApart(want map[int32]bool, budget int, side func(int32) int) int {
	var ps []int32
	for p := range want {
		ps = append(ps, p)
	}
	slices.Sort(ps)
	cuts := len(ps) - 1
	best := -1
	for mask := 0; mask < 1<<cuts; mask++ {
		runs, extra, ok := 1, 0, true
		for i := range cuts {
			cut := mask&(1<<i) != 0
			if !cut && side(ps[i]) != side(ps[i+1]) {
				ok = false
				break
			}
			if cut {
				runs++
			} else {
				extra += int(ps[i+1] - ps[i] - 1)
			}
		}
		if ok && runs <= budget && (best < 0 || extra < best) {
			best = extra
		}
	}
	return best
}
