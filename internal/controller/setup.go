package controller

import (
	"context"
	"reflect"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crcontroller "sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/lbsg/lbsg/internal/naming"
	"github.com/lbsg/lbsg/internal/spec"
)

// Options of the reconcilers.
type Options struct {
	Resync     time.Duration
	DriftCheck time.Duration
	// SkipNameValidation lets several managers run in one process (tests, the demo).
	SkipNameValidation bool
}

// Setup registers lbsg's reconcilers with the manager.
func Setup(mgr ctrl.Manager, e *Engine, o Options) error {
	// Annotations carry the configuration and do not bump the generation; status writes
	// (lbsg's own) change neither, so they do not trigger a reconcile.
	svcChanged := predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{},
		predicate.Funcs{UpdateFunc: func(ev event.UpdateEvent) bool {
			return !reflect.DeepEqual(ev.ObjectOld.GetFinalizers(), ev.ObjectNew.GetFinalizers()) ||
				ev.ObjectOld.GetDeletionTimestamp() != ev.ObjectNew.GetDeletionTimestamp()
		}})
	nodeChanged := predicate.Funcs{UpdateFunc: func(ev event.UpdateEvent) bool {
		a, b := ev.ObjectOld.(*corev1.Node), ev.ObjectNew.(*corev1.Node)
		return nodeReady(a) != nodeReady(b) || !reflect.DeepEqual(a.Labels, b.Labels) ||
			a.Spec.ProviderID != b.Spec.ProviderID || !reflect.DeepEqual(a.Spec.Taints, b.Spec.Taints)
	}}
	kick := make(chan event.GenericEvent, 1)
	svcR := &ServiceReconciler{Client: mgr.GetClient(), Engine: e, Recorder: mgr.GetEventRecorder("lbsg-service"),
		Resync: o.Resync, Notify: func() {
			select {
			case kick <- event.GenericEvent{Object: &corev1.Service{}}:
			default:
			}
		}}
	ownedServices := func(ctx context.Context, _ client.Object) []reconcile.Request {
		list := &corev1.ServiceList{}
		if err := mgr.GetClient().List(ctx, list); err != nil {
			return nil
		}
		var reqs []reconcile.Request
		for i := range list.Items {
			s := &list.Items[i]
			if spec.OwnsService(s, e.Settings) || hasFinalizer(s, naming.ServiceFinalizer) {
				reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(s)})
			}
		}
		return reqs
	}
	sliceService := func(_ context.Context, o client.Object) []reconcile.Request {
		name := o.GetLabels()[discoveryv1.LabelServiceName]
		if name == "" {
			return nil
		}
		return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: o.GetNamespace(), Name: name}}}
	}
	copts := crcontroller.Options{SkipNameValidation: &o.SkipNameValidation}
	if err := ctrl.NewControllerManagedBy(mgr).Named("service").WithOptions(copts).
		For(&corev1.Service{}, builder.WithPredicates(svcChanged)).
		Watches(&corev1.Node{}, handler.EnqueueRequestsFromMapFunc(ownedServices), builder.WithPredicates(nodeChanged)).
		Watches(&discoveryv1.EndpointSlice{}, handler.EnqueueRequestsFromMapFunc(sliceService)).
		Complete(svcR); err != nil {
		return err
	}
	netR := &NetworkingReconciler{Client: mgr.GetClient(), Engine: e, Recorder: mgr.GetEventRecorder("lbsg-networking"), DriftCheck: o.DriftCheck}
	toCluster := handler.EnqueueRequestsFromMapFunc(func(context.Context, client.Object) []reconcile.Request {
		return []reconcile.Request{networkingKey}
	})
	return ctrl.NewControllerManagedBy(mgr).Named("target-security-groups").WithOptions(copts).
		WatchesRawSource(source.Channel(kick, toCluster)).
		Watches(&corev1.Service{}, toCluster, builder.WithPredicates(svcChanged)).
		Watches(&corev1.Node{}, toCluster, builder.WithPredicates(nodeChanged)).
		Watches(&discoveryv1.EndpointSlice{}, toCluster).
		Complete(netR)
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
