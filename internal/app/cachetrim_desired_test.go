package app

import (
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/lbsg/lbsg/internal/controller"
	"github.com/lbsg/lbsg/internal/spec"
)

var trimSettings = spec.Settings{Cluster: "prod", EnableBackendSG: true, EnableManageBackendSGRules: true,
	NLBSecurityGroup: true, DefaultTargetType: "instance", DefaultScheme: "internal", LoadBalancerClass: "service.k8s.aws/nlb"}

func trimmed[T any](t *testing.T, obj T) T {
	t.Helper()
	out, err := trim(obj)
	if err != nil {
		t.Fatal(err)
	}
	return out.(T)
}

// everyKeyAnnotations sets every annotation key lbsg's source reads (a prefix gets one key
// under it) to value, next to what tenants and tools add.
func everyKeyAnnotations(t *testing.T, value string) map[string]string {
	out := tenantAnnotations(nil)
	for _, k := range readAnnotationKeys(t, "../..") {
		if strings.HasSuffix(k, ".") || strings.HasSuffix(k, "/") || strings.HasSuffix(k, "-") {
			k += "TCP-80"
		}
		out[k] = value
	}
	return out
}

func sameStack(t *testing.T, what string, fullStack, trimStack *spec.Stack, fullProblems, trimProblems []*spec.Problem) {
	t.Helper()
	if !reflect.DeepEqual(fullStack, trimStack) {
		t.Errorf("%s: the stack built from the cached object differs (-full +cached):\n%s", what, cmp.Diff(fullStack, trimStack))
	}
	if !reflect.DeepEqual(fullProblems, trimProblems) {
		t.Errorf("%s: problems differ:\nfull:   %v\ncached: %v", what, fullProblems, trimProblems)
	}
}

// The desired state built from a Service or an Ingress group as the informer cache keeps
// them is the one built from the whole objects: the same stack, the same notices (the
// not-implemented upstream keys included) and the same problems.
func TestCacheTrimKeepsTheDesiredState(t *testing.T) {
	class := "service.k8s.aws/nlb"
	valid := tenantAnnotations(map[string]string{
		"service.beta.kubernetes.io/aws-load-balancer-type":                       "external",
		"service.beta.kubernetes.io/aws-load-balancer-scheme":                     "internet-facing",
		"service.beta.kubernetes.io/aws-load-balancer-nlb-target-type":            "ip",
		"service.beta.kubernetes.io/load-balancer-source-ranges":                  "203.0.113.0/24",
		"service.beta.kubernetes.io/aws-load-balancer-healthcheck-path":           "/healthz",
		"service.beta.kubernetes.io/aws-load-balancer-additional-resource-tags":   "team=shop",
		"service.beta.kubernetes.io/aws-load-balancer-listener-attributes.TCP-80": "tcp.idle_timeout.seconds=400",
		"service.beta.kubernetes.io/aws-load-balancer-eip-allocations":            "eipalloc-1",
	})
	for name, ann := range map[string]map[string]string{"valid": valid, "every key": everyKeyAnnotations(t, "x")} {
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web", UID: "u1", Annotations: ann},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, LoadBalancerClass: &class, Selector: map[string]string{"app": "web"},
				Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(8080), NodePort: 30080}}}}
		full, fullProblems := spec.BuildService(svc, trimSettings, spec.ServiceFacts{})
		cached, cachedProblems := spec.BuildService(trimmed(t, svc.DeepCopy()), trimSettings, spec.ServiceFacts{})
		if name == "valid" && (full == nil || len(full.Notices) == 0) {
			t.Fatalf("valid Service: no stack or no notice of the unsupported key: %v", fullProblems)
		}
		sameStack(t, "Service, "+name, full, cached, fullProblems, cachedProblems)
	}

	ingValid := tenantAnnotations(map[string]string{
		"alb.ingress.kubernetes.io/scheme":                   "internet-facing",
		"alb.ingress.kubernetes.io/listen-ports":             `[{"HTTP":80},{"HTTPS":443}]`,
		"alb.ingress.kubernetes.io/certificate-arn":          "arn:aws:acm:eu-west-1:111122223333:certificate/1",
		"alb.ingress.kubernetes.io/target-type":              "ip",
		"alb.ingress.kubernetes.io/group.name":               "shop",
		"alb.ingress.kubernetes.io/inbound-cidrs":            "198.51.100.0/24",
		"alb.ingress.kubernetes.io/tags":                     "team=shop",
		"alb.ingress.kubernetes.io/actions.redirect":         `{"type":"redirect","redirectConfig":{"protocol":"HTTPS","port":"443","statusCode":"HTTP_301"}}`,
		"alb.ingress.kubernetes.io/customer-owned-ipv4-pool": "ipv4pool-coip-0123456789abcdef0",
	})
	backend := corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web",
		Annotations: tenantAnnotations(map[string]string{"alb.ingress.kubernetes.io/healthcheck-path": "/ready"})},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: map[string]string{"app": "web"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, NodePort: 30081}}}}
	albClass := networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "alb"},
		Spec: networkingv1.IngressClassSpec{Controller: "ingress.k8s.aws/alb"}}
	pt := networkingv1.PathTypePrefix
	path := func(p, svc string) networkingv1.HTTPIngressPath {
		return networkingv1.HTTPIngressPath{Path: p, PathType: &pt, Backend: networkingv1.IngressBackend{
			Service: &networkingv1.IngressServiceBackend{Name: svc, Port: networkingv1.ServiceBackendPort{Name: "use-annotation"}}}}
	}
	everyKey := everyKeyAnnotations(t, "x")
	everyKey["kubernetes.io/ingress.class"] = "alb" // else the Ingress is not lbsg's
	for name, ann := range map[string]map[string]string{"valid": ingValid, "every key": everyKey} {
		className := "alb"
		ing := networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web", Annotations: ann},
			Spec: networkingv1.IngressSpec{IngressClassName: &className, Rules: []networkingv1.IngressRule{{
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{
					path("/old", "redirect"),
					{Path: "/", PathType: &pt, Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
						Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}}},
				}}}}}}}
		build := func(ing networkingv1.Ingress, backend corev1.Service) (*spec.Stack, []*spec.Problem) {
			objs := controller.ClusterObjects{Ingresses: []networkingv1.Ingress{ing}, Services: []corev1.Service{backend},
				Classes: []networkingv1.IngressClass{albClass}}
			groups := controller.IngressGroups(objs, controller.GroupRules{})
			if len(groups) != 1 {
				t.Fatalf("Ingress %s: %d groups, want 1", name, len(groups))
			}
			for id, g := range groups {
				return spec.BuildIngressGroup(id, g.Members, trimSettings, spec.IngressFacts{
					Services: map[string]*corev1.Service{"shop/web": &backend}, CertificatesUnknown: true})
			}
			return nil, nil
		}
		full, fullProblems := build(ing, backend)
		cached, cachedProblems := build(*trimmed(t, ing.DeepCopy()), *trimmed(t, backend.DeepCopy()))
		if name == "valid" && (full == nil || len(full.Notices) == 0) {
			t.Fatalf("valid Ingress: no stack or no notice of the unsupported key: %v", fullProblems)
		}
		sameStack(t, "Ingress, "+name, full, cached, fullProblems, cachedProblems)
	}
}
