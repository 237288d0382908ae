package authz

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// GroupClaim is an Ingress that asks to be a member of an explicit Ingress group: by its
// group.name annotation, or through the IngressClassParams of its class.
type GroupClaim struct {
	Ingress Subject
	// Created is the Ingress's creationTimestamp. The API server writes it and no client can
	// set it, so it is evidence of who came first; finalizers, which tenants write, are not.
	Created time.Time
	// Key names where the Ingress names the group (an annotation, or "IngressClassParams
	// <name> spec.group.name"), for messages.
	Key string
	// Pinned is set when the Ingress's class's IngressClassParams set the group and their
	// namespaceSelector selects the Ingress's namespace.
	Pinned bool
}

// GroupOwner returns the namespace that owns an explicit group: the namespace of its oldest
// claim by creationTimestamp, ties broken by namespace/name; "" when nothing claims it.
func GroupOwner(claims []GroupClaim) string {
	var oldest *GroupClaim
	for i := range claims {
		c := &claims[i]
		if oldest == nil || olderThan(c, oldest) {
			oldest = c
		}
	}
	if oldest == nil {
		return ""
	}
	return oldest.Ingress.Namespace
}

// GroupOwnerKeeping is GroupOwner for a group whose load balancer serves now the Ingresses
// of the namespaces serving (read from what lbsg made in AWS, which no tenant writes): while
// one of them still asks for the group, the group stays theirs, however old another
// namespace's claim is. So an Ingress that asked early and was refused cannot take the
// group over when the owner recreates its Ingresses.
func GroupOwnerKeeping(claims []GroupClaim, serving []string) string {
	var kept []GroupClaim
	for _, c := range claims {
		if slices.Contains(serving, c.Ingress.Namespace) {
			kept = append(kept, c)
		}
	}
	if len(kept) > 0 {
		return GroupOwner(kept)
	}
	return GroupOwner(claims)
}

func olderThan(a, b *GroupClaim) bool {
	if !a.Created.Equal(b.Created) {
		return a.Created.Before(b.Created)
	}
	return a.Ingress.Namespace+"/"+a.Ingress.Name < b.Ingress.Namespace+"/"+b.Ingress.Name
}

// DecideGroup decides every claim on an explicit group, in order. pinnedBy names the
// IngressClassParams that set this group (spec.group.name): a group the platform pins
// takes its members only through those parameters (whose namespaceSelector decided), so
// an Ingress that names it by annotation, or through a class without them, is refused
// whatever its namespace. Every other claim is a reference to the group, owned by the
// namespace GroupOwner returns, that the Policy decides.
func (p Policy) DecideGroup(group string, pinnedBy []string, claims []GroupClaim) []Decision {
	return p.DecideGroupOwned(group, GroupOwner(claims), pinnedBy, claims)
}

// DecideGroupOwned is DecideGroup for a group whose owner namespace is known.
func (p Policy) DecideGroupOwned(group, owner string, pinnedBy []string, claims []GroupClaim) []Decision {
	out := make([]Decision, len(claims))
	for i, c := range claims {
		if len(pinnedBy) > 0 && !c.Pinned {
			params := strings.Join(pinnedBy, ", ")
			out[i] = Decision{
				Reason: fmt.Sprintf("Ingress group %s is set by IngressClassParams %s, whose settings and namespaceSelector apply to every member; %s names it otherwise (%s)", group, params, c.Ingress, c.Key),
				Fix:    fmt.Sprintf("set spec.ingressClassName to an IngressClass whose parameters are IngressClassParams %s (and remove the group.name annotation), or use a group name of your own", params),
			}
			continue
		}
		out[i] = p.Decide(GroupReference(group, owner, c))
	}
	return out
}

// GroupReference is a claim as a reference to the group, owned by namespace owner.
func GroupReference(group, owner string, c GroupClaim) Reference {
	r := Reference{From: c.Ingress, Kind: IngressGroup, Value: group, Key: c.Key, Pinned: c.Pinned,
		Owner: Owner{Class: Stack, Stack: "Ingress group " + group}}
	if owner != "" {
		r.Owner.Namespaces = []string{owner}
	}
	return r
}
