package controller

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	fakeclient "sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/lbsg/lbsg/internal/spec"
)

// TestEndpointEventsReachThePassOnlyForServicesLbsgServes: an EndpointSlice or Pod event
// starts a target-SG pass only for a Service lbsg serves (its NLB, or an Ingress in its
// namespace routes to it), or one not known yet; other Services' endpoints churn freely.
func TestEndpointEventsReachThePassOnlyForServicesLbsgServes(t *testing.T) {
	class := "service.k8s.aws/nlb"
	svc := func(name string, lb bool) *corev1.Service {
		s := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: name}}
		if lb {
			s.Spec.Type, s.Spec.LoadBalancerClass = corev1.ServiceTypeLoadBalancer, &class
		}
		return s
	}
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "web"},
		Spec: networkingv1.IngressSpec{DefaultBackend: &networkingv1.IngressBackend{
			Service: &networkingv1.IngressServiceBackend{Name: "behind-alb", Port: networkingv1.ServiceBackendPort{Number: 80}}}}}
	kube := fakeclient.NewClientBuilder().WithScheme(scheme.Scheme).
		WithObjects(svc("nlb", true), svc("behind-alb", false), svc("database", false), ing).Build()
	r := networkingRelevance{c: kube, e: &Engine{Settings: spec.Settings{Cluster: "prod", LoadBalancerClass: class}}}
	for name, want := range map[string]bool{"nlb": true, "behind-alb": true, "database": false, "not-yet-created": true, "": false} {
		if got := r.service(context.Background(), "team", name); got != want {
			t.Errorf("service %q relevant = %v, want %v", name, got, want)
		}
	}
}
