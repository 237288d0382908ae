package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	elbv2api "github.com/lbsg/lbsg/api/v1beta1"
)

// ListClusterObjects reads every object the desired states depend on. IngressClassParams
// are read only withParams, when their CRD is installed (a cluster without it has none).
func ListClusterObjects(ctx context.Context, c client.Reader, withParams bool) (ClusterObjects, error) {
	objs, err := listIngressObjects(ctx, c, withParams)
	if err != nil {
		return objs, err
	}
	nodes := &corev1.NodeList{}
	if err := c.List(ctx, nodes); err != nil {
		return objs, fmt.Errorf("list nodes: %w", err)
	}
	slices := &discoveryv1.EndpointSliceList{}
	if err := c.List(ctx, slices); err != nil {
		return objs, fmt.Errorf("list endpoint slices: %w", err)
	}
	services := &corev1.ServiceList{}
	if err := c.List(ctx, services); err != nil {
		return objs, fmt.Errorf("list services: %w", err)
	}
	pods := &corev1.PodList{}
	if err := c.List(ctx, pods); err != nil {
		return objs, fmt.Errorf("list pods: %w", err)
	}
	objs.Nodes, objs.Slices, objs.Services, objs.Pods = nodes.Items, slices.Items, services.Items, pods.Items
	objs.IPHolders = podsByIP(objs.Pods, nil)
	return objs, nil
}

// listIngressObjects reads only what sorts Ingresses into groups: Ingresses, classes,
// their parameters and, for namespaceSelectors, namespaces. Event mapping, which runs on
// every EndpointSlice change, needs no more.
func listIngressObjects(ctx context.Context, c client.Reader, withParams bool) (ClusterObjects, error) {
	var objs ClusterObjects
	ingresses := &networkingv1.IngressList{}
	if err := c.List(ctx, ingresses); err != nil {
		return objs, fmt.Errorf("list ingresses: %w", err)
	}
	classes := &networkingv1.IngressClassList{}
	if err := c.List(ctx, classes); err != nil {
		return objs, fmt.Errorf("list ingress classes: %w", err)
	}
	params := &elbv2api.IngressClassParamsList{}
	if withParams {
		if err := c.List(ctx, params); err != nil && !meta.IsNoMatchError(err) {
			return objs, fmt.Errorf("list ingress class params: %w", err)
		}
	}
	objs.Ingresses, objs.Classes, objs.Params = ingresses.Items, classes.Items, params.Items
	for _, p := range params.Items {
		if p.Spec.NamespaceSelector != nil {
			namespaces := &corev1.NamespaceList{}
			if err := c.List(ctx, namespaces); err != nil {
				return objs, fmt.Errorf("list namespaces: %w", err)
			}
			objs.Namespaces = namespaces.Items
			break
		}
	}
	return objs, nil
}
