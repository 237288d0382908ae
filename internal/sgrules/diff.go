package sgrules

// Diff compares the rules one security group should have with the rules it has.
//
// Rules are matched by canonical Key (Key.Canonical); descriptions are ignored, as EC2
// ignores them: a current rule with the same Key as a desired one satisfies it whatever
// its description, so it is neither re-authorized nor revoked.
//
//   - authorize = desired − current, with the desired description;
//   - revoke = (current − desired), keeping only the rules owned reports true for. A nil
//     owned means every rule is owned, which is right for an SG lbsg owns entirely (the
//     managed frontend SG); for shared node and pod SGs pass OwnedBy.
//
// Both outputs are canonical, de-duplicated by Key and sorted (see Sort). The inputs are not
// modified.
func Diff(desired, current []Rule, owned func(Rule) bool) (authorize, revoke []Rule) {
	want := canonicalSet(desired)
	have := canonicalSet(current)
	for _, r := range want {
		if _, ok := have[r.Key]; !ok {
			authorize = append(authorize, r)
		}
	}
	for _, r := range have {
		if _, ok := want[r.Key]; ok {
			continue
		}
		if owned == nil || owned(r) {
			revoke = append(revoke, r)
		}
	}
	Sort(authorize)
	Sort(revoke)
	return authorize, revoke
}

// canonicalSet indexes rules by canonical Key; the first rule for a Key wins.
func canonicalSet(rules []Rule) map[Key]Rule {
	set := make(map[Key]Rule, len(rules))
	for _, r := range rules {
		r.Key = r.Key.Canonical()
		if _, ok := set[r.Key]; !ok {
			set[r.Key] = r
		}
	}
	return set
}

// Uncovered returns the rules of grant whose ports no rule of current already admits from
// the same peer and protocol. When lbsg may only add rules (some stack could not be
// computed), a narrower rule inside an existing range would only add to the count.
func Uncovered(grant, current []Rule) []Rule {
	var out []Rule
	for _, g := range grant {
		covered := false
		for _, c := range current {
			if c.Protocol == g.Protocol && c.PeerKind == g.PeerKind && c.Peer == g.Peer && c.FromPort <= g.FromPort && c.ToPort >= g.ToPort {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, g)
		}
	}
	return out
}
