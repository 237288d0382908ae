package e2e

import (
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	elbv2api "github.com/lbsg/lbsg/api/v1beta1"
)

// targetTenant is a tenant namespace of a test: the objects it creates there are removed
// (finalizers included) when the test ends. Namespaces outlive tests: the control plane
// runs no namespace controller.
type targetTenant struct {
	h  *harness
	ns string
}

func (h *harness) targetTenant(ns string) *targetTenant {
	h.t.Helper()
	err := h.k8s.Create(h.ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		h.t.Fatalf("create namespace %s: %v", ns, err)
	}
	return &targetTenant{h: h, ns: ns}
}

// create creates obj in the tenant's namespace and removes it when the test ends.
func (tt *targetTenant) create(obj client.Object) {
	h := tt.h
	h.t.Helper()
	obj.SetNamespace(tt.ns)
	h.create(obj)
	h.t.Cleanup(func() {
		if err := h.k8s.Get(h.ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return
		}
		if len(obj.GetFinalizers()) > 0 {
			obj.SetFinalizers(nil)
			_ = h.k8s.Update(h.ctx, obj)
		}
		_ = h.k8s.Delete(h.ctx, obj, client.GracePeriodSeconds(0))
	})
}

// pod creates a Pod with the labels and, through the status subresource as the kubelet
// does, the phase and IP.
func (tt *targetTenant) pod(name string, labels map[string]string, ip string, phase corev1.PodPhase) {
	h := tt.h
	h.t.Helper()
	no := false
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: corev1.PodSpec{AutomountServiceAccountToken: &no, Containers: []corev1.Container{{Name: "app", Image: "example.invalid/app:1"}}}}
	tt.create(p)
	p.Status = corev1.PodStatus{Phase: phase, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}, StartTime: &metav1.Time{Time: time.Now()}}
	if err := h.k8s.Status().Update(h.ctx, p); err != nil {
		h.t.Fatalf("set status of pod %s/%s: %v", tt.ns, name, err)
	}
}

// slice creates an EndpointSlice of the Service, with a ready endpoint on port 8080
// ("http") for each Pod name and IP given as "name=ip". A tenant can write any slice.
func (tt *targetTenant) slice(service string, pods ...string) {
	tt.h.t.Helper()
	ready := true
	s := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Name: service + "-1", Labels: map[string]string{discoveryv1.LabelServiceName: service}},
		AddressType: discoveryv1.AddressTypeIPv4, Ports: []discoveryv1.EndpointPort{{Name: aws.String("http"), Port: aws.Int32(8080)}}}
	for _, p := range pods {
		name, ip, _ := strings.Cut(p, "=")
		s.Endpoints = append(s.Endpoints, discoveryv1.Endpoint{Addresses: []string{ip}, Conditions: discoveryv1.EndpointConditions{Ready: &ready},
			TargetRef: &corev1.ObjectReference{Kind: "Pod", Namespace: tt.ns, Name: name}})
	}
	tt.create(s)
}

// nodePortService creates a NodePort Service selecting app=<name> on port 80 ("http").
func (tt *targetTenant) nodePortService(name string) *corev1.Service {
	tt.h.t.Helper()
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Selector: map[string]string{"app": name},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(8080)}}}}
	tt.create(svc)
	return svc
}

// binding creates a TargetGroupBinding of the Service's port 80.
func (tt *targetTenant) binding(name, service, arn string, mutate func(*elbv2api.TargetGroupBinding)) *elbv2api.TargetGroupBinding {
	tt.h.t.Helper()
	b := &elbv2api.TargetGroupBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: elbv2api.TargetGroupBindingSpec{TargetGroupARN: arn, ServiceRef: elbv2api.ServiceReference{Name: service, Port: intstr.FromInt32(80)}}}
	if mutate != nil {
		mutate(b)
	}
	tt.create(b)
	return b
}

func (tt *targetTenant) get(obj client.Object, name string) {
	tt.h.t.Helper()
	if err := tt.h.k8s.Get(tt.h.ctx, client.ObjectKey{Namespace: tt.ns, Name: name}, obj); err != nil {
		tt.h.t.Fatalf("get %s/%s: %v", tt.ns, name, err)
	}
}

// events returns the notes of the Events about an object of the tenant, by reason.
func (tt *targetTenant) events(kind, name string) map[string][]string {
	tt.h.t.Helper()
	list := &eventsv1.EventList{}
	if err := tt.h.k8s.List(tt.h.ctx, list, client.InNamespace(tt.ns)); err != nil {
		tt.h.t.Fatalf("list events: %v", err)
	}
	out := map[string][]string{}
	for _, e := range list.Items {
		if e.Regarding.Kind == kind && e.Regarding.Name == name {
			out[e.Reason] = append(out[e.Reason], e.Note)
		}
	}
	return out
}

// waitEvent waits for an Event of the reason about the object whose note has every one
// of contains.
func (tt *targetTenant) waitEvent(kind, name, reason string, contains ...string) {
	tt.h.t.Helper()
	tt.h.eventually(fmt.Sprintf("event %s on %s %s/%s containing %q", reason, kind, tt.ns, name, contains), 45*time.Second, func() string {
		for _, m := range tt.events(kind, name)[reason] {
			if containsEvery(m, contains) {
				return ""
			}
		}
		return fmt.Sprint(tt.events(kind, name))
	})
}

func containsEvery(s string, parts []string) bool {
	for _, p := range parts {
		if !strings.Contains(s, p) {
			return false
		}
	}
	return true
}

// ownENI creates an ENI with an SG of its own in the world's first subnet, as a database
// Pod with its own ENI would have, and returns its (primary) IP and the SG.
func (h *harness) ownENI(name string) (ip, sgID string) {
	h.t.Helper()
	g, err := h.ec2.CreateSecurityGroup(h.ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(name),
		Description: aws.String(name), VpcId: aws.String(h.world.VPCID)})
	if err != nil {
		h.t.Fatal(err)
	}
	ni, err := h.ec2.CreateNetworkInterface(h.ctx, &ec2.CreateNetworkInterfaceInput{SubnetId: aws.String(h.world.Subnets[0].ID),
		Groups: []string{aws.ToString(g.GroupId)}, Description: aws.String(name)})
	if err != nil {
		h.t.Fatal(err)
	}
	return aws.ToString(ni.NetworkInterface.PrivateIpAddress), aws.ToString(g.GroupId)
}
