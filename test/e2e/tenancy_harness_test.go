package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	gatewayv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"
)

// referenceGrantCRD is the ReferenceGrant CRD the Gateway API module lbsg builds with ships
// (its standard channel), found in the module cache.
func referenceGrantCRD() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/gateway-api").Output()
	if err != nil {
		return "", fmt.Errorf("find the sigs.k8s.io/gateway-api module (go mod download): %w", err)
	}
	return filepath.Join(strings.TrimSpace(string(out)), "config", "crd", "standard", "gateway.networking.k8s.io_referencegrants.yaml"), nil
}

// The two tenants of the tenancy tests: each owns one namespace.
const (
	teamA = "team-a"
	teamB = "team-b"
)

// internalSubnets tags the world's subnets for internal load balancers too, so that
// internal ALBs (the default scheme) can be made.
func (h *harness) internalSubnets() {
	h.t.Helper()
	var ids []string
	for _, s := range h.world.Subnets {
		ids = append(ids, s.ID)
	}
	if _, err := h.ec2.CreateTags(h.ctx, &ec2.CreateTagsInput{Resources: ids,
		Tags: []ec2types.Tag{{Key: aws.String("kubernetes.io/role/internal-elb"), Value: aws.String("1")}}}); err != nil {
		h.t.Fatalf("tag subnets: %v", err)
	}
}

// tenants makes sure the tenants' namespaces exist with these labels, empty of what an
// earlier test left, and empties them again when the test ends.
func (h *harness) tenants(labels map[string]map[string]string) {
	h.t.Helper()
	for _, name := range []string{teamA, teamB} {
		ns := &corev1.Namespace{}
		err := h.k8s.Get(h.ctx, client.ObjectKey{Name: name}, ns)
		if apierrors.IsNotFound(err) {
			ns = &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
			err = h.k8s.Create(h.ctx, ns)
		}
		if err != nil {
			h.t.Fatalf("namespace %s: %v", name, err)
		}
		ns.Labels = labels[name]
		if err := h.k8s.Update(h.ctx, ns); err != nil {
			h.t.Fatalf("label namespace %s: %v", name, err)
		}
		h.clearTenant(h.ctx, name)
	}
	h.internalSubnets()
	h.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		h.stopController()
		h.clearTenant(ctx, teamA)
		h.clearTenant(ctx, teamB)
	})
}

// clearTenant removes the Ingresses, Services and ReferenceGrants of a namespace,
// finalizers included.
func (h *harness) clearTenant(ctx context.Context, ns string) {
	ings := &networkingv1.IngressList{}
	_ = h.k8s.List(ctx, ings, client.InNamespace(ns))
	for i := range ings.Items {
		ing := &ings.Items[i]
		if len(ing.Finalizers) > 0 {
			ing.Finalizers = nil
			_ = h.k8s.Update(ctx, ing)
		}
		_ = h.k8s.Delete(ctx, ing)
	}
	svcs := &corev1.ServiceList{}
	_ = h.k8s.List(ctx, svcs, client.InNamespace(ns))
	for i := range svcs.Items {
		s := &svcs.Items[i]
		if len(s.Finalizers) > 0 {
			s.Finalizers = nil
			_ = h.k8s.Update(ctx, s)
		}
		_ = h.k8s.Delete(ctx, s)
	}
	_ = h.k8s.DeleteAllOf(ctx, &gatewayv1beta1.ReferenceGrant{}, client.InNamespace(ns))
}

// tenantService is a NodePort Service ns/name an Ingress routes to.
func tenantBackendService(ns, name string, nodePort int32) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeNodePort,
			Selector: map[string]string{"app": name},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP,
				TargetPort: intstr.FromInt32(8080), NodePort: nodePort}},
		},
	}
}

// tenantIngress is an Ingress ns/name of class (nil: none) routing host and path (Prefix)
// to service:80.
func tenantIngress(ns, name string, class *string, host, path, service string, ann map[string]string) *networkingv1.Ingress {
	prefix := networkingv1.PathTypePrefix
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: ann},
		Spec: networkingv1.IngressSpec{
			IngressClassName: class,
			Rules: []networkingv1.IngressRule{{Host: host, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{{Path: path, PathType: &prefix, Backend: networkingv1.IngressBackend{
					Service: &networkingv1.IngressServiceBackend{Name: service, Port: networkingv1.ServiceBackendPort{Number: 80}}}}},
			}}}},
		},
	}
}

func (h *harness) tenantIngressGet(ns, name string) *networkingv1.Ingress {
	h.t.Helper()
	ing := &networkingv1.Ingress{}
	if err := h.k8s.Get(h.ctx, client.ObjectKey{Namespace: ns, Name: name}, ing); err != nil {
		h.t.Fatalf("get ingress %s/%s: %v", ns, name, err)
	}
	return ing
}

// tenantUpdate applies f to the Ingress and updates it, retrying on conflicts.
func (h *harness) tenantUpdate(ns, name string, f func(*networkingv1.Ingress)) {
	h.t.Helper()
	for i := 0; i < 5; i++ {
		ing := h.tenantIngressGet(ns, name)
		f(ing)
		err := h.k8s.Update(h.ctx, ing)
		if err == nil {
			return
		}
		if !apierrors.IsConflict(err) {
			h.t.Fatalf("update ingress %s/%s: %v", ns, name, err)
		}
	}
	h.t.Fatalf("update ingress %s/%s: conflicts", ns, name)
}

// tenantHostname waits for the Ingress's load balancer hostname.
func (h *harness) tenantHostname(ns, name string) string {
	h.t.Helper()
	host := ""
	h.eventually("hostname of ingress "+ns+"/"+name, 60*time.Second, func() string {
		ing := h.tenantIngressGet(ns, name)
		if len(ing.Status.LoadBalancer.Ingress) > 0 && ing.Status.LoadBalancer.Ingress[0].Hostname != "" {
			host = ing.Status.LoadBalancer.Ingress[0].Hostname
			return ""
		}
		return ingressCondition(ing)
	})
	return host
}

// tenantWaitCondition waits until the Ingress's Ready condition starts with prefix and
// contains every string.
func (h *harness) tenantWaitCondition(ns, name, prefix string, contains ...string) {
	h.t.Helper()
	h.eventually(fmt.Sprintf("condition of %s/%s %q %q", ns, name, prefix, contains), 30*time.Second, func() string {
		c := ingressCondition(h.tenantIngressGet(ns, name))
		if !strings.HasPrefix(c, prefix) || !containsAll(c, contains) {
			return c
		}
		return ""
	})
}

// tenantWaitEvent waits for an Event of the reason on the Ingress that contains every
// string.
func (h *harness) tenantWaitEvent(ns, name, reason string, contains ...string) {
	h.t.Helper()
	h.eventually(fmt.Sprintf("event %s on %s/%s containing %q", reason, ns, name, contains), 30*time.Second, func() string {
		list := &eventsv1.EventList{}
		if err := h.k8s.List(h.ctx, list, client.InNamespace(ns)); err != nil {
			return err.Error()
		}
		var seen []string
		for _, e := range list.Items {
			if e.Regarding.Kind != "Ingress" || e.Regarding.Name != name {
				continue
			}
			if e.Reason == reason && containsAll(e.Note, contains) {
				return ""
			}
			seen = append(seen, e.Reason+": "+e.Note)
		}
		return strings.Join(seen, "\n")
	})
}

// tenantFinalizers are the Ingress's finalizers.
func (h *harness) tenantFinalizers(ns, name string) []string {
	h.t.Helper()
	return h.tenantIngressGet(ns, name).Finalizers
}

// albOfHost returns the scheme and listener ports of the ALB with the DNS name, and the
// host conditions of its rules.
func (h *harness) albOfHost(host string) (scheme string, shape []string) {
	h.t.Helper()
	lb := h.albByHostname(host)
	return string(lb.Scheme), h.grpShape(aws.ToString(lb.LoadBalancerArn))
}
