package authz

import (
	"strings"

	"github.com/lbsg/lbsg/internal/naming"
)

// StackTag is the tag by which a stack's AWS resources are known: its key
// (service.k8s.aws/stack, ingress.k8s.aws/stack, ...) and value.
type StackTag struct {
	Key   string
	Value string
}

// Classifier recognises the owner of an AWS resource from its tags: only tracking tags,
// which no tenant can write (see naming.IsReservedTagKey), decide.
type Classifier struct {
	Cluster string
	// Self is the stack of the referring object: its resources are Own. For a
	// TargetGroupBinding it is the claim a bound target group carries
	// (naming.BoundByTagKey of the cluster, naming.BoundByValue of the binding).
	Self StackTag
	// GroupNamespaces are the namespaces of each explicit Ingress group's members, by group
	// name: an explicit group's tags name no namespace.
	GroupNamespaces map[string][]string
}

// stackKinds names the stacks each stack tag key marks, and whether its value is
// "<namespace>/<name>" always (true) or only for implicit Ingress groups (false).
var stackKinds = []struct {
	key, kind string
}{
	{naming.ServiceStackTag, "Service"},
	{naming.IngressStackTag, "Ingress group"},
	{naming.GatewayALBStackTag, "Gateway"},
	{naming.GatewayNLBStackTag, "Gateway"},
}

// Classify says whose a resource with these tags is.
func (c Classifier) Classify(tags map[string]string) Owner {
	cluster, hasCluster := tags[naming.TagCluster]
	for _, sk := range stackKinds {
		v, ok := tags[sk.key]
		if !ok {
			continue
		}
		o := Owner{Class: Stack, Stack: sk.kind + " " + v, Namespaces: c.namespacesOf(sk.key, v)}
		switch {
		case hasCluster && cluster != c.Cluster:
			o.Class, o.Stack, o.Namespaces = OtherCluster, "cluster "+cluster+"'s "+o.Stack, nil
		case c.Self.Key == sk.key && c.Self.Value == v && c.Self.Value != "":
			o.Class = Own
		}
		return o
	}
	// A target group a binding of this cluster owns carries its claim. Only bindings are
	// told: one binding per target group, and the target group stays something made
	// outside Kubernetes to everything else.
	if key := naming.BoundByTagKey(c.Cluster); c.Self.Key == key {
		if v, ok := tags[key]; ok {
			o := Owner{Class: Stack, Stack: "TargetGroupBinding " + v}
			if ns, _, ok := strings.Cut(v, "/"); ok && ns != "" {
				o.Namespaces = []string{ns}
			}
			if v == c.Self.Value && v != "" {
				o.Class = Own
			}
			return o
		}
	}
	if tags[naming.TagResource] == naming.BackendSGResourceValue {
		if hasCluster && cluster != c.Cluster {
			return Owner{Class: OtherCluster, Stack: "cluster " + cluster + "'s backend security group"}
		}
		return Owner{Class: BackendSG}
	}
	if hasCluster {
		if cluster != c.Cluster {
			return Owner{Class: OtherCluster, Stack: "cluster " + cluster}
		}
		return Owner{Class: Unattributed}
	}
	for k := range tags {
		if p := naming.ReservedTagPrefix(k); p != "" && p != "aws:" && p != naming.NodeSGClusterTagPrefix {
			// Some other lbsg or upstream tracking tag, without the cluster tag.
			return Owner{Class: Unattributed}
		}
	}
	return Owner{Class: External}
}

// namespacesOf returns the namespaces of the stack a tag value names.
func (c Classifier) namespacesOf(key, value string) []string {
	if ns, _, ok := strings.Cut(value, "/"); ok {
		return []string{ns}
	}
	if key == naming.IngressStackTag {
		return c.GroupNamespaces[value]
	}
	return nil
}
