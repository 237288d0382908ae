package v1beta1_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbsg/lbsg/api/v1beta1"
	"github.com/lbsg/lbsg/internal/localenv"
)

// TestCRD installs config/crd into a real kube-apiserver and reads and writes
// IngressClassParams through it. Without the control plane binaries it fails, saying how
// to get them.
func TestCRD(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	sch := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(sch); err != nil {
		t.Fatal(err)
	}
	if err := v1beta1.AddToScheme(sch); err != nil {
		t.Fatal(err)
	}
	cp, err := localenv.StartControlPlane(ctx, localenv.ControlPlaneOptions{
		CRDDirectoryPaths: []string{filepath.Join("..", "..", "config", "crd")},
		Scheme:            sch,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cp.Stop(); err != nil {
			t.Errorf("stopping the control plane: %v", err)
		}
	})
	c := cp.Client

	t.Run("ClusterScopedNames", func(t *testing.T) {
		mapping, err := c.RESTMapper().RESTMapping(v1beta1.GroupVersion.WithKind("IngressClassParams").GroupKind(), "v1beta1")
		if err != nil {
			t.Fatal(err)
		}
		if mapping.Resource.Resource != "ingressclassparams" || mapping.Scope.Name() != "root" {
			t.Errorf("resource %s scope %s, want ingressclassparams and root (cluster)", mapping.Resource, mapping.Scope.Name())
		}
	})

	t.Run("TypedRoundTrip", func(t *testing.T) {
		in := fullParams()
		in.TypeMeta = metav1.TypeMeta{}
		if err := c.Create(ctx, in); err != nil {
			t.Fatal(err)
		}
		var got v1beta1.IngressClassParams
		if err := c.Get(ctx, client.ObjectKey{Name: in.Name}, &got); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(fullParams().Spec, got.Spec); d != "" {
			t.Errorf("spec read back (-want +got):\n%s", d)
		}
		var list v1beta1.IngressClassParamsList
		if err := c.List(ctx, &list); err != nil {
			t.Fatal(err)
		}
		if len(list.Items) != 1 || list.Items[0].Name != in.Name {
			t.Errorf("List: %d items, want only %s", len(list.Items), in.Name)
		}
	})

	t.Run("UnknownFieldsSurvive", func(t *testing.T) {
		u := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "elbv2.k8s.aws/v1beta1",
			"kind":       "IngressClassParams",
			"metadata":   map[string]any{"name": "upstream"},
			"spec": map[string]any{
				"scheme":         "internal",
				"PrefixListsIDs": []any{"pl-legacy"},
				"sslPolicy":      "ELBSecurityPolicy-TLS13-1-2-2021-06",
				"loadBalancerAttributes": []any{
					map[string]any{"key": "idle_timeout.timeout_seconds", "value": "120"},
				},
			},
		}}
		if err := c.Create(ctx, u); err != nil {
			t.Fatal(err)
		}

		var got v1beta1.IngressClassParams
		if err := c.Get(ctx, client.ObjectKey{Name: "upstream"}, &got); err != nil {
			t.Fatal(err)
		}
		// loadBalancerAttributes, in upstream's shape, is read into the typed field.
		want := v1beta1.IngressClassParamsSpec{Scheme: new("internal"), PrefixListsIDsLegacy: []string{"pl-legacy"},
			LoadBalancerAttributes: []v1beta1.Attribute{{Key: "idle_timeout.timeout_seconds", Value: "120"}},
			SSLPolicy:              "ELBSecurityPolicy-TLS13-1-2-2021-06"}
		if d := cmp.Diff(want, got.Spec); d != "" {
			t.Errorf("typed spec (-want +got):\n%s", d)
		}
		if got := got.Spec.PrefixLists(); !cmp.Equal(got, []string{"pl-legacy"}) {
			t.Errorf("PrefixLists() = %v, want [pl-legacy]", got)
		}

		back := &unstructured.Unstructured{}
		back.SetGroupVersionKind(v1beta1.GroupVersion.WithKind("IngressClassParams"))
		if err := c.Get(ctx, client.ObjectKey{Name: "upstream"}, back); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(u.Object["spec"], back.Object["spec"], cmpopts.EquateEmpty()); d != "" {
			t.Errorf("stored spec (-written +read):\n%s", d)
		}
	})

	t.Run("Validation", func(t *testing.T) {
		for _, tc := range []struct {
			name, field string
			spec        map[string]any
		}{
			{"bad-scheme", "spec.scheme", map[string]any{"scheme": "public"}},
			{"bad-ip-type", "spec.ipAddressType", map[string]any{"ipAddressType": "ipv6"}},
			{"tag-without-value", "spec.tags[0].value", map[string]any{"tags": []any{map[string]any{"key": "k"}}}},
		} {
			u := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "elbv2.k8s.aws/v1beta1",
				"kind":       "IngressClassParams",
				"metadata":   map[string]any{"name": tc.name},
				"spec":       tc.spec,
			}}
			err := c.Create(ctx, u)
			if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), tc.field) {
				t.Errorf("creating %s with spec %v: %v, want an Invalid error naming %s", tc.name, tc.spec, err, tc.field)
			}
		}
		for _, v := range []string{"ipv4", "dualstack", "dualstack-without-public-ipv4"} {
			p := &v1beta1.IngressClassParams{
				ObjectMeta: metav1.ObjectMeta{Name: "ip-" + v},
				Spec:       v1beta1.IngressClassParamsSpec{IPAddressType: new(v), Scheme: new(v1beta1.SchemeInternal)},
			}
			if err := c.Create(ctx, p); err != nil {
				t.Errorf("ipAddressType %s: %v", v, err)
			}
		}
	})

	// Upstream's webhook keeps these fields as they were created; the CRD does it with
	// validation rules, so that a binding's target group cannot be swapped under the
	// targets lbsg registered for it.
	t.Run("TargetGroupBindingImmutableFields", func(t *testing.T) {
		ip, instance, ipv4 := "ip", "instance", "ipv4"
		b := &v1beta1.TargetGroupBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web"},
			Spec: v1beta1.TargetGroupBindingSpec{TargetGroupARN: "arn:aws:elasticloadbalancing:us-west-2:1:targetgroup/web/1",
				ServiceRef: v1beta1.ServiceReference{Name: "web", Port: intstr.FromInt32(80)}}}
		if err := c.Create(ctx, b); err != nil {
			t.Fatal(err)
		}
		// Fields absent at creation may be set once.
		b.Spec.TargetType, b.Spec.IPAddressType, b.Spec.VpcID = &ip, &ipv4, "vpc-1"
		if err := c.Update(ctx, b); err != nil {
			t.Fatalf("setting targetType, ipAddressType and vpcID: %v", err)
		}
		for _, tc := range []struct {
			field  string
			mutate func(*v1beta1.TargetGroupBinding)
		}{
			{"spec.targetGroupARN", func(b *v1beta1.TargetGroupBinding) {
				b.Spec.TargetGroupARN = "arn:aws:elasticloadbalancing:us-west-2:1:targetgroup/other/2"
			}},
			{"spec.targetType", func(b *v1beta1.TargetGroupBinding) { b.Spec.TargetType = &instance }},
			{"spec.vpcID", func(b *v1beta1.TargetGroupBinding) { b.Spec.VpcID = "vpc-2" }},
		} {
			changed := b.DeepCopy()
			tc.mutate(changed)
			err := c.Update(ctx, changed)
			if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), tc.field+" is immutable") {
				t.Errorf("changing %s: %v, want an Invalid error saying it is immutable", tc.field, err)
			}
		}
	})
}
