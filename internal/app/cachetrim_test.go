package app

import (
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	elbv2api "github.com/lbsg/lbsg/api/v1beta1"
	"github.com/lbsg/lbsg/internal/controller"
	"github.com/lbsg/lbsg/internal/targets"
)

// bigValue is what a tenant may put in one annotation (the apiserver allows 256 KiB in all).
var bigValue = strings.Repeat("x", 250<<10)

func tenantAnnotations(keep map[string]string) map[string]string {
	out := map[string]string{
		"kubectl.kubernetes.io/last-applied-configuration": bigValue,
		"team.example.com/notes":                           bigValue[:1000],
		"example.com/alb.ingress.kubernetes.io/scheme":     "internet-facing",
	}
	for k, v := range keep {
		out[k] = v
	}
	return out
}

func TestCacheKeepsEveryPodFieldLbsgReads(t *testing.T) {
	now := metav1.Now()
	grace := int64(30)
	in := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-1", UID: "u1", Labels: map[string]string{"app": "web"},
			Annotations:       tenantAnnotations(map[string]string{targets.PodENIAnnotation: "[]"}),
			DeletionTimestamp: &now, DeletionGracePeriodSeconds: &grace, Finalizers: []string{"f"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubelet"}}},
		Spec: corev1.PodSpec{NodeName: "n1", HostNetwork: true, ReadinessGates: []corev1.PodReadinessGate{{ConditionType: "x"}},
			Containers: []corev1.Container{{Name: "c", Image: "big", Env: []corev1.EnvVar{{Name: "A", Value: "B"}},
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}}}},
			Volumes: []corev1.Volume{{Name: "v"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1", PodIPs: []corev1.PodIP{{IP: "10.0.0.1"}},
			HostIP: "10.0.1.1", Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "c"}}},
	}
	got, err := trim(in.DeepCopy())
	if err != nil {
		t.Fatal(err)
	}
	want := in.DeepCopy()
	want.ManagedFields = nil
	want.Annotations = map[string]string{targets.PodENIAnnotation: "[]"}
	want.Spec.Containers = []corev1.Container{{Name: "c", Ports: in.Spec.Containers[0].Ports}}
	want.Spec.Volumes = nil
	want.Status.ContainerStatuses = nil
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("trimmed pod (-want +got):\n%s", diff)
	}
	// The informer may transform an object it transformed before.
	again, err := trim(got)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, again); diff != "" {
		t.Errorf("trimmed twice (-want +got):\n%s", diff)
	}
}

func TestCacheKeepsEveryNodeFieldTargetsAreBuiltFrom(t *testing.T) {
	in := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{"role": "web"}, ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubelet"}},
			Annotations: map[string]string{"node.alpha.kubernetes.io/ttl": "0"}},
		Spec: corev1.NodeSpec{ProviderID: "aws:///us-west-2a/i-1", Taints: []corev1.Taint{{Key: "k", Effect: corev1.TaintEffectNoSchedule}}},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
			Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.1.1"}},
			Images:    []corev1.ContainerImage{{Names: []string{"big"}, SizeBytes: 1 << 30}}},
	}
	got, err := trim(in.DeepCopy())
	if err != nil {
		t.Fatal(err)
	}
	want := in.DeepCopy()
	want.ManagedFields = nil
	want.Annotations = nil
	want.Status.Images = nil
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("trimmed node (-want +got):\n%s", diff)
	}
}

// Services and Ingresses keep every key of lbsg's configuration, the not implemented
// upstream keys it reports included, and lbsg's own condition; what other tools and
// tenants put there is dropped. EndpointSlices keep no annotation, TargetGroupBindings only
// lbsg's. Everything else of these objects is kept, but managed fields.
func TestCacheStripsAnnotationsLbsgNeverReads(t *testing.T) {
	config := map[string]string{
		"service.beta.kubernetes.io/aws-load-balancer-type":                       "external",
		"service.beta.kubernetes.io/aws-load-balancer-listener-attributes.TCP-80": "a=b",
		"service.beta.kubernetes.io/aws-load-balancer-eip-allocations":            "eipalloc-1",
		"service.kubernetes.io/topology-mode":                                     "Auto",
		"alb.ingress.kubernetes.io/actions.redirect":                              "{}",
		"alb.ingress.kubernetes.io/auth-type":                                     "cognito",
		"kubernetes.io/ingress.class":                                             "alb",
		controller.ConditionAnnotation:                                            "{}",
	}
	managed := []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}
	meta := func() metav1.ObjectMeta {
		return metav1.ObjectMeta{Namespace: "shop", Name: "web", Labels: map[string]string{"app": "web"},
			Finalizers: []string{"service.k8s.aws/resources"}, Annotations: tenantAnnotations(config), ManagedFields: managed}
	}
	svc := &corev1.Service{ObjectMeta: meta(), Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}}}
	ing := &networkingv1.Ingress{ObjectMeta: meta(), Spec: networkingv1.IngressSpec{DefaultBackend: &networkingv1.IngressBackend{}}}
	slice := &discoveryv1.EndpointSlice{ObjectMeta: meta(), Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.1"}}}}
	tgb := &elbv2api.TargetGroupBinding{ObjectMeta: meta(), Spec: elbv2api.TargetGroupBindingSpec{TargetGroupARN: "arn:tg"}}
	tgb.Annotations[controller.TGBTargetsAnnotation] = `{"arn":"arn:tg"}`
	class := &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "alb", ManagedFields: managed,
		Annotations: map[string]string{"ingressclass.kubernetes.io/is-default-class": "true", "x.example.com/y": "z"}}}

	for _, c := range []struct {
		name string
		in   interface {
			metav1.Object
			DeepCopyObject() runtime.Object
		}
		want map[string]string
	}{
		{"Service", svc, config},
		{"Ingress", ing, config},
		{"EndpointSlice", slice, nil},
		{"TargetGroupBinding", tgb, map[string]string{controller.ConditionAnnotation: "{}", controller.TGBTargetsAnnotation: `{"arn":"arn:tg"}`}},
		{"IngressClass", class, class.Annotations},
	} {
		got, err := trim(c.in.DeepCopyObject())
		if err != nil {
			t.Fatal(err)
		}
		gotMeta := got.(metav1.Object)
		if diff := cmp.Diff(c.want, gotMeta.GetAnnotations()); diff != "" {
			t.Errorf("%s: annotations (-want +got):\n%s", c.name, diff)
		}
		if gotMeta.GetManagedFields() != nil {
			t.Errorf("%s: managed fields kept", c.name)
		}
		// Apart from annotations and managed fields, the object is whole.
		want := c.in.DeepCopyObject()
		wm := want.(metav1.Object)
		wm.SetAnnotations(gotMeta.GetAnnotations())
		wm.SetManagedFields(nil)
		if !reflect.DeepEqual(want, got) {
			t.Errorf("%s: more than annotations and managed fields trimmed:\n%s", c.name, cmp.Diff(want, got))
		}
	}
}
