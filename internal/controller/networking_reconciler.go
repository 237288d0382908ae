package controller

import (
	"context"
	"errors"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/lbsg/lbsg/internal/apply"
	"github.com/lbsg/lbsg/internal/spec"
)

// NetworkingReconciler keeps the rules on target (node and pod) security groups. It has a
// single work item for the whole cluster: every Service, Node or EndpointSlice event maps
// to it, the work queue folds a burst of events into one pass, and each pass recomputes
// every target SG from Kubernetes and AWS, so no state lives in memory.
type NetworkingReconciler struct {
	Client   client.Client
	Engine   *Engine
	Recorder events.EventRecorder
	// DriftCheck is how often AWS is re-read to repair rules changed behind lbsg's back.
	DriftCheck time.Duration
	// WithParams is set when the IngressClassParams CRD is installed.
	WithParams bool

	// reported remembers the last failure reported per owner, only so that a pass every
	// DriftCheck does not repeat the same Event; it holds no state the plan depends on.
	reported sync.Map
}

// networkingKey is the single request the networking reconciler works on.
var networkingKey = ctrl.Request{}

func init() {
	networkingKey.Name = "target-security-groups"
}

// Reconcile runs one pass over every target SG.
func (r *NetworkingReconciler) Reconcile(ctx context.Context, _ ctrl.Request) (ctrl.Result, error) {
	logger := log.FromContext(ctx)
	objs, err := ListClusterObjects(ctx, r.Client, r.WithParams)
	if err != nil {
		return ctrl.Result{}, err
	}
	np, err := r.Engine.PlanNetworking(ctx, objs)
	if err != nil {
		return ctrl.Result{}, err
	}
	for owner, ferr := range np.Failures {
		if last, ok := r.reported.Load(owner); ok && last == ferr.Error() {
			continue
		}
		r.reported.Store(owner, ferr.Error())
		r.event(objs, owner, ferr)
	}
	r.reported.Range(func(k, _ any) bool {
		if _, failing := np.Failures[k.(spec.Owner)]; !failing {
			r.reported.Delete(k)
		}
		return true
	})
	if !np.Plan.Empty() {
		res, err := r.Engine.Exec.Apply(ctx, np.Plan)
		if err != nil {
			var retry *apply.RetryError
			if errors.As(err, &retry) {
				logger.Info("target security groups: waiting", "reason", err.Error())
			}
			// Returned, so that the work queue retries this cluster-wide pass with backoff
			// instead of at a fixed interval.
			return ctrl.Result{}, err
		}
		logger.Info("target security groups reconciled", "changes", res.Applied, "partial", np.Partial)
	}
	return ctrl.Result{RequeueAfter: r.DriftCheck}, nil
}

// event reports a failure on the objects of the owner: the Service, or every Ingress of
// the group.
func (r *NetworkingReconciler) event(objs ClusterObjects, owner spec.Owner, err error) {
	for _, o := range ownerObjects(objs, owner) {
		r.Recorder.Eventf(o, nil, corev1.EventTypeWarning, EventFailedNetwork, "Reconcile",
			"target security group rules not updated: %s", err.Error())
	}
}

// ownerObjects returns the Kubernetes objects of a stack's owner.
func ownerObjects(objs ClusterObjects, owner spec.Owner) []runtime.Object {
	var out []runtime.Object
	switch owner.Kind {
	case "Service":
		for i := range objs.Services {
			s := &objs.Services[i]
			if s.Namespace == owner.Namespace && s.Name == owner.Name {
				out = append(out, s)
			}
		}
	default:
		if g := IngressGroups(objs)[groupIDOf(owner)]; g != nil {
			for _, ing := range g.Objects() {
				out = append(out, ing)
			}
		}
	}
	return out
}
