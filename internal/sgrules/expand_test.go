package sgrules

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestExpand(t *testing.T) {
	tests := []struct {
		name  string
		perms []Permission
		want  []Rule
	}{
		{name: "nil", perms: nil, want: nil},
		{
			name: "grouped peers split in kind order",
			perms: []Permission{{
				Protocol: "6", FromPort: 80, ToPort: 80,
				SGs:         []Peer{{ID: "sg-1", Description: "d-sg"}},
				PrefixLists: []Peer{{ID: "pl-1"}},
				CIDRv6s:     []Peer{{ID: "::/0"}},
				CIDRs:       []Peer{{ID: "0.0.0.0/0", Description: "a"}, {ID: "10.0.0.0/8"}},
			}},
			want: []Rule{
				{Key{"tcp", 80, 80, PeerCIDR, "0.0.0.0/0"}, "a"},
				{Key{"tcp", 80, 80, PeerCIDR, "10.0.0.0/8"}, ""},
				{Key{"tcp", 80, 80, PeerCIDRv6, "::/0"}, ""},
				{Key{"tcp", 80, 80, PeerPrefixList, "pl-1"}, ""},
				{Key{"tcp", 80, 80, PeerSG, "sg-1"}, "d-sg"},
			},
		},
		{
			name: "all traffic gets 0..0",
			perms: []Permission{
				{Protocol: "-1", FromPort: -1, ToPort: -1, SGs: []Peer{{ID: "sg-1"}}},
				{Protocol: "all", SGs: []Peer{{ID: "sg-2"}}},
			},
			want: []Rule{
				{Key{"-1", 0, 0, PeerSG, "sg-1"}, ""},
				{Key{"-1", 0, 0, PeerSG, "sg-2"}, ""},
			},
		},
		{
			name: "icmp type and code kept",
			perms: []Permission{
				{Protocol: "icmp", FromPort: 3, ToPort: 4, CIDRs: []Peer{{ID: "0.0.0.0/0"}}},
				{Protocol: "1", FromPort: -1, ToPort: -1, CIDRs: []Peer{{ID: "10.0.0.0/8"}}},
				{Protocol: "58", FromPort: 2, ToPort: 0, CIDRv6s: []Peer{{ID: "::/0"}}},
			},
			want: []Rule{
				{Key{"icmp", 3, 4, PeerCIDR, "0.0.0.0/0"}, ""},
				{Key{"icmp", -1, -1, PeerCIDR, "10.0.0.0/8"}, ""},
				{Key{"icmpv6", 2, 0, PeerCIDRv6, "::/0"}, ""},
			},
		},
		{
			name:  "no peers gives no rule",
			perms: []Permission{{Protocol: "tcp", FromPort: 1, ToPort: 2}},
			want:  nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := clonePerms(tt.perms)
			got := Expand(tt.perms)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Expand() mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, tt.perms); diff != "" {
				t.Errorf("Expand() mutated its input (-before +after):\n%s", diff)
			}
		})
	}
}

// clonePerms deep-copies permissions for the no-mutation check.
func clonePerms(perms []Permission) []Permission {
	if perms == nil {
		return nil
	}
	out := make([]Permission, len(perms))
	for i, p := range perms {
		p.CIDRs = append([]Peer(nil), p.CIDRs...)
		p.CIDRv6s = append([]Peer(nil), p.CIDRv6s...)
		p.PrefixLists = append([]Peer(nil), p.PrefixLists...)
		p.SGs = append([]Peer(nil), p.SGs...)
		out[i] = p
	}
	return out
}
