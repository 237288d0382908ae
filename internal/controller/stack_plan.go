package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbsg/lbsg/internal/spec"
)

// The planning entry points the reconcilers and `lbsg plan` share: the same reads of
// Kubernetes, the same planner, so that what `lbsg plan` prints is what a reconcile would
// apply.

// ServiceObjects reads the Kubernetes objects a Service's plan depends on: the nodes
// (instance targets), its EndpointSlices, the Pods of its namespace and, for each endpoint
// address, every Pod of the cluster that reports it (ip targets).
func ServiceObjects(ctx context.Context, c client.Reader, svc *corev1.Service) (ClusterObjects, error) {
	var objs ClusterObjects
	nodes := &corev1.NodeList{}
	if err := c.List(ctx, nodes); err != nil {
		return objs, fmt.Errorf("list nodes: %w", err)
	}
	slices := &discoveryv1.EndpointSliceList{}
	if err := c.List(ctx, slices, client.InNamespace(svc.Namespace), client.MatchingLabels{discoveryv1.LabelServiceName: svc.Name}); err != nil {
		return objs, fmt.Errorf("list endpoint slices of %s/%s: %w", svc.Namespace, svc.Name, err)
	}
	pods := &corev1.PodList{}
	if err := c.List(ctx, pods, client.InNamespace(svc.Namespace)); err != nil {
		return objs, fmt.Errorf("list pods of %s: %w", svc.Namespace, err)
	}
	objs.Nodes, objs.Slices, objs.Pods, objs.Services = nodes.Items, slices.Items, pods.Items, []corev1.Service{*svc}
	holders, err := podsWithIPs(ctx, c, sliceAddresses(objs.Slices))
	if err != nil {
		return objs, err
	}
	objs.IPHolders = holders
	return objs, nil
}

// PlanServiceIn plans a Service from the cluster c shows: what its reconcile applies.
func (e *Engine) PlanServiceIn(ctx context.Context, c client.Reader, svc *corev1.Service) (*StackPlan, error) {
	objs, err := ServiceObjects(ctx, c, svc)
	if err != nil {
		return nil, err
	}
	return e.PlanService(ctx, svc, objs)
}

// Plan is the plan a reconcile of svc applies.
func (r *ServiceReconciler) Plan(ctx context.Context, svc *corev1.Service) (*StackPlan, error) {
	return r.Engine.PlanServiceIn(ctx, r.Client, svc)
}

// group reads the cluster's Ingress objects and returns group id as the reconciler sees
// it (nil when no Ingress is in it or holds its finalizer), with the objects read.
func (r *IngressGroupReconciler) group(ctx context.Context, id spec.IngressGroupID) (*IngressGroup, ClusterObjects, error) {
	objs, err := ListClusterObjects(ctx, r.Client, r.CRDs)
	if err != nil {
		return nil, objs, err
	}
	g, err := r.Engine.IngressGroup(ctx, objs, id)
	return g, objs, err
}

// IngressGroup returns group id as its reconciler sees it (nil when no Ingress is in it or
// holds its finalizer): an explicit group's owner is kept by the namespaces its load
// balancer serves now (GroupRules.Serving).
func (e *Engine) IngressGroup(ctx context.Context, objs ClusterObjects, id spec.IngressGroupID) (*IngressGroup, error) {
	rules := e.GroupRules()
	if id.Explicit() {
		serving, err := e.ServingNamespaces(ctx, id)
		if err != nil {
			return nil, err
		}
		rules.Serving = map[spec.IngressGroupID][]string{id: serving}
	}
	return IngressGroups(objs, rules)[id], nil
}

// Plan is the plan a reconcile of group id applies; nil when there is no such group.
func (r *IngressGroupReconciler) Plan(ctx context.Context, id spec.IngressGroupID) (*StackPlan, error) {
	g, objs, err := r.group(ctx, id)
	if err != nil || g == nil {
		return nil, err
	}
	return r.Engine.PlanIngressGroup(ctx, g, objs)
}
