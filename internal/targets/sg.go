package targets

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// ClusterTagPrefix starts the tag key that marks a security group as the one of a
// multi-SG ENI that gets the cluster's rules: "kubernetes.io/cluster/<cluster>", any value.
const ClusterTagPrefix = "kubernetes.io/cluster/"

// ENI is a target network interface and the security groups attached to it.
type ENI struct {
	ID             string
	SecurityGroups []string
}

// SelectSG returns the security group of eni that gets the inbound rules, as upstream does:
//
//   - an ENI with exactly one security group: that group, with no tag check;
//   - with several: the groups whose tags (sgTags, by SG ID) carry the key
//     kubernetes.io/cluster/<cluster>, with any value, and every extraTags pair
//     (--service-target-eni-security-group-tags) with exactly that value. Exactly one must
//     remain.
//
// Otherwise it returns an error that names the ENI, the candidates and the fix. A group
// missing from sgTags counts as untagged.
func SelectSG(eni ENI, sgTags map[string]map[string]string, cluster string, extraTags map[string]string) (string, error) {
	switch len(eni.SecurityGroups) {
	case 0:
		return "", fmt.Errorf("eni %s has no security groups", eni.ID)
	case 1:
		return eni.SecurityGroups[0], nil
	}
	clusterKey := ClusterTagPrefix + cluster
	var tagged []string
	for _, sg := range eni.SecurityGroups {
		if matches(sgTags[sg], clusterKey, extraTags) && !slices.Contains(tagged, sg) {
			tagged = append(tagged, sg)
		}
	}
	if len(tagged) == 1 {
		return tagged[0], nil
	}
	slices.Sort(tagged)
	all := slices.Sorted(slices.Values(eni.SecurityGroups))
	all = slices.Compact(all)

	want := clusterKey
	if len(extraTags) > 0 {
		want += " and " + formatTags(extraTags)
	}
	hint := fmt.Sprintf("tag exactly one of the ENI's security groups with %s", want)
	if len(tagged) > 1 {
		hint = fmt.Sprintf("remove the %s tag from all but one of %v", clusterKey, tagged)
	}
	return "", fmt.Errorf("expected exactly one securityGroup tagged with %s for eni %s, got: %v "+
		"(clusterName: %s; security groups on the ENI: %v): %s, or set "+
		"--service-target-eni-security-group-tags to tags that exactly one of them carries",
		want, eni.ID, tagged, cluster, all, hint)
}

func matches(tags map[string]string, clusterKey string, extra map[string]string) bool {
	if _, ok := tags[clusterKey]; !ok {
		return false
	}
	for k, v := range extra {
		if got, ok := tags[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// formatTags renders tags as sorted k=v pairs joined by ",".
func formatTags(tags map[string]string) string {
	pairs := make([]string, 0, len(tags))
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		pairs = append(pairs, k+"="+tags[k])
	}
	return strings.Join(pairs, ",")
}
