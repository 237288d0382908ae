package sgrules

import "fmt"

// AWS default quotas (adjustable through Service Quotas). lbsg checks the defaults: an
// account with a raised quota sees lbsg hold back rules AWS would have accepted, never the
// reverse.
const (
	// DefaultRulesPerSG is the default number of inbound rules per security group, counted
	// separately for IPv4 and IPv6.
	DefaultRulesPerSG = 60
	// DefaultSGsPerLB is the number of security groups an ALB or NLB may have.
	DefaultSGsPerLB = 5
)

// QuotaError says a security group's rules would not fit its rule quota.
type QuotaError struct {
	Count  int    // weighted rule count of the fuller family
	Limit  int    // rules per family
	Family string // "IPv4" or "IPv6": the family over the limit
}

func (e *QuotaError) Error() string {
	return fmt.Sprintf("%d inbound %s rules (prefix lists counted by their max entries) exceed the limit of %d rules per security group",
		e.Count, e.Family, e.Limit)
}

// RuleCount returns the inbound-rule slots rules take in one security group, per address
// family, as AWS counts them: the quota applies to IPv4 and IPv6 rules separately, and a
// rule whose peer is a security group or a prefix list counts in both. Rules are counted
// once per Key (duplicates are one rule in EC2). A prefix-list rule weighs
// prefixListWeight[id], its max entries; an unknown or non-positive weight counts as 1.
func RuleCount(rules []Rule, prefixListWeight map[string]int) (v4, v6 int) {
	seen := make(map[Key]bool, len(rules))
	for _, r := range rules {
		k := r.Key.Canonical()
		if seen[k] {
			continue
		}
		seen[k] = true
		switch k.PeerKind {
		case PeerCIDR:
			v4++
		case PeerCIDRv6:
			v6++
		case PeerPrefixList:
			w := 1
			if prefixListWeight[k.Peer] > 0 {
				w = prefixListWeight[k.Peer]
			}
			v4, v6 = v4+w, v6+w
		default:
			v4, v6 = v4+1, v6+1
		}
	}
	return v4, v6
}

// CheckRuleQuota returns a *QuotaError when rules would take more than limit inbound-rule
// slots of one security group in either address family (see RuleCount). limit <= 0 means
// DefaultRulesPerSG.
func CheckRuleQuota(rules []Rule, prefixListWeight map[string]int, limit int) error {
	if limit <= 0 {
		limit = DefaultRulesPerSG
	}
	v4, v6 := RuleCount(rules, prefixListWeight)
	switch {
	case v4 > limit && v4 >= v6:
		return &QuotaError{Count: v4, Limit: limit, Family: "IPv4"}
	case v6 > limit:
		return &QuotaError{Count: v6, Limit: limit, Family: "IPv6"}
	}
	return nil
}
