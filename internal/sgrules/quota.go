package sgrules

import "fmt"

// AWS default quotas (adjustable through Service Quotas).
const (
	// DefaultRulesPerSG is the default number of inbound rules per security group.
	DefaultRulesPerSG = 60
	// DefaultSGsPerLB is the number of security groups an ALB or NLB may have.
	DefaultSGsPerLB = 5
)

// QuotaError says a security group's rules would not fit its rule quota.
type QuotaError struct {
	Count int // weighted rule count
	Limit int
}

func (e *QuotaError) Error() string {
	return fmt.Sprintf("%d inbound rules (prefix lists counted by their max entries) exceed the limit of %d rules per security group",
		e.Count, e.Limit)
}

// CheckRuleQuota returns a *QuotaError when rules would take more than limit inbound-rule
// slots of one security group. Rules are counted once per Key (duplicates are one rule in
// EC2). A rule whose peer is a prefix list counts as prefixListWeight[id], its max entries,
// as AWS counts it; an unknown or non-positive weight counts as 1. limit <= 0 means
// DefaultRulesPerSG.
func CheckRuleQuota(rules []Rule, prefixListWeight map[string]int, limit int) error {
	if limit <= 0 {
		limit = DefaultRulesPerSG
	}
	seen := make(map[Key]bool, len(rules))
	count := 0
	for _, r := range rules {
		k := r.Key.Canonical()
		if seen[k] {
			continue
		}
		seen[k] = true
		w := 1
		if k.PeerKind == PeerPrefixList && prefixListWeight[k.Peer] > 0 {
			w = prefixListWeight[k.Peer]
		}
		count += w
	}
	if count > limit {
		return &QuotaError{Count: count, Limit: limit}
	}
	return nil
}
