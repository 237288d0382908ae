package controller

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/lbsg/lbsg/internal/audit"
	"github.com/lbsg/lbsg/internal/naming"
	"github.com/lbsg/lbsg/internal/spec"
)

// Condition type and reasons lbsg sets on the objects it manages.
const (
	ConditionReady          = "lbsg.k8s.aws/Ready"
	ReasonReconciled        = "Reconciled"
	ReasonInvalidConfig     = "InvalidConfiguration"
	ReasonAWSError          = "AWSError"
	ReasonWaiting           = "Waiting"
	EventSuccessfullyDeploy = "SuccessfullyReconciled"
	EventFailedBuildModel   = "FailedBuildModel"
	EventFailedDeploy       = "FailedDeployModel"
	EventFailedCleanup      = "FailedCleanup"
	EventFailedNetwork      = "FailedNetworkReconcile"
)

// ServiceReconciler provisions an NLB for each Service lbsg owns.
type ServiceReconciler struct {
	Client   client.Client
	Engine   *Engine
	Recorder events.EventRecorder
	// Resync is how often a Service is re-read against AWS to repair drift.
	Resync time.Duration
	// Notify asks the target-SG reconciler for a pass (after a load balancer changed).
	Notify func()
}

// ServiceRequest is the work item of the Service reconciler: one Service.
type ServiceRequest struct {
	Namespace, Name string
}

func (r ServiceRequest) String() string { return r.Namespace + "/" + r.Name }

func serviceRequestOf(o client.Object) ServiceRequest {
	return ServiceRequest{Namespace: o.GetNamespace(), Name: o.GetName()}
}

// Reconcile observes, plans and applies one Service.
func (r *ServiceReconciler) Reconcile(ctx context.Context, req ServiceRequest) (ctrl.Result, error) {
	ctx = audit.WithObject(ctx, "Service "+req.String())
	svc := &corev1.Service{}
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: req.Namespace, Name: req.Name}, svc); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !spec.OwnsService(svc, r.Engine.Settings) || svc.DeletionTimestamp != nil {
		if !controllerutil.ContainsFinalizer(svc, naming.ServiceFinalizer) {
			if serviceReleaseProblem(svc) == nil && meta.FindStatusCondition(svc.Status.Conditions, ConditionReady) != nil {
				// lbsg served it (only lbsg writes that condition, and it clears it when it
				// lets a Service go) and it explicitly moved away, but its finalizer was
				// removed first: its stack goes now, as with the finalizer.
				return r.reconcileDelete(ctx, svc)
			}
			return ctrl.Result{}, nil
		}
		if p := serviceReleaseProblem(svc); p != nil {
			// Not an explicit move: keep the load balancer and say why.
			r.Recorder.Eventf(svc, nil, corev1.EventTypeWarning, EventFailedBuildModel, "Reconcile", "%s", p.Error())
			return ctrl.Result{}, r.setCondition(ctx, svc, metav1.ConditionFalse, ReasonInvalidConfig, p.Error(), "")
		}
		return r.reconcileDelete(ctx, svc)
	}
	return r.reconcileNormal(ctx, svc)
}

func (r *ServiceReconciler) reconcileNormal(ctx context.Context, svc *corev1.Service) (ctrl.Result, error) {
	logger := log.FromContext(ctx)
	sp, err := r.Plan(ctx, svc)
	if err != nil {
		return ctrl.Result{}, r.fail(ctx, svc, EventFailedDeploy, ReasonAWSError, err)
	}
	if len(sp.Problems) > 0 {
		msgs := make([]string, len(sp.Problems))
		for i, p := range sp.Problems {
			msgs[i] = p.Error()
			r.Recorder.Eventf(svc, nil, corev1.EventTypeWarning, EventFailedBuildModel, "Reconcile", "%s", p.Error())
		}
		// Bad input is not retried: the next edit of the Service triggers a reconcile.
		return ctrl.Result{}, r.setCondition(ctx, svc, metav1.ConditionFalse, ReasonInvalidConfig, strings.Join(msgs, "; "), "")
	}
	for _, n := range sp.Stack.Notices {
		r.Recorder.Eventf(svc, nil, corev1.EventTypeWarning, n.Reason, "Reconcile", "%s", n.Message)
	}
	if _, err := addFinalizer(ctx, r.Client, svc, naming.ServiceFinalizer); err != nil {
		return ctrl.Result{}, fmt.Errorf("add finalizer to %s/%s: %w", svc.Namespace, svc.Name, err)
	}
	if len(sp.Plan.Notices) > 0 {
		r.Recorder.Eventf(svc, nil, corev1.EventTypeWarning, EventSettingLeftAsIs, "Reconcile", "%s", strings.Join(sp.Plan.Notices, "; "))
	}
	res, err := r.Engine.Exec.Apply(ctx, sp.Plan)
	if err != nil {
		// Returned, so that the work queue retries with backoff; reported from the first
		// failure on.
		return ctrl.Result{}, r.fail(ctx, svc, EventFailedDeploy, failureReason(err), err)
	}
	if !sp.Plan.Empty() {
		r.notify()
		logger.Info("applied plan", "changes", res.Applied)
		r.Recorder.Eventf(svc, nil, corev1.EventTypeNormal, EventSuccessfullyDeploy, "Reconcile", "Successfully reconciled: %d change(s) applied", res.Applied)
	} else {
		// Every resync of every Service lands here: not worth a line at the default level.
		logger.V(1).Info("nothing to change")
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
	if err := r.setCondition(ctx, svc, metav1.ConditionTrue, ReasonReconciled, "load balancer "+sp.Stack.LoadBalancer.Name+" is provisioned", hostname); err != nil {
		return ctrl.Result{}, err
	}
	return r.Engine.afterGates(ctx, r.Client, stackGates(sp.Stack), r.Resync)
}

func (r *ServiceReconciler) reconcileDelete(ctx context.Context, svc *corev1.Service) (ctrl.Result, error) {
	sp, err := r.Plan(ctx, svc)
	if err != nil {
		return ctrl.Result{}, r.fail(ctx, svc, EventFailedCleanup, ReasonAWSError, err)
	}
	if _, err := r.Engine.Exec.Apply(ctx, sp.Plan); err != nil {
		return ctrl.Result{}, r.fail(ctx, svc, EventFailedCleanup, failureReason(err), err)
	}
	if svc.DeletionTimestamp == nil {
		// No longer ours (another type or class): clear what lbsg wrote.
		before := svc.DeepCopy()
		meta.RemoveStatusCondition(&svc.Status.Conditions, ConditionReady)
		svc.Status.LoadBalancer = corev1.LoadBalancerStatus{}
		if err := r.Client.Status().Patch(ctx, svc, lockedPatch(before)); err != nil && !apierrors.IsNotFound(err) {
			return ctrl.Result{}, fmt.Errorf("clear status of %s/%s: %w", svc.Namespace, svc.Name, err)
		}
	}
	if _, err := removeFinalizer(ctx, r.Client, svc, naming.ServiceFinalizer); err != nil && !apierrors.IsNotFound(err) {
		return ctrl.Result{}, fmt.Errorf("remove finalizer from %s/%s: %w", svc.Namespace, svc.Name, err)
	}
	r.notify()
	return ctrl.Result{}, nil
}

func (r *ServiceReconciler) notify() {
	if r.Notify != nil {
		r.Notify()
	}
}

// fail reports an error through an Event and the condition, and returns it for a retry.
func (r *ServiceReconciler) fail(ctx context.Context, svc *corev1.Service, event, reason string, err error) error {
	if shuttingDown(ctx, err) {
		return err
	}
	ctx, cancel := reportContext(ctx)
	defer cancel()
	r.Recorder.Eventf(svc, nil, corev1.EventTypeWarning, event, "Reconcile", "%s", err.Error())
	if cerr := r.setCondition(ctx, svc, metav1.ConditionFalse, reason, err.Error(), ""); cerr != nil {
		log.FromContext(ctx).Error(cerr, "update status")
	}
	return err
}

// setCondition writes the Ready condition and, when hostname is set, the load balancer
// status, in one status update and only if something changed.
func (r *ServiceReconciler) setCondition(ctx context.Context, svc *corev1.Service, status metav1.ConditionStatus, reason, msg, hostname string) error {
	before := svc.DeepCopy()
	if old := meta.FindStatusCondition(svc.Status.Conditions, ConditionReady); targetRulesStillFailing(old, status) {
		status, reason, msg = old.Status, old.Reason, old.Message
	}
	changed := meta.SetStatusCondition(&svc.Status.Conditions, metav1.Condition{
		Type: ConditionReady, Status: status, Reason: reason, Message: truncate(msg, 32000), ObservedGeneration: svc.Generation,
	})
	if hostname != "" {
		want := []corev1.LoadBalancerIngress{{Hostname: hostname}}
		if len(svc.Status.LoadBalancer.Ingress) != 1 || svc.Status.LoadBalancer.Ingress[0].Hostname != hostname {
			svc.Status.LoadBalancer.Ingress = want
			changed = true
		}
	}
	if !changed {
		return nil
	}
	if err := r.Client.Status().Patch(ctx, svc, lockedPatch(before)); err != nil {
		return fmt.Errorf("update status of %s/%s: %w", svc.Namespace, svc.Name, err)
	}
	return nil
}

// truncate shortens a condition message as Events are shortened (Shorten), so both keep
// the key and the fix.
func truncate(s string, n int) string { return Shorten(s, n) }
