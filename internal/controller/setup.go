package controller

import (
	"context"
	"maps"
	"reflect"
	"slices"
	"time"

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
	"sigs.k8s.io/controller-runtime/pkg/source"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	elbv2api "github.com/lbsg/lbsg/api/v1beta1"
	"github.com/lbsg/lbsg/internal/naming"
	"github.com/lbsg/lbsg/internal/readiness"
	"github.com/lbsg/lbsg/internal/spec"
	"github.com/lbsg/lbsg/internal/targets"
)

// Options of the reconcilers.
type Options struct {
	Resync     time.Duration
	DriftCheck time.Duration
	// SkipNameValidation lets several managers run in one process (tests, the demo).
	SkipNameValidation bool
	// WatchIngressClassParams is false when the IngressClassParams CRD is not installed.
	WatchIngressClassParams bool
	// WatchReferenceGrants is false when Gateway API's ReferenceGrant CRD is not installed.
	WatchReferenceGrants bool
	// ReconcileTimeout is the deadline of each reconcile; 0 means none.
	ReconcileTimeout time.Duration
	// SyncPeriod (--sync-period) is how long the target-SG pass trusts its discovery
	// searches and resolved target ENIs; 0 means Resync.
	SyncPeriod time.Duration
	// ServiceWorkers and IngressWorkers are --service-max-concurrent-reconciles and
	// --ingress-max-concurrent-reconciles; 0 means 1.
	ServiceWorkers, IngressWorkers int
	// WatchTargetGroupBindings is false when the TargetGroupBinding CRD is not installed;
	// TGBWorkers is --targetgroupbinding-max-concurrent-reconciles (0 means 1).
	WatchTargetGroupBindings bool
	TGBWorkers               int
	// OrphanGrace (--orphan-grace-period) is how long a stack must stay without its object
	// before it is deleted; 0 means DefaultOrphanGrace.
	OrphanGrace time.Duration
}

// lbChangedBuffer bounds the stacks the drift check hands to their reconcilers at once;
// past it a stack waits for the next drift check.
const lbChangedBuffer = 1024

// Setup registers lbsg's reconcilers with the manager, and the informer indexes they read.
func Setup(ctx context.Context, mgr ctrl.Manager, e *Engine, o Options) error {
	if err := IndexPodIPs(ctx, mgr.GetFieldIndexer()); err != nil {
		return err
	}
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
	// A Pod matters to ip targets through its labels, IPs and phase (a finished Pod is no
	// target, and gives its IP up); readiness reaches lbsg through the EndpointSlice,
	// except for a Pod waiting on a readiness gate, whose endpoint stays unready: its
	// containers becoming ready makes it a target.
	podChanged := predicate.Funcs{UpdateFunc: func(ev event.UpdateEvent) bool {
		a, b := ev.ObjectOld.(*corev1.Pod), ev.ObjectNew.(*corev1.Pod)
		return !reflect.DeepEqual(a.Labels, b.Labels) || !reflect.DeepEqual(a.Status.PodIPs, b.Status.PodIPs) ||
			a.Status.Phase != b.Status.Phase ||
			a.Annotations[targets.PodENIAnnotation] != b.Annotations[targets.PodENIAnnotation] ||
			a.DeletionTimestamp != b.DeletionTimestamp ||
			readiness.HasAnyGate(b) && readiness.ContainersReady(a) != readiness.ContainersReady(b)
	}}
	kick := make(chan event.GenericEvent, 1)
	svcR := &ServiceReconciler{Client: mgr.GetClient(), Engine: e, Recorder: ShortRecorder(mgr.GetEventRecorder("lbsg-service")),
		Resync: o.Resync, Notify: func() {
			select {
			case kick <- event.GenericEvent{Object: &corev1.Service{}}:
			default:
			}
		}}
	ownedServices := func(ctx context.Context, _ client.Object) []ServiceRequest {
		list := &corev1.ServiceList{}
		if err := mgr.GetClient().List(ctx, list); err != nil {
			return nil
		}
		var reqs []ServiceRequest
		for i := range list.Items {
			s := &list.Items[i]
			if spec.OwnsService(s, e.Settings) || hasFinalizer(s, naming.ServiceFinalizer) {
				reqs = append(reqs, serviceRequestOf(s))
			}
		}
		return reqs
	}
	sliceService := func(_ context.Context, o client.Object) []ServiceRequest {
		name := o.GetLabels()[discoveryv1.LabelServiceName]
		if name == "" {
			return nil
		}
		return []ServiceRequest{{Namespace: o.GetNamespace(), Name: name}}
	}
	podServices := func(ctx context.Context, o client.Object) []ServiceRequest {
		var reqs []ServiceRequest
		for _, s := range servicesSelecting(ctx, mgr.GetClient(), o) {
			reqs = append(reqs, serviceRequestOf(&s))
		}
		return reqs
	}
	// The drift check hands the stacks whose load balancer changed in AWS (deleted, SGs
	// detached) to their own reconciler.
	svcLB := make(chan event.TypedGenericEvent[ServiceRequest], lbChangedBuffer)
	ingLB := make(chan event.TypedGenericEvent[spec.IngressGroupID], lbChangedBuffer)
	lbChanged := func(owner spec.Owner) {
		var err error
		if owner.Kind == "Service" {
			err = offer(svcLB, ServiceRequest{Namespace: owner.Namespace, Name: owner.Name})
		} else {
			err = offer(ingLB, groupIDOf(owner))
		}
		if err != nil {
			mgr.GetLogger().Info("load balancer change not handed over; the next drift check finds it again", "owner", owner.String(), "reason", err.Error())
		}
	}
	if err := builder.TypedControllerManagedBy[ServiceRequest](mgr).Named("service").
		WithOptions(typedOptions[ServiceRequest](o, mgr.GetLogger(), "service", o.ServiceWorkers)).
		WatchesRawSource(source.TypedChannel(svcLB, itself[ServiceRequest]())).
		Watches(&corev1.Service{}, handler.TypedEnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []ServiceRequest {
			return []ServiceRequest{serviceRequestOf(o)}
		}), builder.WithPredicates(svcChanged)).
		Watches(&corev1.Node{}, handler.TypedEnqueueRequestsFromMapFunc(ownedServices), builder.WithPredicates(nodeChanged)).
		Watches(&discoveryv1.EndpointSlice{}, enqueueFolded(EndpointFold, sliceService)).
		Watches(&corev1.Pod{}, enqueueFolded(EndpointFold, podServices), builder.WithPredicates(podChanged)).
		Complete(svcR); err != nil {
		return err
	}
	ingChanged := predicate.Or(predicate.GenerationChangedPredicate{},
		predicate.Funcs{UpdateFunc: func(ev event.UpdateEvent) bool {
			return !reflect.DeepEqual(withoutCondition(ev.ObjectOld.GetAnnotations()), withoutCondition(ev.ObjectNew.GetAnnotations())) ||
				!reflect.DeepEqual(ev.ObjectOld.GetFinalizers(), ev.ObjectNew.GetFinalizers()) ||
				ev.ObjectOld.GetDeletionTimestamp() != ev.ObjectNew.GetDeletionTimestamp()
		}})
	crds := CRDs{Params: o.WatchIngressClassParams, Grants: o.WatchReferenceGrants}
	ingR := &IngressGroupReconciler{Client: mgr.GetClient(), Engine: e, Recorder: ShortRecorder(mgr.GetEventRecorder("lbsg-ingress")),
		Resync: o.Resync, Notify: svcR.Notify, CRDs: crds}
	groupsOf := func(ctx context.Context, obj client.Object) []spec.IngressGroupID {
		objs, err := listIngressObjects(ctx, mgr.GetClient(), crds)
		if err != nil {
			return nil
		}
		return GroupsOfIngress(obj.(*networkingv1.Ingress), objs, e.GroupRules())
	}
	// A Service (or its endpoints) concerns the groups with an Ingress in its namespace
	// that routes to it.
	groupsUsing := func(ctx context.Context, namespace, service string) []spec.IngressGroupID {
		objs, err := listIngressObjects(ctx, mgr.GetClient(), crds)
		if err != nil {
			return nil
		}
		var ids []spec.IngressGroupID
		for id, g := range IngressGroups(objs, e.GroupRules()) {
			for _, ing := range g.Objects() {
				if ing.Namespace == namespace && routesTo(ing, service) {
					ids = append(ids, id)
					break
				}
			}
		}
		return ids
	}
	allGroups := func(ctx context.Context, _ client.Object) []spec.IngressGroupID {
		objs, err := listIngressObjects(ctx, mgr.GetClient(), crds)
		if err != nil {
			return nil
		}
		return slices.Collect(maps.Keys(IngressGroups(objs, e.GroupRules())))
	}
	// A ReferenceGrant or a namespace's labels (a namespaceSelector's input) change which
	// Ingresses explicit groups admit.
	explicitGroups := func(ctx context.Context, obj client.Object) []spec.IngressGroupID {
		return slices.DeleteFunc(allGroups(ctx, obj), func(id spec.IngressGroupID) bool { return !id.Explicit() })
	}
	labelsChanged := predicate.Funcs{UpdateFunc: func(ev event.UpdateEvent) bool {
		return !reflect.DeepEqual(ev.ObjectOld.GetLabels(), ev.ObjectNew.GetLabels())
	}}
	ib := builder.TypedControllerManagedBy[spec.IngressGroupID](mgr).Named("ingress").
		WithOptions(typedOptions[spec.IngressGroupID](o, mgr.GetLogger(), "ingress", o.IngressWorkers)).
		WatchesRawSource(source.TypedChannel(ingLB, itself[spec.IngressGroupID]())).
		Watches(&networkingv1.Ingress{}, handler.TypedEnqueueRequestsFromMapFunc(groupsOf), builder.WithPredicates(ingChanged)).
		Watches(&corev1.Service{}, handler.TypedEnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []spec.IngressGroupID {
			return groupsUsing(ctx, o.GetNamespace(), o.GetName())
		}), builder.WithPredicates(svcChanged)).
		Watches(&discoveryv1.EndpointSlice{}, enqueueFolded(EndpointFold, func(ctx context.Context, o client.Object) []spec.IngressGroupID {
			return groupsUsing(ctx, o.GetNamespace(), o.GetLabels()[discoveryv1.LabelServiceName])
		})).
		Watches(&corev1.Pod{}, enqueueFolded(EndpointFold, func(ctx context.Context, o client.Object) []spec.IngressGroupID {
			var ids []spec.IngressGroupID
			for _, s := range servicesSelecting(ctx, mgr.GetClient(), o) {
				ids = append(ids, groupsUsing(ctx, s.Namespace, s.Name)...)
			}
			return ids
		}), builder.WithPredicates(podChanged)).
		Watches(&corev1.Node{}, handler.TypedEnqueueRequestsFromMapFunc(allGroups), builder.WithPredicates(nodeChanged)).
		Watches(&networkingv1.IngressClass{}, handler.TypedEnqueueRequestsFromMapFunc(allGroups)).
		Watches(&corev1.Namespace{}, handler.TypedEnqueueRequestsFromMapFunc(allGroups), builder.WithPredicates(labelsChanged))
	if o.WatchIngressClassParams {
		ib = ib.Watches(&elbv2api.IngressClassParams{}, handler.TypedEnqueueRequestsFromMapFunc(allGroups))
	}
	if o.WatchReferenceGrants {
		ib = ib.Watches(&gatewayv1beta1.ReferenceGrant{}, handler.TypedEnqueueRequestsFromMapFunc(explicitGroups))
	}
	if err := ib.Complete(ingR); err != nil {
		return err
	}
	if o.WatchTargetGroupBindings {
		if err := setupTargetGroupBindings(ctx, mgr, e, o, svcR.Notify, nodeChanged, podChanged); err != nil {
			return err
		}
	}
	resync := o.SyncPeriod
	if resync <= 0 {
		resync = o.Resync
	}
	netR := &NetworkingReconciler{Client: mgr.GetClient(), Engine: e, Recorder: ShortRecorder(mgr.GetEventRecorder("lbsg-networking")),
		DriftCheck: o.DriftCheck, Resync: resync, CRDs: crds, LBChanged: lbChanged,
		WithBindings: o.WatchTargetGroupBindings}
	grace := o.OrphanGrace
	if grace <= 0 {
		grace = DefaultOrphanGrace
	}
	netR.Orphans = &OrphanCollector{Engine: e, Reader: mgr.GetAPIReader(), Recorder: ShortRecorder(mgr.GetEventRecorder("lbsg-orphans")),
		Grace: grace, WithParams: o.WatchIngressClassParams, WithGrants: o.WatchReferenceGrants, WithBindings: o.WatchTargetGroupBindings}
	toPass := handler.TypedEnqueueRequestsFromMapFunc(func(context.Context, client.Object) []TargetSGPass { return targetSGPass })
	// Endpoints and Pods matter only to the Services lbsg serves, directly or behind an
	// Ingress; a pass whose inputs did not change then reads nothing from AWS.
	relevant := networkingRelevance{c: mgr.GetClient(), e: e}
	sliceToPass := enqueueFolded(EndpointFold, func(ctx context.Context, o client.Object) []TargetSGPass {
		if !relevant.service(ctx, o.GetNamespace(), o.GetLabels()[discoveryv1.LabelServiceName]) {
			return nil
		}
		return targetSGPass
	})
	podToPass := enqueueFolded(EndpointFold, func(ctx context.Context, o client.Object) []TargetSGPass {
		for _, s := range servicesSelecting(ctx, mgr.GetClient(), o) {
			if relevant.service(ctx, s.Namespace, s.Name) {
				return targetSGPass
			}
		}
		return nil
	})
	pb := builder.TypedControllerManagedBy[TargetSGPass](mgr).Named("target-security-groups").
		WithOptions(crcontroller.TypedOptions[TargetSGPass]{SkipNameValidation: &o.SkipNameValidation, RateLimiter: newPassRateLimiter(),
			ReconciliationTimeout: o.ReconcileTimeout, MaxConcurrentReconciles: 1}).
		WatchesRawSource(source.TypedChannel(kick, toPass)).
		Watches(&corev1.Service{}, toPass, builder.WithPredicates(svcChanged)).
		Watches(&networkingv1.Ingress{}, toPass, builder.WithPredicates(ingChanged)).
		Watches(&corev1.Node{}, toPass, builder.WithPredicates(nodeChanged)).
		Watches(&discoveryv1.EndpointSlice{}, sliceToPass).
		Watches(&corev1.Pod{}, podToPass, builder.WithPredicates(podChanged))
	if o.WatchTargetGroupBindings {
		// Any change: the record a binding's reconcile writes right after it claimed its
		// target group (which places the binding's rules) is an annotation.
		pb = pb.Watches(&elbv2api.TargetGroupBinding{}, toPass)
	}
	return pb.Complete(netR)
}

// withoutCondition drops lbsg's own condition annotation, whose writes must not trigger a
// reconcile.
func withoutCondition(ann map[string]string) map[string]string {
	out := make(map[string]string, len(ann))
	for k, v := range ann {
		if k != ConditionAnnotation {
			out[k] = v
		}
	}
	return out
}

// routesTo reports whether an Ingress has a backend on the Service.
func routesTo(ing *networkingv1.Ingress, service string) bool {
	for _, name := range spec.BackendServices(ing) {
		if name == service {
			return true
		}
	}
	return false
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
