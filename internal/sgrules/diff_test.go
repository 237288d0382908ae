package sgrules

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func sgRule(proto string, from, to int32, peer, desc string) Rule {
	return Rule{Key{proto, from, to, PeerSG, peer}, desc}
}

func cidrRule(proto string, from, to int32, cidr, desc string) Rule {
	return Rule{Key{proto, from, to, PeerCIDR, cidr}, desc}
}

func TestDiff(t *testing.T) {
	own := OwnerDescription("c1")
	tests := []struct {
		name          string
		desired       []Rule
		current       []Rule
		owned         func(Rule) bool
		wantAuthorize []Rule
		wantRevoke    []Rule
	}{
		{name: "both empty"},
		{
			name:          "nothing current: authorize all, sorted and deduplicated",
			desired:       []Rule{cidrRule("tcp", 443, 443, "0.0.0.0/0", ""), cidrRule("tcp", 80, 80, "0.0.0.0/0", ""), cidrRule("tcp", 80, 80, "0.0.0.0/0", "")},
			wantAuthorize: []Rule{cidrRule("tcp", 80, 80, "0.0.0.0/0", ""), cidrRule("tcp", 443, 443, "0.0.0.0/0", "")},
		},
		{
			name:       "nothing desired, nil owned revokes everything (managed frontend SG)",
			current:    []Rule{cidrRule("tcp", 80, 80, "0.0.0.0/0", ""), cidrRule("tcp", 22, 22, "1.2.3.4/32", "user ssh")},
			wantRevoke: []Rule{cidrRule("tcp", 22, 22, "1.2.3.4/32", "user ssh"), cidrRule("tcp", 80, 80, "0.0.0.0/0", "")},
		},
		{
			name:    "in sync",
			desired: []Rule{cidrRule("tcp", 80, 80, "0.0.0.0/0", "")},
			current: []Rule{cidrRule("tcp", 80, 80, "0.0.0.0/0", "")},
		},
		{
			name:    "same key other description: neither authorized nor revoked",
			desired: []Rule{sgRule("tcp", 30080, 30080, "sg-b", own)},
			current: []Rule{sgRule("tcp", 30080, 30080, "sg-b", "user rule")},
			owned:   OwnedBy("c1", map[string]bool{"sg-b": true}),
		},
		{
			name:    "protocol spelled differently is the same rule",
			desired: []Rule{sgRule("TCP", 80, 80, "sg-b", own), sgRule("all", 0, 65535, "sg-c", own)},
			current: []Rule{sgRule("6", 80, 80, "sg-b", own), sgRule("-1", 0, 0, "sg-c", own)},
		},
		{
			name:    "owned filter keeps foreign rules",
			desired: []Rule{sgRule("tcp", 8080, 8080, "sg-b", own)},
			current: []Rule{
				sgRule("tcp", 30000, 32767, "sg-b", own),
				sgRule("tcp", 22, 22, "sg-admin", "ssh"),
				sgRule("tcp", 9000, 9000, "sg-x", OwnerDescription("c2")),
			},
			owned:         OwnedBy("c1", map[string]bool{"sg-b": true}),
			wantAuthorize: []Rule{sgRule("tcp", 8080, 8080, "sg-b", own)},
			wantRevoke:    []Rule{sgRule("tcp", 30000, 32767, "sg-b", own)},
		},
		{
			name:          "range change: authorize new, revoke old",
			desired:       []Rule{sgRule("tcp", 8080, 8080, "sg-b", own), sgRule("tcp", 30080, 30080, "sg-b", own)},
			current:       []Rule{sgRule("tcp", 8080, 30080, "sg-b", UpstreamSharedDescription)},
			owned:         OwnedBy("c1", map[string]bool{"sg-b": true}),
			wantAuthorize: []Rule{sgRule("tcp", 8080, 8080, "sg-b", own), sgRule("tcp", 30080, 30080, "sg-b", own)},
			wantRevoke:    []Rule{sgRule("tcp", 8080, 30080, "sg-b", UpstreamSharedDescription)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			desired, current := slices.Clone(tt.desired), slices.Clone(tt.current)
			auth, rev := Diff(tt.desired, tt.current, tt.owned)
			if diff := cmp.Diff(tt.wantAuthorize, auth); diff != "" {
				t.Errorf("authorize mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantRevoke, rev); diff != "" {
				t.Errorf("revoke mismatch (-want +got):\n%s", diff)
			}
			if !slices.Equal(desired, tt.desired) || !slices.Equal(current, tt.current) {
				t.Errorf("Diff mutated its inputs")
			}
		})
	}
}

// Applying a diff to current must give desired (for owned rules) and a second diff must be
// empty: the planner's second-round property, at the rule level.
func TestDiffConverges(t *testing.T) {
	own := OwnerDescription("c1")
	owned := OwnedBy("c1", map[string]bool{"sg-b": true})
	desired := []Rule{sgRule("tcp", 80, 80, "sg-b", own), sgRule("udp", 53, 53, "sg-b", own)}
	current := []Rule{
		sgRule("tcp", 1, 100, "sg-b", own),
		sgRule("tcp", 22, 22, "sg-admin", "ssh"),
		sgRule("udp", 53, 53, "sg-b", "user"),
	}
	auth, rev := Diff(desired, current, owned)
	next := map[Key]Rule{}
	for _, r := range current {
		next[r.Key] = r
	}
	for _, r := range rev {
		delete(next, r.Key)
	}
	for _, r := range auth {
		next[r.Key] = r
	}
	var applied []Rule
	for _, r := range next {
		applied = append(applied, r)
	}
	auth, rev = Diff(desired, applied, owned)
	if len(auth) != 0 || len(rev) != 0 {
		t.Fatalf("second diff not empty: authorize %v, revoke %v", auth, rev)
	}
	if _, ok := next[Key{"tcp", 22, 22, PeerSG, "sg-admin"}]; !ok {
		t.Fatalf("foreign rule was revoked")
	}
}

func TestUncovered(t *testing.T) {
	rng := func(from, to int32, peer string) Rule {
		return Rule{Key: Key{Protocol: ProtoTCP, FromPort: from, ToPort: to, PeerKind: PeerSG, Peer: peer}}
	}
	current := []Rule{rng(30000, 30100, "sg-b")}
	tests := []struct {
		name  string
		grant []Rule
		want  int
	}{
		{"inside the range", []Rule{rng(30050, 30050, "sg-b")}, 0},
		{"the range itself", []Rule{rng(30000, 30100, "sg-b")}, 0},
		{"outside the range", []Rule{rng(30200, 30200, "sg-b")}, 1},
		{"straddles the range", []Rule{rng(30090, 30110, "sg-b")}, 1},
		{"other peer", []Rule{rng(30050, 30050, "sg-c")}, 1},
		{"other protocol", []Rule{{Key: Key{Protocol: ProtoUDP, FromPort: 30050, ToPort: 30050, PeerKind: PeerSG, Peer: "sg-b"}}}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Uncovered(tc.grant, current); len(got) != tc.want {
				t.Errorf("Uncovered = %v, want %d rule(s)", got, tc.want)
			}
		})
	}
}
