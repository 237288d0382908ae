package controller

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/lbsg/lbsg/internal/spec"
)

// ReasonReferenceDenied is the Ready condition's reason on an Ingress that its class, the
// platform's flags or the reference policy keep out of the group it asks for.
const ReasonReferenceDenied = "ReferenceDenied"

// servedMembers are the members of the group the plan serves: all but the excluded.
func servedMembers(g *IngressGroup, sp *StackPlan) []*networkingv1.Ingress {
	var out []*networkingv1.Ingress
	for _, m := range g.Members {
		if !slices.ContainsFunc(sp.Excluded, func(x ExcludedIngress) bool { return x.Ingress == m.Ingress }) {
			out = append(out, m.Ingress)
		}
	}
	return out
}

// reportExcluded tells each Ingress left out of the group why, with a Warning Event and a
// False Ready condition that name the group, its owner namespace and the fix; nothing of
// it is written on the group's members.
func (r *IngressGroupReconciler) reportExcluded(ctx context.Context, g *IngressGroup, excluded []ExcludedIngress, held bool) {
	for _, x := range excluded {
		what := "Ingress group " + g.ID.String()
		if g.Owner != "" {
			what += " (owner namespace " + g.Owner + ")"
		}
		msg := fmt.Sprintf("not a member of %s, whose load balancer does not serve it: %s", what, x.Problem.Error())
		if held {
			msg = fmt.Sprintf("%s cannot serve it, and it has no other member: its load balancer is kept as it is until this is fixed: %s", what, x.Problem.Error())
		}
		r.Recorder.Eventf(x.Ingress, nil, corev1.EventTypeWarning, x.Reason, "Reconcile", "%s", msg)
		reason := ReasonInvalidConfig
		if x.Reason == EventReferenceDenied {
			reason = ReasonReferenceDenied
		}
		if err := r.setCondition(ctx, x.Ingress, metav1.ConditionFalse, reason, msg, ""); err != nil {
			log.FromContext(ctx).Error(err, "update condition")
		}
	}
}

// releaseExcluded takes the group's finalizer and load balancer status off the excluded
// Ingresses: the reference policy's denials at once (deniedOnly: the group does not serve
// them), the others once the load balancer no longer serves them. Their condition stays:
// it says why.
func (r *IngressGroupReconciler) releaseExcluded(ctx context.Context, id spec.IngressGroupID, excluded []ExcludedIngress, deniedOnly bool) error {
	released := false
	for _, x := range excluded {
		if deniedOnly && !x.Denied {
			continue
		}
		if len(x.Ingress.Status.LoadBalancer.Ingress) > 0 {
			x.Ingress.Status.LoadBalancer = networkingv1.IngressLoadBalancerStatus{}
			if err := r.Client.Status().Update(ctx, x.Ingress); err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("clear the status of %s/%s: %w", x.Ingress.Namespace, x.Ingress.Name, err)
			}
		}
		removed, err := removeFinalizer(ctx, r.Client, x.Ingress, id.Finalizer())
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("remove finalizer from %s/%s: %w", x.Ingress.Namespace, x.Ingress.Name, err)
		}
		released = released || removed
	}
	if released {
		r.notify()
	}
	return nil
}
