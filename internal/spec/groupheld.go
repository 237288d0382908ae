package spec

import (
	"strings"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/lbsg/lbsg/internal/annotations"
	"github.com/lbsg/lbsg/internal/naming"
)

// BackendServices returns the names of the Services an Ingress routes to, in its
// namespace: its backends and the Services its actions.* annotations forward to.
func BackendServices(ing *networkingv1.Ingress) []string {
	out := annotations.ActionServiceNames(ing.Annotations)
	if b := ing.Spec.DefaultBackend; b != nil && b.Service != nil {
		out = append(out, b.Service.Name)
	}
	for _, rule := range ing.Spec.Rules {
		if rule.HTTP == nil {
			continue
		}
		for _, p := range rule.HTTP.Paths {
			if p.Backend.Service != nil {
				out = append(out, p.Backend.Service.Name)
			}
		}
	}
	return out
}

// GroupHolders returns, of the Ingresses excluded from a group that has no member left,
// those that hold it: while one does, the group's load balancer is kept exactly as it is
// (absence of configuration never deletes), instead of being deleted for want of members.
// candidates are excluded for their own input or by their class, and admitted to the group
// by the reference policy; exists says whether anything of the group's stack exists in
// AWS; servedTGs are the resource IDs (ingress.k8s.aws/resource) of the stack's target
// groups, as observed.
//
// An implicit group's one Ingress holds it. An explicit group is held only by an Ingress
// its load balancer serves now: one of its target groups was made for the Ingress, which
// lbsg alone writes and no tenant can forge. So an Ingress that never was a member (it
// asked for the group after every member left) cannot keep someone else's load balancer
// alive. A group whose stack has no target group at all (fixed responses and redirects
// only) offers no such evidence; its candidates hold it.
func GroupHolders(g IngressGroupID, candidates []*networkingv1.Ingress, exists bool, servedTGs []string) []*networkingv1.Ingress {
	if !exists {
		return nil
	}
	var out []*networkingv1.Ingress
	for _, ing := range candidates {
		switch {
		case !g.Explicit():
			if ing.Namespace == g.Namespace && ing.Name == g.Name {
				out = append(out, ing)
			}
		case len(servedTGs) == 0 || serves(ing, servedTGs):
			out = append(out, ing)
		}
	}
	return out
}

// serves reports whether one of the target groups was made for one of the Ingress's
// backends (naming.IngressTargetGroupResourceID: "<namespace>/<ingress>-<service>:<port>").
func serves(ing *networkingv1.Ingress, tgIDs []string) bool {
	for _, svc := range BackendServices(ing) {
		prefix := naming.IngressTargetGroupResourceID(ing.Namespace, ing.Name, svc, "")
		for _, id := range tgIDs {
			if strings.HasPrefix(id, prefix) {
				return true
			}
		}
	}
	return false
}
