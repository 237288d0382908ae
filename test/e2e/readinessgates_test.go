package e2e

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/lbsg/lbsg/internal/app"
	"github.com/lbsg/lbsg/internal/controller"
	"github.com/lbsg/lbsg/internal/localenv"
	"github.com/lbsg/lbsg/internal/readiness"
)

// startWithPodWebhook runs lbsg with its Pod webhook served on loopback under a fresh
// certificate, registers it with the API server for namespaces labelled for injection,
// and labels the default namespace; all of it is undone when the test ends.
func (h *harness) startWithPodWebhook(args ...string) {
	h.t.Helper()
	wio := &envtest.WebhookInstallOptions{LocalServingHost: "127.0.0.1"}
	if err := wio.PrepWithoutInstalling(); err != nil {
		h.t.Fatalf("webhook certificate: %v", err)
	}
	h.t.Cleanup(func() { _ = wio.Cleanup() })
	url := fmt.Sprintf("https://127.0.0.1:%d%s", wio.LocalServingPort, controller.PodGatePath)
	fail, none := admissionregistrationv1.Fail, admissionregistrationv1.SideEffectClassNone
	cfg := &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "lbsg-e2e-pod-gates"},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name:                    "mpod.elbv2.k8s.aws",
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: wio.LocalServingCAData},
			Rules:                   []admissionregistrationv1.RuleWithOperations{{Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create}, Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}}}},
			NamespaceSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{readiness.InjectLabel: readiness.InjectEnabled}},
			FailurePolicy:           &fail,
			SideEffects:             &none,
			AdmissionReviewVersions: []string{"v1"},
		}},
	}
	h.create(cfg)
	h.t.Cleanup(func() { _ = h.k8s.Delete(h.ctx, cfg) })
	h.labelDefaultNamespace(readiness.InjectEnabled)
	h.t.Cleanup(func() { h.labelDefaultNamespace("") })
	h.startControllerWith(app.RunOptions{WebhookHost: "127.0.0.1"}, append([]string{
		"--webhook-cert-dir=" + wio.LocalServingCertDir, "--webhook-bind-port=" + strconv.Itoa(wio.LocalServingPort)}, args...)...)
}

func (h *harness) labelDefaultNamespace(value string) {
	h.t.Helper()
	ns := &corev1.Namespace{}
	if err := h.k8s.Get(h.ctx, client.ObjectKey{Name: "default"}, ns); err != nil {
		h.t.Fatal(err)
	}
	if ns.Labels == nil {
		ns.Labels = map[string]string{}
	}
	if value == "" {
		delete(ns.Labels, readiness.InjectLabel)
	} else {
		ns.Labels[readiness.InjectLabel] = value
	}
	if err := h.k8s.Update(h.ctx, ns); err != nil {
		h.t.Fatal(err)
	}
}

// gatedPod creates a Pod as h.pod does, retrying while the webhook server starts (the
// webhook fails closed), and returns it as created.
func (h *harness) gatedPod(name string, labels map[string]string, ip string) *corev1.Pod {
	h.t.Helper()
	var p *corev1.Pod
	h.eventually("the Pod webhook to answer", 30*time.Second, func() string {
		p = &corev1.Pod{}
		if err := h.k8s.Get(h.ctx, client.ObjectKey{Namespace: "default", Name: name}, p); err == nil {
			return ""
		}
		no := false
		p = &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Labels: labels},
			Spec: corev1.PodSpec{AutomountServiceAccountToken: &no, Containers: []corev1.Container{{Name: "app", Image: "example.invalid/app:1"}}}}
		if err := h.k8s.Create(h.ctx, p); err != nil {
			return err.Error()
		}
		return ""
	})
	h.t.Cleanup(func() { _ = h.k8s.Delete(h.ctx, p, client.GracePeriodSeconds(0)) })
	p.Status.Phase = corev1.PodRunning
	if ip != "" {
		p.Status.PodIPs, p.Status.PodIP = []corev1.PodIP{{IP: ip}}, ip
	}
	if err := h.k8s.Status().Update(h.ctx, p); err != nil {
		h.t.Fatalf("set IP of pod %s: %v", name, err)
	}
	return p
}

// setContainersReady sets the Pod's ContainersReady condition, as the kubelet does.
func (h *harness) setContainersReady(name string, ready bool) {
	h.t.Helper()
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	for i := 0; i < 5; i++ {
		p := h.getPod(name)
		found := false
		for j := range p.Status.Conditions {
			if p.Status.Conditions[j].Type == corev1.ContainersReady {
				p.Status.Conditions[j].Status, found = status, true
			}
		}
		if !found {
			p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: corev1.ContainersReady, Status: status, LastTransitionTime: metav1.Now()})
		}
		if err := h.k8s.Status().Update(h.ctx, p); err == nil {
			return
		}
	}
	h.t.Fatalf("could not set ContainersReady of %s", name)
}

func (h *harness) getPod(name string) *corev1.Pod {
	h.t.Helper()
	p := &corev1.Pod{}
	if err := h.k8s.Get(h.ctx, client.ObjectKey{Namespace: "default", Name: name}, p); err != nil {
		h.t.Fatal(err)
	}
	return p
}

func gateCondition(p *corev1.Pod, tg string) string {
	for _, c := range p.Status.Conditions {
		if c.Type == readiness.ConditionType(tg) {
			return fmt.Sprintf("%s %s", c.Status, c.Reason)
		}
	}
	return "absent"
}

func gatesOf(p *corev1.Pod) []string {
	var out []string
	for _, g := range p.Spec.ReadinessGates {
		out = append(out, string(g.ConditionType))
	}
	return out
}

// Seed issue 9 §5: in a namespace labelled for injection, a new Pod of an ip-target NLB
// Service gets the target group's readiness gate; lbsg registers it while its gate holds
// it unready (or it could never become healthy) and turns the gate True once the target is
// healthy. A gated Pod whose containers are not ready is not registered and its gate says
// why; a Pod no ip target group selects gets no gate.
func TestPodReadinessGatesHoldPodsUntilTheirTargetIsHealthy(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{Nodes: 1})
	h.startWithPodWebhook()
	h.create(webserver("gated", map[string]string{"service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip"}))
	h.waitHostname("gated")
	lbs := h.loadBalancers()
	if len(lbs) != 1 {
		t.Fatalf("%d load balancers, want 1", len(lbs))
	}
	tg := h.targetGroupOfLB(aws.ToString(lbs[0].LoadBalancerArn))
	gate := string(readiness.ConditionType(aws.ToString(tg.TargetGroupName)))

	ips := h.podIPs(2)
	ready := h.gatedPod("web-ready", map[string]string{"role": "webserver"}, ips[0])
	waiting := h.gatedPod("web-waiting", map[string]string{"role": "webserver"}, ips[1])
	other := h.gatedPod("batch", map[string]string{"role": "batch"}, "")
	for _, p := range []*corev1.Pod{ready, waiting} {
		if g := gatesOf(p); len(g) != 1 || g[0] != gate {
			t.Fatalf("readiness gates of %s = %v, want [%s]", p.Name, g, gate)
		}
	}
	if g := gatesOf(other); len(g) != 0 {
		t.Errorf("a Pod no Service selects got gates %v", g)
	}

	// The endpoint controller lists both Pods as not ready: their gate is not True yet.
	notReady := false
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Namespace: "default", Name: "gated-1", Labels: map[string]string{discoveryv1.LabelServiceName: "gated"}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: aws.String("http"), Port: aws.Int32(80)}},
		Endpoints: []discoveryv1.Endpoint{
			{Addresses: []string{ips[0]}, TargetRef: podRef("web-ready"), Conditions: discoveryv1.EndpointConditions{Ready: &notReady}},
			{Addresses: []string{ips[1]}, TargetRef: podRef("web-waiting"), Conditions: discoveryv1.EndpointConditions{Ready: &notReady}},
		},
	}
	h.create(slice)
	t.Cleanup(func() { _ = h.k8s.Delete(h.ctx, slice) })
	h.setContainersReady("web-ready", true)
	h.setContainersReady("web-waiting", false)

	name := aws.ToString(tg.TargetGroupName)
	h.waitTargetsAndGates("the Pod with ready containers registered, its gate True", tg.TargetGroupArn, name,
		[]string{ips[0] + ":80"}, map[string]string{"web-ready": "True Healthy", "web-waiting": "False Target.NotRegistered"})

	// Its containers become ready: it is registered, and its gate turns True.
	h.setContainersReady("web-waiting", true)
	h.waitTargetsAndGates("the second Pod registered, its gate True", tg.TargetGroupArn, name,
		[]string{ips[0] + ":80", ips[1] + ":80"}, map[string]string{"web-ready": "True Healthy", "web-waiting": "True Healthy"})
}

// waitTargetsAndGates waits until the target group holds exactly targets and each Pod's
// gate of the group reads as gates says ("<status> <reason>").
func (h *harness) waitTargetsAndGates(what string, arn *string, group string, targets []string, gates map[string]string) {
	h.t.Helper()
	h.eventually(what, 60*time.Second, func() string {
		if got := h.registeredTargets(arn); strings.Join(got, ",") != strings.Join(targets, ",") {
			return fmt.Sprintf("targets %v, want %v", got, targets)
		}
		for pod, want := range gates {
			if c := gateCondition(h.getPod(pod), group); c != want {
				return fmt.Sprintf("gate of %s: %s, want %s", pod, c, want)
			}
		}
		return ""
	})
}
