//go:build linux

package main

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

const (
	benchCluster   = "bench"
	benchNamespace = "default"
	// benchLabel marks every object the bench creates, so that it can find and remove them.
	benchLabel = "bench.lbsg.io/run"
	// noopAnnotation is the unrelated annotation of the no-op change.
	noopAnnotation = "bench.lbsg.io/touched"
	ingressClass   = "alb"
)

// nlbService is the sample Service of the NLB security-groups post: external,
// internet-facing, instance targets, so with a managed SG and the shared backend SG.
func nlbService(name, targetType string) *corev1.Service {
	targetPort := int32(80)
	if targetType == "ip" {
		targetPort = 8080
	}
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: benchNamespace, Name: name,
			Labels: map[string]string{benchLabel: "nlb"},
			Annotations: map[string]string{
				"service.beta.kubernetes.io/aws-load-balancer-type":            "external",
				"service.beta.kubernetes.io/aws-load-balancer-scheme":          "internet-facing",
				"service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": targetType,
			}},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeLoadBalancer,
			Selector: map[string]string{"app": name},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP,
				TargetPort: intstr.FromInt32(targetPort)}},
		},
	}
}

// backendService is a NodePort Service an Ingress routes to, labelled kind.
func backendService(name, kind string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: benchNamespace, Name: name, Labels: map[string]string{benchLabel: kind}},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeNodePort,
			Selector: map[string]string{"app": name},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP,
				TargetPort: intstr.FromInt32(8080)}},
		},
	}
}

// albIngress is an internet-facing Ingress routing path /<name> to the backend Service of
// the same name, labelled kind. With a group it is a member of it (order: group.order);
// listenPorts is the listen-ports annotation.
func albIngress(name, kind, group string, order int, listenPorts string) *networkingv1.Ingress {
	prefix := networkingv1.PathTypePrefix
	ann := map[string]string{
		"alb.ingress.kubernetes.io/scheme":       "internet-facing",
		"alb.ingress.kubernetes.io/listen-ports": listenPorts,
	}
	if group != "" {
		ann["alb.ingress.kubernetes.io/group.name"] = group
		ann["alb.ingress.kubernetes.io/group.order"] = fmt.Sprint(order)
	}
	return &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: benchNamespace, Name: name, Labels: map[string]string{benchLabel: kind},
			Annotations: ann},
		Spec: networkingv1.IngressSpec{
			IngressClassName: aws.String(ingressClass),
			Rules: []networkingv1.IngressRule{{IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
				Paths: []networkingv1.HTTPIngressPath{{Path: "/" + name, PathType: &prefix, Backend: networkingv1.IngressBackend{
					Service: &networkingv1.IngressServiceBackend{Name: name, Port: networkingv1.ServiceBackendPort{Number: 80}}}}},
			}}}},
		},
	}
}

// pod is a Pod of an ip-target Service; no kubelet runs, so its IP is set through the
// status subresource as the kubelet would.
func pod(name, app string) *corev1.Pod {
	no := false
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: benchNamespace, Name: name,
			Labels: map[string]string{"app": app, benchLabel: "pod"}},
		Spec: corev1.PodSpec{AutomountServiceAccountToken: &no,
			Containers: []corev1.Container{{Name: "app", Image: "example.invalid/app:1"}}},
	}
}

// endpointSlice lists the Pods (name → IP) as ready endpoints of the Service on port 8080.
func endpointSlice(name, service string, pods map[string]string) *discoveryv1.EndpointSlice {
	ready := true
	s := &discoveryv1.EndpointSlice{
		ObjectMeta: metav1.ObjectMeta{Namespace: benchNamespace, Name: name,
			Labels: map[string]string{discoveryv1.LabelServiceName: service, benchLabel: "slice"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: aws.String("http"), Port: aws.Int32(8080)}},
	}
	for p, ip := range pods {
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{ip},
			TargetRef:  &corev1.ObjectReference{Kind: "Pod", Namespace: benchNamespace, Name: p},
			Conditions: discoveryv1.EndpointConditions{Ready: &ready}})
	}
	return s
}
