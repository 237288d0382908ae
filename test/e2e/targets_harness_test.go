package e2e

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// pod creates a Pod with the labels and, through the status subresource as the kubelet
// does, the IPs; it is deleted when the test ends. No kubelet runs, so it stays Pending.
func (h *harness) pod(name string, labels map[string]string, ips []string) *corev1.Pod {
	h.t.Helper()
	no := false
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Labels: labels},
		Spec: corev1.PodSpec{AutomountServiceAccountToken: &no,
			Containers: []corev1.Container{{Name: "app", Image: "example.invalid/app:1"}}},
	}
	h.create(p)
	h.t.Cleanup(func() { _ = h.k8s.Delete(h.ctx, p, client.GracePeriodSeconds(0)) })
	p.Status.Phase = corev1.PodRunning
	for _, ip := range ips {
		p.Status.PodIPs = append(p.Status.PodIPs, corev1.PodIP{IP: ip})
	}
	if len(ips) > 0 {
		p.Status.PodIP = ips[0]
	}
	p.Status.StartTime = &metav1.Time{Time: time.Now()}
	if err := h.k8s.Status().Update(h.ctx, p); err != nil {
		h.t.Fatalf("set IPs of pod %s: %v", name, err)
	}
	return p
}

// podRef is an EndpointSlice targetRef to a Pod of the default namespace.
func podRef(name string) *corev1.ObjectReference {
	return &corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: name}
}
