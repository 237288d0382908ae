package controller

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbsg/lbsg/internal/naming"
	"github.com/lbsg/lbsg/internal/spec"
)

// networkingRelevance decides, from the informer cache only, whether an event on a
// Service's endpoints or Pods can change what the target-SG pass computes: only when lbsg
// serves the Service, or an Ingress in its namespace routes to it. An unknown Service is
// relevant (it may be about to be created), so that nothing is missed.
type networkingRelevance struct {
	c client.Reader
	e *Engine
}

func (r networkingRelevance) service(ctx context.Context, namespace, name string) bool {
	if name == "" {
		return false
	}
	svc := &corev1.Service{}
	if err := r.c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, svc); err != nil {
		return true
	}
	if spec.OwnsService(svc, r.e.Settings) || hasFinalizer(svc, naming.ServiceFinalizer) {
		return true
	}
	ings := &networkingv1.IngressList{}
	if err := r.c.List(ctx, ings, client.InNamespace(namespace)); err != nil {
		return true
	}
	for i := range ings.Items {
		if routesTo(&ings.Items[i], name) {
			return true
		}
	}
	return false
}
