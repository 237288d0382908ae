package spec

import (
	"fmt"
	"strconv"

	"github.com/lbsg/lbsg/internal/annotations"
)

// managedPlusCustomCount is the 5-SG check for a load balancer that keeps its managed SG
// next to the user's: the managed SG, the listed ones and the backend SG when lbsg attaches
// it.
func managedPlusCustomCount(key, value string, refs []string, backend bool, optInKey string) []*Problem {
	n := len(dedupStrings(refs))
	total := n + 1
	if backend {
		total++
	}
	if total <= MaxSecurityGroupsPerLoadBalancer {
		return nil
	}
	return []*Problem{{Key: key, Value: value,
		Reason: fmt.Sprintf("%d security groups plus the managed frontend security group (and the backend security group: %t) exceed the limit of %d per load balancer",
			n, backend, MaxSecurityGroupsPerLoadBalancer),
		Fix: fmt.Sprintf("list fewer security groups, or remove %s so that the listed ones replace the managed security group", optInKey)}}
}

// keepManagedSG reads the Ingress group's opt-in: the members that set it must agree, and
// a bad value fails the group, naming the member's key and value.
func (b *ingressBuilder) keepManagedSG() bool {
	values := make([]string, len(b.members))
	for i, m := range b.members {
		keep, err := annotations.ManageFrontendSG(m.Ingress.Annotations, annotations.IngManageFrontendSG)
		if err != nil {
			b.fail(err.Key, err.Value, m.key+": "+err.Reason, err.Fix, m.key)
			continue
		}
		if _, set := m.Ingress.Annotations[annotations.IngManageFrontendSG]; set {
			values[i] = strconv.FormatBool(keep)
		}
	}
	return b.exclusive(annotations.IngManageFrontendSG, "manage frontend security group settings", values) == "true"
}
