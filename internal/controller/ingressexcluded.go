package controller

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/lbsg/lbsg/internal/spec"
)

// ReasonReferenceDenied is the Ready condition's reason on an Ingress that its class, the
// platform's flags or the reference policy keep out of the group it asks for.
const ReasonReferenceDenied = "ReferenceDenied"

// servedMembers are the members of the group the plan serves: all but the excluded, and
// none while the previous owner's load balancer is deleted.
func servedMembers(g *IngressGroup, sp *StackPlan) []*networkingv1.Ingress {
	var out []*networkingv1.Ingress
	if len(sp.Handover) > 0 {
		return nil
	}
	for _, m := range g.Members {
		if !slices.ContainsFunc(sp.Excluded, func(x ExcludedIngress) bool { return x.Ingress == m.Ingress }) {
			out = append(out, m.Ingress)
		}
	}
	return out
}

// handedOver tells the members of a group whose previous owner's load balancer was just
// deleted that theirs comes next, and reconciles the group again to make it.
func (r *IngressGroupReconciler) handedOver(ctx context.Context, g *IngressGroup, previous []string) (ctrl.Result, error) {
	msg := fmt.Sprintf("Ingress group %s now belongs to namespace %s; the load balancer it had served namespace %s, which no longer asks for the group, and is deleted rather than handed over; a new one follows",
		g.ID.String(), g.Owner, strings.Join(previous, ", "))
	for _, m := range g.Members {
		if err := r.setCondition(ctx, m.Ingress, metav1.ConditionFalse, ReasonWaiting, msg, ""); err != nil {
			return ctrl.Result{}, err
		}
	}
	return ctrl.Result{RequeueAfter: handoverRequeue}, nil
}

// handoverRequeue is how soon a group handed over is reconciled again, to make its new
// owner's load balancer once the old one is gone.
const handoverRequeue = time.Second

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
			before := x.Ingress.DeepCopy()
			x.Ingress.Status.LoadBalancer = networkingv1.IngressLoadBalancerStatus{}
			if err := r.Client.Status().Patch(ctx, x.Ingress, lockedPatch(before)); err != nil && !apierrors.IsNotFound(err) {
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
