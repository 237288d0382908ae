package sgrules

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSort(t *testing.T) {
	want := []Rule{
		{Key{"-1", 0, 0, PeerSG, "sg-1"}, ""},
		{Key{"icmp", 3, 4, PeerCIDR, "0.0.0.0/0"}, ""},
		{Key{"tcp", 80, 80, PeerCIDR, "0.0.0.0/0"}, ""},
		{Key{"tcp", 80, 80, PeerCIDR, "10.0.0.0/8"}, ""},
		{Key{"tcp", 80, 80, PeerCIDRv6, "::/0"}, ""},
		{Key{"tcp", 80, 80, PeerPrefixList, "pl-1"}, ""},
		{Key{"tcp", 80, 80, PeerSG, "sg-1"}, "a"},
		{Key{"tcp", 80, 80, PeerSG, "sg-1"}, "b"},
		{Key{"tcp", 80, 81, PeerSG, "sg-1"}, ""},
		{Key{"tcp", 443, 443, PeerCIDR, "0.0.0.0/0"}, ""},
		{Key{"udp", 53, 53, PeerCIDR, "0.0.0.0/0"}, ""},
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		got := slices.Clone(want)
		r.Shuffle(len(got), func(i, j int) { got[i], got[j] = got[j], got[i] })
		Sort(got)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("Sort() mismatch (-want +got):\n%s", diff)
		}
	}
}

func TestDedup(t *testing.T) {
	tests := []struct {
		name string
		in   []Rule
		want []Rule
	}{
		{name: "nil", in: nil, want: nil},
		{name: "empty", in: []Rule{}, want: nil},
		{
			name: "first description wins, output sorted",
			in: []Rule{
				{Key{"tcp", 443, 443, PeerSG, "sg-1"}, ""},
				{Key{"tcp", 80, 80, PeerSG, "sg-1"}, "z-first"},
				{Key{"tcp", 80, 80, PeerSG, "sg-1"}, "a-second"},
				{Key{"tcp", 443, 443, PeerSG, "sg-1"}, "x"},
			},
			want: []Rule{
				{Key{"tcp", 80, 80, PeerSG, "sg-1"}, "z-first"},
				{Key{"tcp", 443, 443, PeerSG, "sg-1"}, ""},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := slices.Clone(tt.in)
			got := Dedup(tt.in)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Dedup() mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, tt.in); diff != "" {
				t.Errorf("Dedup() mutated its input:\n%s", diff)
			}
		})
	}
}
