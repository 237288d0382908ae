package app

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	fakeclient "sigs.k8s.io/controller-runtime/pkg/client/fake"

	elbv2api "github.com/lbsg/lbsg/api/v1beta1"
)

// An update of an object of a kind the cache trims is refused, the status subresource's
// too: it would erase what the cache dropped. Patches go through, and updates of the kinds
// the cache keeps whole.
func TestTrimmedKindsAreWrittenOnlyByPatch(t *testing.T) {
	ctx := context.Background()
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"}}
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-1"}}
	tgb := &elbv2api.TargetGroupBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"}}
	class := &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "alb"}}
	c := guardTrimmedWrites(fakeclient.NewClientBuilder().WithScheme(Scheme()).WithObjects(svc, ing, pod, tgb, class).
		WithStatusSubresource(svc, ing, pod, tgb).Build())

	for _, obj := range []client.Object{svc, ing, pod, tgb} {
		if err := c.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			t.Fatal(err)
		}
		if err := c.Update(ctx, obj); err == nil || !strings.Contains(err.Error(), "write it with a patch") {
			t.Errorf("update of %T: %v, want refused", obj, err)
		}
		if err := c.Status().Update(ctx, obj); err == nil || !strings.Contains(err.Error(), "(status)") {
			t.Errorf("status update of %T: %v, want refused", obj, err)
		}
		before := obj.DeepCopyObject().(client.Object)
		obj.SetLabels(map[string]string{"patched": "yes"})
		if err := c.Patch(ctx, obj, client.MergeFrom(before)); err != nil {
			t.Errorf("patch of %T: %v", obj, err)
		}
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(class), class); err != nil {
		t.Fatal(err)
	}
	class.Labels = map[string]string{"x": "y"}
	if err := c.Update(ctx, class); err != nil {
		t.Errorf("update of an IngressClass, which the cache keeps whole: %v", err)
	}
}
