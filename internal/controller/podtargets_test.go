package controller

import (
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/lbsg/lbsg/internal/spec"
	"github.com/lbsg/lbsg/internal/targets"
)

// Only addresses of Pods the Service selects become ip targets; a hand-made EndpointSlice
// address (a database's IP) is skipped and named in one notice for the Service.
func TestPodTargetsOnlyFromSelectedPods(t *testing.T) {
	ready := true
	port, name := int32(8080), "http"
	svc := corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "web"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}}}
	pod := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: "web-1", Labels: map[string]string{"app": "web"}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIPs: []corev1.PodIP{{IP: "10.0.1.5"}}}}
	slice := func(n string, eps ...discoveryv1.Endpoint) discoveryv1.EndpointSlice {
		return discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: n, Labels: map[string]string{discoveryv1.LabelServiceName: "web"}},
			AddressType: discoveryv1.AddressTypeIPv4, Ports: []discoveryv1.EndpointPort{{Name: &name, Port: &port}}, Endpoints: eps}
	}
	ep := func(ip string, ref *corev1.ObjectReference) discoveryv1.Endpoint {
		return discoveryv1.Endpoint{Addresses: []string{ip}, TargetRef: ref, Conditions: discoveryv1.EndpointConditions{Ready: &ready}}
	}
	// team's finished job kept 10.0.1.9, which team-b's database has now; team's Pod on a
	// lost node still says Running with 10.0.1.10, which team-b's cache got since.
	other := func(ns, name, ip string, phase corev1.PodPhase) corev1.Pod {
		return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": "web"}},
			Status: corev1.PodStatus{Phase: phase, PodIPs: []corev1.PodIP{{IP: ip}}}}
	}
	pods := []corev1.Pod{pod, other("team", "job", "10.0.1.9", corev1.PodSucceeded), other("team-b", "db", "10.0.1.9", corev1.PodRunning),
		other("team", "stuck", "10.0.1.10", corev1.PodRunning), other("team-b", "cache", "10.0.1.10", corev1.PodRunning)}
	ref := func(name string) *corev1.ObjectReference {
		return &corev1.ObjectReference{Kind: "Pod", Namespace: "team", Name: name}
	}
	objs := ClusterObjects{
		Services: []corev1.Service{svc},
		Pods:     pods,
		Slices: []discoveryv1.EndpointSlice{
			slice("web-real", ep("10.0.1.5", ref("web-1"))),
			slice("web-forged", ep("10.0.3.7", nil), ep("10.0.3.8", ref("web-1")), ep("10.0.1.9", ref("job")), ep("10.0.1.10", ref("stuck"))),
		},
		IPHolders: podsByIP(pods, nil),
	}
	st := &spec.Stack{TargetGroups: []spec.TargetGroup{{ResourceID: "team/web:80", TargetType: spec.TargetIP,
		ServiceNamespace: "team", ServiceName: "web", ServicePortName: "http"}}}
	want, skipped := desiredTargets(st, objs)
	if got := want["team/web:80"]; len(got) != 1 || got[0].ID != "10.0.1.5" || got[0].Port != 8080 {
		t.Errorf("targets = %v, want only 10.0.1.5:8080", got)
	}
	notices := skippedNotices(skipped)
	if len(notices) != 1 {
		t.Fatalf("notices = %v, want one for the Service", notices)
	}
	for _, w := range []string{"team/web", "10.0.3.7 (no targetRef to a Pod)", "10.0.3.8 (not one of the Pod's IPs)",
		"10.0.1.9 (the Pod has finished (phase Succeeded)", "10.0.1.10 (another live Pod of the cluster reports the same IP)"} {
		if !strings.Contains(notices[0].Message, w) {
			t.Errorf("notice %q lacks %q", notices[0].Message, w)
		}
	}

	// The reference check sees every live holder of each address, whatever its namespace,
	// and no finished Pod.
	holders := livePodIPs(objs)
	if got := holders["10.0.1.9"]; len(got) != 1 || got[0].Namespace != "team-b" {
		t.Errorf("live holders of 10.0.1.9 = %v, want team-b's database only", got)
	}
	if got := holders["10.0.1.10"]; len(got) != 2 {
		t.Errorf("live holders of 10.0.1.10 = %v, want both", got)
	}
	// Without the cluster-wide view of an address, it is no target.
	objs.IPHolders = nil
	if want, _ = desiredTargets(st, objs); len(want["team/web:80"]) != 0 {
		t.Errorf("targets without the IP index = %v, want none", want["team/web:80"])
	}
	objs.IPHolders = podsByIP(pods, nil)

	// Without a selector, a Service gets no ip targets, and the notice says why.
	objs.Services[0].Spec.Selector = nil
	want, skipped = desiredTargets(st, objs)
	if len(want["team/web:80"]) != 0 {
		t.Errorf("targets without selector = %v, want none", want["team/web:80"])
	}
	if n := skippedNotices(skipped); len(n) != 1 || !strings.Contains(n[0].Message, "the Service has no selector") {
		t.Errorf("notices = %v", n)
	}
}

// The skipped-endpoints Event stays under the apiserver's 1,024-character limit.
func TestSkippedNoticeFitsAnEvent(t *testing.T) {
	long := strings.Repeat("n", 63)
	var sk []targets.Skipped
	for i := 0; i < 200; i++ {
		sk = append(sk, targets.Skipped{Address: fmt.Sprintf("fd00:1234:5678:9abc:def0:1234:5678:%x", i), Reason: []string{"no targetRef to a Pod", "no such Pod", "not one of the Pod's IPs",
			"the Pod is not selected by the Service", "the Pod is in another namespace", "targetRef is a Node, not a Pod", "hostNetwork Pod, and not an InternalIP of its node"}[i%7]})
	}
	n := skippedNotices(map[string][]targets.Skipped{long + "/" + long: sk})
	if len(n) != 1 || len(n[0].Message) > 1024 {
		t.Errorf("notice of %d characters: %s", len(n[0].Message), n[0].Message)
	}
}
