package targets

import (
	"fmt"
	"slices"
)

// Policy says which security groups of a target ENI with several security groups get the
// cluster's inbound rules (--target-sg-selection). An ENI with a single security group
// always gets them on that group, whatever the policy.
type Policy string

// Policies.
const (
	// PolicyError is upstream's rule (SelectSG): exactly one of the ENI's groups must carry
	// the cluster tag (and the extra tags); otherwise no rule is added for that ENI and the
	// owners are told why.
	PolicyError Policy = "error"
	// PolicyFirstTagged takes, of the groups carrying the cluster tag (and the extra tags),
	// the first in sorted ID order. When none carries it, it fails as PolicyError does:
	// an untagged group is never a guess lbsg makes.
	PolicyFirstTagged Policy = "first-tagged"
	// PolicyAll puts the rules on every security group of the ENI, tagged or not.
	PolicyAll Policy = "all"
)

// Policies lists the valid values of --target-sg-selection, the default first.
var Policies = []Policy{PolicyError, PolicyFirstTagged, PolicyAll}

// ParsePolicy returns the policy a flag value names.
func ParsePolicy(v string) (Policy, error) {
	for _, p := range Policies {
		if string(p) == v {
			return p, nil
		}
	}
	return "", fmt.Errorf("unknown target security group selection %q: must be one of %v", v, Policies)
}

// SelectSGs returns the security groups of eni that get the inbound rules under policy,
// sorted and without duplicates (see Policy). Its errors name the ENI, its groups and the
// fix, which includes --target-sg-selection.
func SelectSGs(eni ENI, sgTags map[string]map[string]string, cluster string, extraTags map[string]string, policy Policy) ([]string, error) {
	all := slices.Compact(slices.Sorted(slices.Values(eni.SecurityGroups)))
	if len(all) == 0 {
		return nil, fmt.Errorf("eni %s has no security groups", eni.ID)
	}
	switch policy {
	case PolicyAll:
		return all, nil
	case PolicyFirstTagged:
		clusterKey := ClusterTagPrefix + cluster
		for _, sg := range all {
			if len(all) == 1 || matches(sgTags[sg], clusterKey, extraTags) {
				return []string{sg}, nil
			}
		}
	}
	sg, err := SelectSG(eni, sgTags, cluster, extraTags)
	if err != nil {
		return nil, fmt.Errorf("%w; or choose another policy with --target-sg-selection (%s: the first tagged group, %s: every group of the ENI)",
			err, PolicyFirstTagged, PolicyAll)
	}
	return []string{sg}, nil
}
