package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/lbsg/lbsg/internal/apply"
	"github.com/lbsg/lbsg/internal/audit"
	"github.com/lbsg/lbsg/internal/spec"
)

// ConditionAnnotation carries lbsg's Ready condition on an Ingress, whose status has no
// conditions field: a JSON metav1.Condition of type lbsg.k8s.aws/Ready.
const ConditionAnnotation = "lbsg.k8s.aws/ready-condition"

// IngressGroupReconciler provisions one ALB per Ingress group. Its requests are groups
// (spec.IngressGroupID), not Ingresses: an explicit group is {Name: group}, an implicit
// one the Ingress's namespace and name (no Ingress lives in the empty namespace, so the
// two never clash).
type IngressGroupReconciler struct {
	Client   client.Client
	Engine   *Engine
	Recorder events.EventRecorder
	// Resync is how often a group is re-read against AWS to repair drift.
	Resync time.Duration
	// Notify asks the target-SG reconciler for a pass.
	Notify func()
	// CRDs are the optional CRDs the cluster has.
	CRDs CRDs
}

// Reconcile observes, plans and applies one Ingress group.
func (r *IngressGroupReconciler) Reconcile(ctx context.Context, id spec.IngressGroupID) (ctrl.Result, error) {
	ctx = audit.WithObject(ctx, id.Owner().String())
	g, objs, err := r.group(ctx, id)
	if err != nil {
		return ctrl.Result{}, err
	}
	if g == nil {
		return ctrl.Result{}, nil
	}
	sp, err := r.Engine.PlanIngressGroup(ctx, g, objs)
	if err != nil {
		return ctrl.Result{}, r.fail(ctx, g, EventFailedDeploy, err)
	}
	// Ingresses left out of the group are told why, on themselves only; what another
	// namespace was refused never holds the group, and its finalizer goes at once.
	excluded := append(append([]ExcludedIngress(nil), g.Excluded...), sp.Excluded...)
	r.reportExcluded(ctx, g, excluded, len(sp.Held) > 0)
	if err := r.releaseExcluded(ctx, g.ID, excluded, true); err != nil {
		return ctrl.Result{}, err
	}
	if len(sp.Held) > 0 {
		return ctrl.Result{}, r.release(ctx, g)
	}
	served := servedMembers(g, sp)
	// The finalizer goes on before anything is created in AWS, so nothing can leak.
	for _, ing := range served {
		if _, err := addFinalizer(ctx, r.Client, ing, id.Finalizer()); err != nil {
			return ctrl.Result{}, fmt.Errorf("add finalizer to %s/%s: %w", ing.Namespace, ing.Name, err)
		}
	}
	if len(sp.Problems) > 0 {
		r.reportProblems(ctx, g, served, sp.Problems)
		// A group in conflict changes nothing in AWS, but Ingresses leaving it are let go
		// at once (upstream blocks their deletion: #3357); the group's next good build
		// removes what they used.
		return ctrl.Result{}, r.release(ctx, g)
	}
	for _, n := range stackNotices(sp) {
		for _, ing := range served {
			if n.Ingress == "" || n.Ingress == ing.Namespace+"/"+ing.Name {
				r.Recorder.Eventf(ing, nil, corev1.EventTypeWarning, n.Reason, "Reconcile", "%s", n.Message)
			}
		}
	}
	// One Event for all notices: Events of one reason on one object are merged into a
	// series that keeps the first message.
	if len(sp.Plan.Notices) > 0 {
		for _, ing := range served {
			r.Recorder.Eventf(ing, nil, corev1.EventTypeWarning, EventSettingLeftAsIs, "Reconcile", "%s", strings.Join(sp.Plan.Notices, "; "))
		}
	}
	res, err := r.Engine.Exec.Apply(ctx, sp.Plan)
	if err != nil {
		var retry *apply.RetryError
		if errors.As(err, &retry) {
			// Returned, so that the work queue retries with backoff; reported from the
			// first failure on.
			for _, ing := range append(served, g.Leaving...) {
				r.Recorder.Eventf(ing, nil, corev1.EventTypeWarning, EventFailedDeploy, "Reconcile", "%s", err.Error())
			}
			for _, ing := range served {
				_ = r.setCondition(ctx, ing, metav1.ConditionFalse, ReasonWaiting, err.Error(), "")
			}
			return ctrl.Result{}, err
		}
		return ctrl.Result{}, r.fail(ctx, g, EventFailedDeploy, err)
	}
	if !sp.Plan.Empty() {
		r.notify()
		log.FromContext(ctx).Info("applied plan", "group", id.String(), "changes", res.Applied)
		for _, ing := range served {
			r.Recorder.Eventf(ing, nil, corev1.EventTypeNormal, EventSuccessfullyDeploy, "Reconcile",
				"Successfully reconciled: %d change(s) applied", res.Applied)
		}
	} else {
		log.FromContext(ctx).V(1).Info("nothing to change", "group", id.String())
	}
	if err := r.release(ctx, g); err != nil {
		return ctrl.Result{}, err
	}
	// The load balancer no longer serves the excluded Ingresses: their finalizer goes.
	if err := r.releaseExcluded(ctx, g.ID, excluded, false); err != nil {
		return ctrl.Result{}, err
	}
	if len(sp.Handover) > 0 {
		return r.handedOver(ctx, g, sp.Handover)
	}
	if len(served) == 0 {
		return ctrl.Result{}, nil
	}
	hostname := ""
	if res.Created != nil {
		hostname = res.Created.DNSName
	} else {
		for _, lb := range sp.Observed.LoadBalancers {
			if lb.Name == sp.Stack.LoadBalancer.Name {
				hostname = lb.DNSName
			}
		}
	}
	msg := "load balancer " + sp.Stack.LoadBalancer.Name + " is provisioned"
	for _, ing := range served {
		if err := r.setCondition(ctx, ing, metav1.ConditionTrue, ReasonReconciled, msg, hostname); err != nil {
			return ctrl.Result{}, err
		}
	}
	return r.Engine.afterGates(ctx, r.Client, stackGates(sp.Stack), r.Resync)
}

// release lets go of the Ingresses leaving the group: lbsg's status goes from those that
// still exist, and the group's finalizer is removed.
func (r *IngressGroupReconciler) release(ctx context.Context, g *IngressGroup) error {
	released := false
	for _, ing := range g.Leaving {
		// An Ingress that moved to another lbsg group keeps what that group writes.
		mine := ing.DeletionTimestamp == nil && !r.inOtherGroup(ing, g.ID)
		if mine && ing.Annotations[ConditionAnnotation] != "" {
			before := ing.DeepCopy()
			delete(ing.Annotations, ConditionAnnotation)
			if err := r.Client.Patch(ctx, ing, lockedPatch(before)); err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("clear the condition of %s/%s: %w", ing.Namespace, ing.Name, err)
			}
		}
		if mine && len(ing.Status.LoadBalancer.Ingress) > 0 {
			before := ing.DeepCopy()
			ing.Status.LoadBalancer = networkingv1.IngressLoadBalancerStatus{}
			if err := r.Client.Status().Patch(ctx, ing, lockedPatch(before)); err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("clear the status of %s/%s: %w", ing.Namespace, ing.Name, err)
			}
		}
		removed, err := removeFinalizer(ctx, r.Client, ing, g.ID.Finalizer())
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("remove finalizer from %s/%s: %w", ing.Namespace, ing.Name, err)
		}
		released = released || removed || err != nil // err: the Ingress is gone
	}
	if released {
		r.notify()
	}
	return nil
}

// inOtherGroup reports whether an Ingress leaving g still belongs to another lbsg group,
// whose reconciler owns its status now.
func (r *IngressGroupReconciler) inOtherGroup(ing *networkingv1.Ingress, g spec.IngressGroupID) bool {
	for _, id := range groupsOfFinalizers(ing) {
		if id != g {
			return true
		}
	}
	return false
}

// reportProblems puts every problem on every member the group would serve (and its
// unresolved and leaving Ingresses) as an Event and in its condition, so each owner of an
// Ingress in the group sees why the group is not reconciled.
func (r *IngressGroupReconciler) reportProblems(ctx context.Context, g *IngressGroup, served []*networkingv1.Ingress, problems []*spec.Problem) {
	msgs := make([]string, len(problems))
	for i, p := range problems {
		msgs[i] = p.Error()
	}
	msg := fmt.Sprintf("Ingress group %s is not reconciled: %s", g.ID.String(), strings.Join(msgs, "; "))
	live := append(served, unresolvedIngresses(g)...)
	for _, ing := range append(live, g.Leaving...) {
		for _, p := range problems {
			r.Recorder.Eventf(ing, nil, corev1.EventTypeWarning, EventFailedBuildModel, "Reconcile", "%s", p.Error())
		}
	}
	for _, ing := range live {
		if err := r.setCondition(ctx, ing, metav1.ConditionFalse, ReasonInvalidConfig, msg, ""); err != nil {
			log.FromContext(ctx).Error(err, "update condition")
		}
	}
}

// fail reports an error on every member and returns it for a retry.
func (r *IngressGroupReconciler) fail(ctx context.Context, g *IngressGroup, event string, err error) error {
	if shuttingDown(ctx, err) {
		return err
	}
	ctx, cancel := reportContext(ctx)
	defer cancel()
	for _, ing := range g.Objects() {
		r.Recorder.Eventf(ing, nil, corev1.EventTypeWarning, event, "Reconcile", "%s", err.Error())
	}
	for _, ing := range g.live() {
		if cerr := r.setCondition(ctx, ing, metav1.ConditionFalse, ReasonAWSError, err.Error(), ""); cerr != nil {
			log.FromContext(ctx).Error(cerr, "update condition")
		}
	}
	return err
}

func (r *IngressGroupReconciler) notify() {
	if r.Notify != nil {
		r.Notify()
	}
}

// IngressCondition reads lbsg's Ready condition from an Ingress; nil when it has none.
func IngressCondition(ing *networkingv1.Ingress) *metav1.Condition {
	raw := ing.Annotations[ConditionAnnotation]
	if raw == "" {
		return nil
	}
	var c metav1.Condition
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		return nil
	}
	return &c
}

// setCondition writes the Ready condition annotation and, when hostname is set, the
// load-balancer status, each only if it changed.
func (r *IngressGroupReconciler) setCondition(ctx context.Context, ing *networkingv1.Ingress, status metav1.ConditionStatus, reason, msg, hostname string) error {
	old := IngressCondition(ing)
	if targetRulesStillFailing(old, status) {
		status, reason, msg = old.Status, old.Reason, old.Message
	}
	c := metav1.Condition{Type: ConditionReady, Status: status, Reason: reason, Message: truncate(msg, 4000)}
	if err := writeIngressCondition(ctx, r.Client, ing, c); err != nil {
		return err
	}
	if hostname == "" {
		return nil
	}
	if len(ing.Status.LoadBalancer.Ingress) == 1 && ing.Status.LoadBalancer.Ingress[0].Hostname == hostname {
		return nil
	}
	before := ing.DeepCopy()
	ing.Status.LoadBalancer.Ingress = []networkingv1.IngressLoadBalancerIngress{{Hostname: hostname}}
	if err := r.Client.Status().Patch(ctx, ing, lockedPatch(before)); err != nil {
		return fmt.Errorf("update status of %s/%s: %w", ing.Namespace, ing.Name, err)
	}
	return nil
}

// writeIngressCondition stores the condition in the Ingress's annotation (Ingress status
// has no conditions), keeping its transition time while the status holds, and writes only
// when something changed.
func writeIngressCondition(ctx context.Context, kube client.Client, ing *networkingv1.Ingress, c metav1.Condition) error {
	old := IngressCondition(ing)
	c.ObservedGeneration, c.LastTransitionTime = ing.Generation, metav1.Now()
	if old != nil && old.Status == c.Status {
		c.LastTransitionTime = old.LastTransitionTime
	}
	if old != nil && old.Status == c.Status && old.Reason == c.Reason && old.Message == c.Message && old.ObservedGeneration == c.ObservedGeneration {
		return nil
	}
	raw, err := json.Marshal(c)
	if err != nil {
		return err
	}
	before := ing.DeepCopy()
	if ing.Annotations == nil {
		ing.Annotations = map[string]string{}
	}
	ing.Annotations[ConditionAnnotation] = string(raw)
	if err := kube.Patch(ctx, ing, lockedPatch(before)); err != nil {
		return fmt.Errorf("update condition of %s/%s: %w", ing.Namespace, ing.Name, err)
	}
	return nil
}

// stackNotices are the notices of a stack that is built (none for a group being deleted).
func stackNotices(sp *StackPlan) []spec.Notice {
	if sp.Stack == nil {
		return nil
	}
	return sp.Stack.Notices
}
