package controller

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"

	elbv2api "github.com/lbsg/lbsg/api/v1beta1"
	"github.com/lbsg/lbsg/internal/authz"
)

// CRDs says which optional CRDs the cluster has, as found at start-up: objects of a kind
// whose CRD is missing are not read (the cluster has none).
type CRDs struct {
	// Params: upstream's IngressClassParams.
	Params bool
	// Grants: Gateway API's ReferenceGrant, through which a namespace consents to other
	// namespaces' Ingresses joining its Ingress groups.
	Grants bool
}

// InstalledCRDs asks the API server which optional CRDs are installed.
func InstalledCRDs(m meta.RESTMapper) CRDs {
	_, paramsErr := m.RESTMapping(elbv2api.GroupVersion.WithKind("IngressClassParams").GroupKind(), elbv2api.GroupVersion.Version)
	_, grantsErr := m.RESTMapping(gatewayv1beta1.SchemeGroupVersion.WithKind("ReferenceGrant").GroupKind(), gatewayv1beta1.SchemeGroupVersion.Version)
	return CRDs{Params: paramsErr == nil, Grants: grantsErr == nil}
}

// ListClusterObjects reads every object the desired states depend on. The objects of an
// optional CRD are read only when it is installed.
func ListClusterObjects(ctx context.Context, c client.Reader, crds CRDs) (ClusterObjects, error) {
	objs, err := listIngressObjects(ctx, c, crds)
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
// their parameters and, for namespaceSelectors, namespaces, and the ReferenceGrants that
// let namespaces into groups. Event mapping, which runs on every EndpointSlice change,
// needs no more.
func listIngressObjects(ctx context.Context, c client.Reader, crds CRDs) (ClusterObjects, error) {
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
	if crds.Params {
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
	if crds.Grants {
		grants := &gatewayv1beta1.ReferenceGrantList{}
		if err := c.List(ctx, grants); err != nil && !meta.IsNoMatchError(err) {
			return objs, fmt.Errorf("list reference grants: %w", err)
		}
		objs.Grants = grantsOf(grants.Items)
	}
	return objs, nil
}

// grantsOf converts ReferenceGrants into what the reference authorizer reads.
func grantsOf(list []gatewayv1beta1.ReferenceGrant) []authz.Grant {
	out := make([]authz.Grant, 0, len(list))
	for _, rg := range list {
		g := authz.Grant{Namespace: rg.Namespace}
		for _, f := range rg.Spec.From {
			g.From = append(g.From, authz.GrantFrom{Group: string(f.Group), Kind: string(f.Kind), Namespace: string(f.Namespace)})
		}
		for _, t := range rg.Spec.To {
			to := authz.GrantTo{Group: string(t.Group), Kind: string(t.Kind)}
			if t.Name != nil {
				to.Name = string(*t.Name)
			}
			g.To = append(g.To, to)
		}
		out = append(out, g)
	}
	return out
}
