package e2e

import (
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	elbv2api "github.com/lbsg/lbsg/api/v1beta1"
	"github.com/lbsg/lbsg/internal/controller"
)

// Ingress annotation keys, spelled out as a user writes them (not taken from the product,
// so a typo there fails the tests).
const (
	ingListenPorts = "alb.ingress.kubernetes.io/listen-ports"
	ingCertARN     = "alb.ingress.kubernetes.io/certificate-arn"
	ingCIDRs       = "alb.ingress.kubernetes.io/inbound-cidrs"
	ingSGs         = "alb.ingress.kubernetes.io/security-groups"
	ingManage      = "alb.ingress.kubernetes.io/manage-backend-security-group-rules"
	ingIPType      = "alb.ingress.kubernetes.io/ip-address-type"
	ingScheme      = "alb.ingress.kubernetes.io/scheme"
	ingTags        = "alb.ingress.kubernetes.io/tags"
	ingGroup       = "alb.ingress.kubernetes.io/group.name"
	ingOrder       = "alb.ingress.kubernetes.io/group.order"
	ingTargetType  = "alb.ingress.kubernetes.io/target-type"
	internetFacing = "internet-facing"
)

// albClass is the IngressClass lbsg owns in the tests.
const albClass = "alb"

// ensureIngressClass creates the "alb" IngressClass (controller ingress.k8s.aws/alb),
// optionally pointing at IngressClassParams.
func (h *harness) ensureIngressClass(name, params string) {
	h.t.Helper()
	ic := &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: networkingv1.IngressClassSpec{Controller: "ingress.k8s.aws/alb"}}
	if params != "" {
		ic.Spec.Parameters = &networkingv1.IngressClassParametersReference{APIGroup: aws.String("elbv2.k8s.aws"),
			Kind: "IngressClassParams", Name: params}
	}
	if err := h.k8s.Create(h.ctx, ic); err != nil && !apierrors.IsAlreadyExists(err) {
		h.t.Fatalf("create IngressClass %s: %v", name, err)
	}
}

// clearIngresses removes every Ingress, IngressClass and IngressClassParams a previous
// test left (finalizers included).
func (h *harness) clearIngresses() {
	list := &networkingv1.IngressList{}
	if err := h.k8s.List(h.ctx, list, client.InNamespace("default")); err != nil {
		h.t.Fatalf("list ingresses: %v", err)
	}
	for i := range list.Items {
		ing := &list.Items[i]
		if len(ing.Finalizers) > 0 {
			ing.Finalizers = nil
			_ = h.k8s.Update(h.ctx, ing)
		}
		_ = h.k8s.Delete(h.ctx, ing)
	}
	_ = h.k8s.DeleteAllOf(h.ctx, &networkingv1.IngressClass{})
	_ = h.k8s.DeleteAllOf(h.ctx, &elbv2api.IngressClassParams{})
}

// backendService is a NodePort Service an Ingress routes to.
func backendService(name string, nodePort int32, ann map[string]string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Annotations: ann},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeNodePort,
			Selector: map[string]string{"app": name},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP,
				TargetPort: intstr.FromInt32(8080), NodePort: nodePort}},
		},
	}
}

// ingress is an Ingress of the alb class routing path "/" (Prefix) to service:80.
func ingress(name, service string, ann map[string]string) *networkingv1.Ingress {
	prefix := networkingv1.PathTypePrefix
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Annotations: ann},
		Spec: networkingv1.IngressSpec{
			IngressClassName: aws.String(albClass),
			Rules: []networkingv1.IngressRule{{IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{{Path: "/", PathType: &prefix, Backend: networkingv1.IngressBackend{
					Service: &networkingv1.IngressServiceBackend{Name: service, Port: networkingv1.ServiceBackendPort{Number: 80}}}}},
			}}}},
		},
	}
}

func (h *harness) getIngress(name string) *networkingv1.Ingress {
	h.t.Helper()
	ing := &networkingv1.Ingress{}
	if err := h.k8s.Get(h.ctx, client.ObjectKey{Namespace: "default", Name: name}, ing); err != nil {
		h.t.Fatalf("get ingress %s: %v", name, err)
	}
	return ing
}

// patchIngressAnnotations sets (or, for "", removes) annotations on an Ingress.
func (h *harness) patchIngressAnnotations(name string, ann map[string]string) {
	h.t.Helper()
	for i := 0; i < 5; i++ {
		ing := h.getIngress(name)
		if ing.Annotations == nil {
			ing.Annotations = map[string]string{}
		}
		for k, v := range ann {
			if v == "" {
				delete(ing.Annotations, k)
			} else {
				ing.Annotations[k] = v
			}
		}
		err := h.k8s.Update(h.ctx, ing)
		if err == nil {
			return
		}
		if !apierrors.IsConflict(err) {
			h.t.Fatalf("update ingress %s: %v", name, err)
		}
	}
	h.t.Fatalf("update ingress %s: conflicts", name)
}

// ingressCondition renders lbsg's Ready condition of an Ingress.
func ingressCondition(ing *networkingv1.Ingress) string {
	c := controller.IngressCondition(ing)
	if c == nil {
		return "no condition"
	}
	return fmt.Sprintf("%s %s: %s", c.Status, c.Reason, c.Message)
}

// waitIngressHostname waits for the Ingress's load balancer hostname.
func (h *harness) waitIngressHostname(name string) string {
	h.t.Helper()
	host := ""
	h.eventually("hostname of ingress "+name, 60*time.Second, func() string {
		ing := h.getIngress(name)
		if len(ing.Status.LoadBalancer.Ingress) > 0 && ing.Status.LoadBalancer.Ingress[0].Hostname != "" {
			host = ing.Status.LoadBalancer.Ingress[0].Hostname
			return ""
		}
		return ingressCondition(ing)
	})
	return host
}

// ingressEvents returns the messages of the Events about an Ingress, by reason.
func (h *harness) ingressEvents(name string) map[string][]string {
	h.t.Helper()
	return h.eventsOf("Ingress", name)
}

func (h *harness) waitIngressEvent(name, reason, contains string) {
	h.t.Helper()
	h.waitEventOf("Ingress", name, reason, contains)
}

// albByHostname returns the ALB with the DNS name.
func (h *harness) albByHostname(host string) *elbtypes.LoadBalancer {
	h.t.Helper()
	for _, lb := range h.loadBalancers() {
		if aws.ToString(lb.DNSName) == host {
			return &lb
		}
	}
	h.t.Fatalf("no load balancer with DNS name %s", host)
	return nil
}

// listenersOf returns "PROTOCOL:port" of each listener of a load balancer.
func (h *harness) listenersOf(lbARN string) []elbtypes.Listener {
	h.t.Helper()
	out, err := h.elb.DescribeListeners(h.ctx, &elbv2.DescribeListenersInput{LoadBalancerArn: aws.String(lbARN)})
	if err != nil {
		h.t.Fatalf("describe listeners: %v", err)
	}
	return out.Listeners
}

// certificate requests an ACM certificate in the emulator and returns its ARN.
func (h *harness) certificate(domain string) string {
	h.t.Helper()
	cfg, err := moto.AWSConfig(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	out, err := acm.NewFromConfig(cfg).RequestCertificate(h.ctx, &acm.RequestCertificateInput{DomainName: aws.String(domain)})
	if err != nil {
		h.t.Fatalf("request certificate: %v", err)
	}
	return aws.ToString(out.CertificateArn)
}
