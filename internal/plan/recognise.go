package plan

import (
	"fmt"
	"sort"
	"strings"

	"github.com/lbsg/lbsg/internal/naming"
	"github.com/lbsg/lbsg/internal/state"
)

// Identity is what a stack's resources carry in AWS. lbsg recognises a resource as the
// stack's only by the full set: the cluster tag, the stack tag, the stack kind's resource
// tag, no tag of the other stack kind, and, where upstream names the resource by a
// formula, that name. Any one tag can be copied onto another resource through an
// annotation; the whole set and a name AWS keeps unique cannot.
type Identity struct {
	Cluster string
	// StackTag and ResourceTag are service.k8s.aws/... or ingress.k8s.aws/....
	StackTag    string
	StackID     string
	ResourceTag string
	// ManagedSGName is the name of the stack's managed SG by upstream's formula.
	ManagedSGName string
	// LBType is "network" for a Service and "application" for an Ingress group.
	LBType string
	// AnyServiceUID is set for a Service stack whose Service no longer exists: the UID its
	// managed SG's name hashes is unknown, so the name's shape is checked instead
	// (naming.IsServiceSGName), with every tag as ever.
	AnyServiceUID bool
}

// Ambiguity is two or more AWS resources that each carry everything that identifies one
// role. lbsg does not guess which one is meant: it changes neither, nor creates a third.
type Ambiguity struct {
	Role string
	IDs  []string
}

func (a *Ambiguity) Error() string {
	return fmt.Sprintf("%d resources claim to be the %s: %s; delete or untag one of them (until one remains, lbsg creates, changes, attaches and deletes nothing for this role)",
		len(a.IDs), a.Role, strings.Join(a.IDs, ", "))
}

// stackTagKeys are the stack tags of every kind of stack: a resource carries exactly one.
var stackTagKeys = []string{naming.ServiceStackTag, naming.IngressStackTag, naming.GatewayALBStackTag, naming.GatewayNLBStackTag}

// owns reports whether tags tie a resource to the stack, and to no other kind of stack.
func (id Identity) owns(tags map[string]string) bool {
	if tags[naming.TagCluster] != id.Cluster || id.Cluster == "" || tags[id.StackTag] != id.StackID || id.StackID == "" {
		return false
	}
	if _, ok := tags[id.ResourceTag]; !ok {
		return false
	}
	for _, k := range stackTagKeys {
		if _, ok := tags[k]; ok && k != id.StackTag {
			return false
		}
	}
	return true
}

// namesManagedSG reports whether name is the stack's managed SG name.
func (id Identity) namesManagedSG(name string) bool {
	if id.ManagedSGName != "" {
		return name == id.ManagedSGName
	}
	ns, svc, ok := strings.Cut(id.StackID, "/")
	return id.AnyServiceUID && ok && naming.IsServiceSGName(ns, svc, name)
}

func (id Identity) role(what string) string {
	return fmt.Sprintf("%s of stack %s", what, id.StackID)
}

// RecogniseLoadBalancers returns the stack's load balancer among lbs, or an Ambiguity
// when more than one carries the stack's identity.
func RecogniseLoadBalancers(id Identity, lbs []state.LoadBalancer) ([]state.LoadBalancer, error) {
	var out []state.LoadBalancer
	for _, lb := range lbs {
		if id.owns(lb.Tags) && lb.Tags[id.ResourceTag] == naming.LoadBalancerResourceID &&
			(id.LBType == "" || strings.EqualFold(lb.Type, id.LBType)) {
			out = append(out, lb)
		}
	}
	if len(out) > 1 {
		ids := make([]string, len(out))
		for i, lb := range out {
			ids[i] = lb.ARN
		}
		return nil, ambiguity(id.role("load balancer"), ids)
	}
	return out, nil
}

// RecogniseManagedSGs returns the stack's managed SG among sgs, or an Ambiguity when
// more than one carries the stack's identity and name.
func RecogniseManagedSGs(id Identity, sgs []state.SecurityGroup) ([]state.SecurityGroup, error) {
	var out []state.SecurityGroup
	for _, sg := range sgs {
		if id.owns(sg.Tags) && sg.Tags[id.ResourceTag] == naming.ManagedSGResourceID && id.namesManagedSG(sg.Name) {
			out = append(out, sg)
		}
	}
	if len(out) > 1 {
		ids := make([]string, len(out))
		for i, sg := range out {
			ids[i] = sg.ID
		}
		return nil, ambiguity(id.role("managed security group"), ids)
	}
	return out, nil
}

// RecogniseTargetGroups returns the target groups that carry the stack's identity. Each
// one's resource tag says which backend it serves; the planner matches them one to one.
func RecogniseTargetGroups(id Identity, tgs []state.TargetGroup) []state.TargetGroup {
	var out []state.TargetGroup
	for _, tg := range tgs {
		if id.owns(tg.Tags) {
			out = append(out, tg)
		}
	}
	return out
}

// RecogniseBackendSG returns the cluster's shared backend SG among sgs (nil when there
// is none), or an Ambiguity. It must carry the cluster tag, the backend resource tag, no
// stack tag, and the name upstream gives it.
func RecogniseBackendSG(cluster string, sgs []state.SecurityGroup) (*state.SecurityGroup, error) {
	var out []state.SecurityGroup
	for _, sg := range sgs {
		if IsBackendSG(cluster, sg) {
			out = append(out, sg)
		}
	}
	switch len(out) {
	case 0:
		return nil, nil
	case 1:
		return &out[0], nil
	}
	ids := make([]string, len(out))
	for i, sg := range out {
		ids[i] = sg.ID
	}
	return nil, ambiguity("shared backend security group of cluster "+cluster, ids)
}

// IsBackendSG reports whether an SG carries the full identity of the cluster's backend SG.
func IsBackendSG(cluster string, sg state.SecurityGroup) bool {
	if cluster == "" || sg.Tags[naming.TagCluster] != cluster || sg.Tags[naming.TagResource] != naming.BackendSGResourceValue ||
		sg.Name != naming.BackendSGName(cluster) {
		return false
	}
	for _, k := range stackTagKeys {
		if _, ok := sg.Tags[k]; ok {
			return false
		}
	}
	return true
}

func ambiguity(role string, ids []string) *Ambiguity {
	sort.Strings(ids)
	return &Ambiguity{Role: role, IDs: ids}
}
