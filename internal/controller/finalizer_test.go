package controller

import (
	"context"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	fakeclient "sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/lbsg/lbsg/internal/naming"
)

// TestRemoveFinalizerDespiteAStaleCopy: the finalizer comes off a copy read before another
// write changed the object (an update would conflict), and another controller's finalizer
// stays.
func TestRemoveFinalizerDespiteAStaleCopy(t *testing.T) {
	ctx := context.Background()
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web",
		Finalizers: []string{"example.com/keep", naming.ServiceFinalizer}}}
	c := fakeclient.NewClientBuilder().WithScheme(scheme.Scheme).WithObjects(svc).Build()
	stale := &corev1.Service{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(svc), stale); err != nil {
		t.Fatal(err)
	}
	fresh := stale.DeepCopy()
	fresh.Annotations = map[string]string{"example.com/team": "blue"}
	if err := c.Update(ctx, fresh); err != nil {
		t.Fatal(err)
	}
	removed, err := removeFinalizer(ctx, c, stale, naming.ServiceFinalizer)
	if err != nil || !removed {
		t.Fatalf("removeFinalizer = %v, %v; want true, nil", removed, err)
	}
	got := &corev1.Service{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(svc), got); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Finalizers, []string{"example.com/keep"}) || got.Annotations["example.com/team"] != "blue" {
		t.Errorf("finalizers %v, annotations %v; want only example.com/keep and the annotation kept", got.Finalizers, got.Annotations)
	}
	if removed, err := removeFinalizer(ctx, c, got, naming.ServiceFinalizer); removed || err != nil {
		t.Errorf("second removal = %v, %v; want false, nil", removed, err)
	}
}
