package app

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestCacheKeepsEveryPodFieldIPTargetsAreBuiltFrom(t *testing.T) {
	now := metav1.Now()
	in := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-1", UID: "u1", Labels: map[string]string{"app": "web"},
			Annotations: map[string]string{"vpc.amazonaws.com/pod-eni": "[]"}, DeletionTimestamp: &now, Finalizers: []string{"f"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubelet"}}},
		Spec: corev1.PodSpec{NodeName: "n1", HostNetwork: true, ReadinessGates: []corev1.PodReadinessGate{{ConditionType: "x"}},
			Containers: []corev1.Container{{Name: "c", Image: "big", Env: []corev1.EnvVar{{Name: "A", Value: "B"}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1", PodIPs: []corev1.PodIP{{IP: "10.0.0.1"}},
			HostIP: "10.0.1.1", Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "c"}}},
	}
	got, err := trimPod(in.DeepCopy())
	if err != nil {
		t.Fatal(err)
	}
	want := in.DeepCopy()
	want.ManagedFields = nil
	want.Spec.Containers = nil
	want.Status.ContainerStatuses = nil
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("trimmed pod (-want +got):\n%s", diff)
	}
}

func TestCacheKeepsEveryNodeFieldTargetsAreBuiltFrom(t *testing.T) {
	in := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{"role": "web"}, ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubelet"}}},
		Spec:       corev1.NodeSpec{ProviderID: "aws:///us-west-2a/i-1", Taints: []corev1.Taint{{Key: "k", Effect: corev1.TaintEffectNoSchedule}}},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
			Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.1.1"}},
			Images:    []corev1.ContainerImage{{Names: []string{"big"}, SizeBytes: 1 << 30}}},
	}
	got, err := trimNode(in.DeepCopy())
	if err != nil {
		t.Fatal(err)
	}
	want := in.DeepCopy()
	want.ManagedFields = nil
	want.Status.Images = nil
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("trimmed node (-want +got):\n%s", diff)
	}
}

func TestCacheTrimLeavesOtherKindsAlone(t *testing.T) {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "s"}}
	for name, f := range map[string]func(any) (any, error){"pod": trimPod, "node": trimNode} {
		if got, _ := f(svc); got != any(svc) {
			t.Errorf("%s transform changed a Service", name)
		}
	}
}
