package sgrules

import "regexp"

const (
	// LabelCluster is the description label naming the cluster that owns a rule on a
	// shared (node or pod) security group. It is the key of the upstream SG tag as well.
	LabelCluster = "elbv2.k8s.aws/cluster"

	// UpstreamSharedDescription is the description upstream LBC puts on every rule it adds
	// to node and pod security groups, whichever cluster it runs in.
	UpstreamSharedDescription = "elbv2.k8s.aws/targetGroupBinding=shared"

	labelUpstreamTGB = "elbv2.k8s.aws/targetGroupBinding"
	valueUpstreamTGB = "shared"
)

// OwnerDescription is the description lbsg gives its rules on shared node and pod security
// groups: "elbv2.k8s.aws/cluster=<cluster>", a key=value label that both lbsg and upstream
// parse. It deliberately omits upstream's targetGroupBinding=shared label, so an upstream
// controller in another cluster sharing the SG never revokes lbsg's rules.
func OwnerDescription(cluster string) string {
	return LabelCluster + "=" + cluster
}

// OwnedBy returns the ownership test for rules on shared node and pod security groups, for
// use with Diff. A rule is owned, and may be revoked, when:
//
//   - its description's labels contain elbv2.k8s.aws/cluster=<cluster> (lbsg's own rules,
//     see OwnerDescription); or
//   - its description's labels contain upstream's elbv2.k8s.aws/targetGroupBinding=shared,
//     name no other cluster, and its peer is a security group in ourSources (this
//     cluster's backend or frontend SGs). Such a rule was created by upstream for this
//     cluster before lbsg took over; adopting it lets lbsg clean it up.
//
// Everything else — user rules, other clusters' rules, upstream rules from other clusters'
// sources — is never owned. ourSources is read, not kept: later changes to the map are seen.
func OwnedBy(cluster string, ourSources map[string]bool) func(Rule) bool {
	return func(r Rule) bool {
		labels := parseLabels(r.Description)
		owner, named := labels[LabelCluster]
		if named {
			return cluster != "" && owner == cluster
		}
		return labels[labelUpstreamTGB] == valueUpstreamTGB &&
			r.PeerKind == PeerSG && ourSources[r.Peer]
	}
}

// labelPattern matches one key=value token the way upstream parses rule descriptions: key and
// value hold no whitespace, ',' or '=', and the token ends at ',' or at the end of the text.
var labelPattern = regexp.MustCompile(`([^\s,=]+)=([^\s,=]+)(?:,|$)`)

// parseLabels returns the key=value labels found in a rule description. A later token
// overrides an earlier one with the same key.
func parseLabels(description string) map[string]string {
	labels := map[string]string{}
	for _, m := range labelPattern.FindAllStringSubmatch(description, -1) {
		labels[m[1]] = m[2]
	}
	return labels
}
