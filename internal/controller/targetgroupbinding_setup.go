package controller

import (
	"context"
	"reflect"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crcontroller "sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	elbv2api "github.com/lbsg/lbsg/api/v1beta1"
)

// setupTargetGroupBindings registers the TargetGroupBinding reconciler: a binding is
// reconciled when it, its Service, the Service's endpoints or Pods, or the nodes change;
// an upstream binding also when its Ingress changes (lbsg may have taken it over).
func setupTargetGroupBindings(ctx context.Context, mgr ctrl.Manager, e *Engine, o Options, notify func(), nodeChanged, podChanged predicate.Predicate) error {
	if err := IndexBindingARNs(ctx, mgr.GetFieldIndexer()); err != nil {
		return err
	}
	c := mgr.GetClient()
	r := &TargetGroupBindingReconciler{Client: c, Engine: e, Recorder: ShortRecorder(mgr.GetEventRecorder("lbsg-targetgroupbinding")),
		Resync: o.Resync, Notify: notify}
	// lbsg's own annotation and status writes bump neither the generation nor the
	// finalizers, so they do not come back as work.
	bindingChanged := predicate.Or(predicate.GenerationChangedPredicate{}, predicate.LabelChangedPredicate{},
		predicate.Funcs{UpdateFunc: func(ev event.UpdateEvent) bool {
			return !reflect.DeepEqual(ev.ObjectOld.GetFinalizers(), ev.ObjectNew.GetFinalizers()) ||
				ev.ObjectOld.GetDeletionTimestamp() != ev.ObjectNew.GetDeletionTimestamp()
		}})
	self := handler.TypedEnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []TGBRequest {
		return []TGBRequest{tgbRequestOf(o)}
	})
	// One binding per target group: when a binding comes or goes, the others of its
	// target group may have to claim it or give way.
	sameTargetGroup := handler.TypedEnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []TGBRequest {
		b, ok := o.(*elbv2api.TargetGroupBinding)
		if !ok || b.Spec.TargetGroupARN == "" {
			return nil
		}
		others, err := bindingsNaming(ctx, c, b.Spec.TargetGroupARN)
		if err != nil {
			return nil
		}
		var out []TGBRequest
		for i := range others {
			if others[i].Namespace != b.Namespace || others[i].Name != b.Name {
				out = append(out, tgbRequestOf(&others[i]))
			}
		}
		return out
	})
	comesOrGoes := predicate.Funcs{
		UpdateFunc: func(ev event.UpdateEvent) bool {
			return ev.ObjectOld.GetDeletionTimestamp() != ev.ObjectNew.GetDeletionTimestamp()
		},
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
	ofService := handler.TypedEnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []TGBRequest {
		return bindingsOfService(ctx, c, o.GetNamespace(), o.GetName())
	})
	ofSlice := enqueueFolded(EndpointFold, func(ctx context.Context, o client.Object) []TGBRequest {
		name := o.GetLabels()[discoveryv1.LabelServiceName]
		if name == "" {
			return nil
		}
		return bindingsOfService(ctx, c, o.GetNamespace(), name)
	})
	ofPod := enqueueFolded(EndpointFold, func(ctx context.Context, o client.Object) []TGBRequest {
		var out []TGBRequest
		for _, s := range servicesSelecting(ctx, c, o) {
			out = append(out, bindingsOfService(ctx, c, s.Namespace, s.Name)...)
		}
		return out
	})
	// Nodes are instance targets: every binding of a user's target group may change.
	ofNode := handler.TypedEnqueueRequestsFromMapFunc(func(ctx context.Context, _ client.Object) []TGBRequest {
		return bindingsWhere(ctx, c, func(b *elbv2api.TargetGroupBinding) bool { return upstreamStackOf(b) == nil })
	})
	ofIngress := handler.TypedEnqueueRequestsFromMapFunc(func(ctx context.Context, _ client.Object) []TGBRequest {
		return bindingsWhere(ctx, c, isUpstreamIngressBinding)
	})
	return builder.TypedControllerManagedBy[TGBRequest](mgr).Named("targetgroupbinding").
		WithOptions(crcontroller.TypedOptions[TGBRequest]{SkipNameValidation: &o.SkipNameValidation, RateLimiter: NewRateLimiter[TGBRequest](),
			ReconciliationTimeout: o.ReconcileTimeout, MaxConcurrentReconciles: max(o.TGBWorkers, 1)}).
		Watches(&elbv2api.TargetGroupBinding{}, self, builder.WithPredicates(bindingChanged)).
		Watches(&elbv2api.TargetGroupBinding{}, sameTargetGroup, builder.WithPredicates(comesOrGoes)).
		// Status too: an upstream binding is released once lbsg's Ready condition is set.
		Watches(&corev1.Service{}, ofService).
		Watches(&discoveryv1.EndpointSlice{}, ofSlice).
		Watches(&corev1.Pod{}, ofPod, builder.WithPredicates(podChanged)).
		Watches(&corev1.Node{}, ofNode, builder.WithPredicates(nodeChanged)).
		Watches(&networkingv1.Ingress{}, ofIngress).
		Complete(r)
}
