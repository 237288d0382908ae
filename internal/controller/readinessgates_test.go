package controller

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	fakeclient "sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	elbv2api "github.com/lbsg/lbsg/api/v1beta1"
	"github.com/lbsg/lbsg/internal/readiness"
	"github.com/lbsg/lbsg/internal/spec"
)

const nlbTargetType = "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type"

func ipService(name string, selector map[string]string) *corev1.Service {
	s := nlbService(name)
	s.Annotations = map[string]string{nlbTargetType: "ip"}
	s.Spec.Selector = selector
	return s
}

// tgNames are the names of the stack's ip target groups of Service svc, as spec builds them.
func tgNames(t *testing.T, e *Engine, svc *corev1.Service) []string {
	t.Helper()
	st, problems := spec.BuildService(svc, e.Settings, spec.ServiceFacts{})
	if len(problems) > 0 {
		t.Fatalf("build %s: %v", svc.Name, problems)
	}
	var out []string
	for _, g := range stackGates(st) {
		out = append(out, g.gate)
	}
	return out
}

func TestGateNamesAreTheIPTargetGroupsThatSelectThePod(t *testing.T) {
	w := newStackWorld(t)
	sch := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(sch); err != nil {
		t.Fatal(err)
	}
	if err := elbv2api.AddToScheme(sch); err != nil {
		t.Fatal(err)
	}
	app := map[string]string{"app": "web"}
	gatedSvc := ipService("web-ip", app)
	instanceSvc := nlbService("web-instance")
	instanceSvc.Spec.Selector = app
	otherSvc := ipService("other-ip", map[string]string{"app": "other"})
	noSelector := ipService("manual", nil)
	backend := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, Selector: app,
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}}}}
	ing := w.albIngress("shop", "")
	ing.Annotations["alb.ingress.kubernetes.io/target-type"] = "ip"
	ip, instance := elbv2api.TargetTypeIP, elbv2api.TargetTypeInstance
	binding := func(name string, tt *string) *elbv2api.TargetGroupBinding {
		return &elbv2api.TargetGroupBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name},
			Spec: elbv2api.TargetGroupBindingSpec{TargetGroupARN: "arn:tg/" + name, TargetType: tt,
				ServiceRef: elbv2api.ServiceReference{Name: "web"}}}
	}
	class := &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "alb"},
		Spec: networkingv1.IngressClassSpec{Controller: "ingress.k8s.aws/alb"}}
	kube := fakeclient.NewClientBuilder().WithScheme(sch).WithObjects(gatedSvc, instanceSvc, otherSvc, noSelector, backend, ing, class,
		binding("tgb-ip", &ip), binding("tgb-instance", &instance), binding("tgb-untyped", nil)).Build()

	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-1", Labels: app}}
	got, err := w.eng.GateNames(w.ctx, kube, pod, CRDs{}, true)
	if err != nil {
		t.Fatal(err)
	}
	ingStack, problems := spec.BuildIngressGroup(spec.IngressGroupID{Namespace: "shop", Name: "shop"},
		[]spec.IngressMember{{Ingress: ing}}, w.eng.Settings, spec.IngressFacts{Services: map[string]*corev1.Service{"shop/web": backend}, CertificatesUnknown: true})
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	want := append(tgNames(t, w.eng, gatedSvc), "tgb-ip")
	for _, g := range stackGates(ingStack) {
		want = append(want, g.gate)
	}
	if len(want) != 3 {
		t.Fatalf("test setup: want %v", want)
	}
	if diff := cmp.Diff(slices.Sorted(slices.Values(want)), got); diff != "" {
		t.Errorf("gates (-want +got):\n%s", diff)
	}

	lonely := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "batch", Labels: map[string]string{"app": "batch"}}}
	if got, err := w.eng.GateNames(w.ctx, kube, lonely, CRDs{}, true); err != nil || len(got) != 0 {
		t.Errorf("a Pod no Service selects: gates %v, %v", got, err)
	}
	elsewhere := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "other", Name: "web-1", Labels: app}}
	if got, err := w.eng.GateNames(w.ctx, kube, elsewhere, CRDs{}, true); err != nil || len(got) != 0 {
		t.Errorf("a Pod of another namespace: gates %v, %v", got, err)
	}
}

// gatedWorld is a stackWorld whose kube client has Pod status (for gate conditions).
func gatedWorld(t *testing.T) *stackWorld {
	w := newStackWorld(t)
	w.kube = fakeclient.NewClientBuilder().WithScheme(clientgoscheme.Scheme).
		WithStatusSubresource(&corev1.Service{}, &networkingv1.Ingress{}, &corev1.Pod{}).Build()
	w.svcs.Client = w.kube
	w.ings.Client = w.kube
	return w
}

func (w *stackWorld) gatedPod(name, ip, gate string, containersReady bool) {
	w.t.Helper()
	status := corev1.ConditionFalse
	if containersReady {
		status = corev1.ConditionTrue
	}
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name, Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{ReadinessGates: []corev1.PodReadinessGate{{ConditionType: readiness.ConditionType(gate)}}}}
	w.create(p)
	p.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIPs: []corev1.PodIP{{IP: ip}}, PodIP: ip,
		Conditions: []corev1.PodCondition{{Type: corev1.ContainersReady, Status: status}}}
	if err := w.kube.Status().Update(w.ctx, p); err != nil {
		w.t.Fatal(err)
	}
}

func (w *stackWorld) gate(pod, gate string) string {
	w.t.Helper()
	p := &corev1.Pod{}
	if err := w.kube.Get(w.ctx, client.ObjectKey{Namespace: "shop", Name: pod}, p); err != nil {
		w.t.Fatal(err)
	}
	for _, c := range p.Status.Conditions {
		if c.Type == readiness.ConditionType(gate) {
			return string(c.Status) + " " + c.Reason
		}
	}
	return "absent"
}

// A gated Pod with ready containers is registered although its endpoint is not Ready, and
// its gate follows its target's health; one whose containers are not ready is not
// registered. While a gate is not True the reconcile comes back in GateRecheck; once all
// are True, target health is no longer read.
func TestReadinessGatesFollowTargetHealth(t *testing.T) {
	w := gatedWorld(t)
	svc := ipService("web", map[string]string{"app": "web"})
	w.create(svc)
	gate := tgNames(t, w.eng, svc)[0]
	w.gatedPod("web-1", "10.0.0.11", gate, true)
	w.gatedPod("web-2", "10.0.0.12", gate, true)
	w.gatedPod("web-3", "10.0.0.13", gate, false)
	notReady := false
	port := int32(80)
	name := "http"
	w.create(&discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "shop", Name: "web-1", Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: &name, Port: &port}},
		Endpoints: []discoveryv1.Endpoint{
			{Addresses: []string{"10.0.0.11"}, TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: "web-1"}, Conditions: discoveryv1.EndpointConditions{Ready: &notReady}},
			{Addresses: []string{"10.0.0.12"}, TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: "web-2"}, Conditions: discoveryv1.EndpointConditions{Ready: &notReady}},
			{Addresses: []string{"10.0.0.13"}, TargetRef: &corev1.ObjectReference{Kind: "Pod", Name: "web-3"}, Conditions: discoveryv1.EndpointConditions{Ready: &notReady}},
		},
	})
	w.elbv.SetTargetHealth("10.0.0.12", elbtypes.TargetHealth{State: elbtypes.TargetHealthStateEnumInitial,
		Reason: elbtypes.TargetHealthReasonEnumRegistrationInProgress})

	res := w.reconcileService("web")
	if res.RequeueAfter != GateRecheck {
		t.Errorf("RequeueAfter = %v with Pods waiting, want %v", res.RequeueAfter, GateRecheck)
	}
	for pod, want := range map[string]string{"web-1": "True Healthy", "web-2": "False Elb.RegistrationInProgress", "web-3": "False Target.NotRegistered"} {
		if got := w.gate(pod, gate); got != want {
			t.Errorf("gate of %s = %q, want %q", pod, got, want)
		}
	}
	tgs, err := w.eng.ELB.TargetGroups(w.ctx, true)
	if err != nil || len(tgs) != 1 {
		t.Fatalf("target groups: %v %v", tgs, err)
	}
	got, err := w.eng.ELB.Targets(w.ctx, tgs[0].ARN)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "10.0.0.11" || got[1].ID != "10.0.0.12" {
		t.Errorf("targets = %v, want the two Pods with ready containers", got)
	}

	w.elbv.SetTargetHealth("10.0.0.12", elbtypes.TargetHealth{State: elbtypes.TargetHealthStateEnumHealthy})
	p := &corev1.Pod{}
	if err := w.kube.Get(w.ctx, client.ObjectKey{Namespace: "shop", Name: "web-3"}, p); err != nil {
		t.Fatal(err)
	}
	if err := w.kube.Delete(w.ctx, p); err != nil {
		t.Fatal(err)
	}
	w.calls()
	res = w.reconcileService("web")
	if got := w.gate("web-2", gate); got != "True Healthy" {
		t.Errorf("gate of web-2 once healthy = %q", got)
	}
	if res.RequeueAfter == GateRecheck {
		t.Error("no Pod waits: the reconcile must not come back early")
	}
	w.calls()
	w.reconcileService("web")
	if n := w.calls()["DescribeTargetHealth"]; n != 0 {
		t.Errorf("DescribeTargetHealth calls with no Pod waiting = %d, want 0", n)
	}
}

func TestPodGateInjectorPatchesOnlyNewPodsOfLabelledNamespaces(t *testing.T) {
	w := newStackWorld(t)
	sch := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(sch); err != nil {
		t.Fatal(err)
	}
	svc := ipService("web", map[string]string{"app": "web"})
	labelled := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: map[string]string{readiness.InjectLabel: readiness.InjectEnabled}}}
	plain := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "plain"}}
	plainSvc := ipService("web", map[string]string{"app": "web"})
	plainSvc.Namespace = "plain"
	kube := fakeclient.NewClientBuilder().WithScheme(sch).WithObjects(svc, plainSvc, labelled, plain).Build()
	hook := NewPodGateInjector(kube, w.eng, sch, CRDs{}, false)
	gate := string(readiness.ConditionType(tgNames(t, w.eng, svc)[0]))

	review := func(ns string, op admissionv1.Operation) admission.Response {
		raw, err := json.Marshal(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web-1", Labels: map[string]string{"app": "web"}}})
		if err != nil {
			t.Fatal(err)
		}
		return hook.Handle(w.ctx, admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{
			Operation: op, Namespace: ns, Object: runtime.RawExtension{Raw: raw}}})
	}
	res := review("shop", admissionv1.Create)
	if !res.Allowed || len(res.Patches) != 1 || res.Patches[0].Path != "/spec/readinessGates" {
		t.Fatalf("patches = %+v (allowed %v, %v)", res.Patches, res.Allowed, res.Result)
	}
	if b, _ := json.Marshal(res.Patches[0].Value); !strings.Contains(string(b), gate) {
		t.Errorf("patch %s lacks gate %s", b, gate)
	}
	for _, c := range []struct {
		ns string
		op admissionv1.Operation
	}{{"plain", admissionv1.Create}, {"shop", admissionv1.Update}} {
		if res := review(c.ns, c.op); !res.Allowed || len(res.Patches) != 0 {
			t.Errorf("%s %s: patches %+v, allowed %v", c.op, c.ns, res.Patches, res.Allowed)
		}
	}
}
