package sgrules

import (
	"cmp"
	"slices"
	"strings"
)

// compareKeys orders keys by protocol, from port, to port, peer kind and peer.
func compareKeys(a, b Key) int {
	return cmp.Or(
		strings.Compare(a.Protocol, b.Protocol),
		cmp.Compare(a.FromPort, b.FromPort),
		cmp.Compare(a.ToPort, b.ToPort),
		strings.Compare(string(a.PeerKind), string(b.PeerKind)),
		strings.Compare(a.Peer, b.Peer),
	)
}

// compareRules orders rules by key, then by description, which makes the order total.
func compareRules(a, b Rule) int {
	return cmp.Or(compareKeys(a.Key, b.Key), strings.Compare(a.Description, b.Description))
}

// Sort sorts rules in place by protocol, from port, to port, peer kind, peer and, last,
// description. The order is total, so equal inputs always give equal outputs.
func Sort(rules []Rule) {
	slices.SortStableFunc(rules, compareRules)
}

// Dedup returns a new sorted slice holding one rule per Key: when several rules share a
// Key, the first one in input order is kept. Keys are compared as given; use Canonical
// first if they may come from different sources. The input is not modified.
func Dedup(rules []Rule) []Rule {
	if len(rules) == 0 {
		return nil
	}
	seen := make(map[Key]bool, len(rules))
	out := make([]Rule, 0, len(rules))
	for _, r := range rules {
		if seen[r.Key] {
			continue
		}
		seen[r.Key] = true
		out = append(out, r)
	}
	Sort(out)
	return out
}
