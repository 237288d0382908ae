package main

import (
	"context"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbsg/lbsg/internal/localenv"
	"github.com/lbsg/lbsg/internal/preflight"
)

// TestPreflightFindsUpstreamHazards runs `lbsg preflight` against a real kube-apiserver and
// the AWS emulator: upstream's leftover webhook configuration, its Helm-owned IngressClass
// and a TargetGroupBinding with upstream's finalizer are each reported with what to do,
// the command exits 1 while one fails and 0 once they are dealt with.
func TestPreflightFindsUpstreamHazards(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel) // after the processes localWorld started have stopped
	moto, plane, world := localWorld(ctx, t, "pf-cluster")
	c := plane.Client
	args := []string{"preflight", "--cluster-name=pf-cluster", "--aws-region=" + localenv.Region, "--aws-vpc-id=" + world.VPCID,
		"--aws-max-retries=0", "--aws-api-endpoints=EC2=" + moto.Endpoint + ",Elastic Load Balancing v2=" + moto.Endpoint}

	// Upstream's leftovers after its Deployment was scaled to 0: the webhook matches
	// nothing here, so it does not disturb the test's own writes.
	fail := admissionv1.Fail
	none := admissionv1.SideEffectClassNone
	webhook := &admissionv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "aws-load-balancer-webhook"},
		Webhooks: []admissionv1.ValidatingWebhook{{Name: "vingress.elbv2.k8s.aws", FailurePolicy: &fail, SideEffects: &none,
			AdmissionReviewVersions: []string{"v1"}, ClientConfig: admissionv1.WebhookClientConfig{Service: &admissionv1.ServiceReference{
				Namespace: "kube-system", Name: preflight.UpstreamWebhookService}}}}}
	zero := int32(0)
	labels := map[string]string{"app.kubernetes.io/name": "aws-load-balancer-controller"}
	deploy := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "aws-load-balancer-controller"},
		Spec: appsv1.DeploymentSpec{Replicas: &zero, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: corev1.PodSpec{Containers: []corev1.Container{{
				Name: "controller", Image: "public.ecr.aws/eks/aws-load-balancer-controller:v2.8.1"}}}}}}
	class := &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "alb",
		Labels:      map[string]string{"app.kubernetes.io/managed-by": "Helm"},
		Annotations: map[string]string{"meta.helm.sh/release-name": "aws-load-balancer-controller", "meta.helm.sh/release-namespace": "kube-system"}},
		Spec: networkingv1.IngressClassSpec{Controller: preflight.ALBController}}
	for _, o := range []client.Object{webhook, deploy, class} {
		if err := c.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}

	out, code, err := runLbsg(ctx, args...)
	if code != 1 {
		t.Fatalf("exit status %d (%v), want 1:\n%s", code, err, out)
	}
	for _, want := range []string{
		"FAIL  upstream webhooks: validatingwebhookconfiguration/aws-load-balancer-webhook present",
		"kubectl delete validatingwebhookconfiguration/aws-load-balancer-webhook",
		"WARN  upstream controller: upstream's Deployment is scaled to 0: kube-system/aws-load-balancer-controller",
		"OK    TargetGroupBindings: CRD not installed: nothing to do",
		"FAIL  IngressClass: IngressClass alb is owned by Helm release \"aws-load-balancer-controller\"",
		"kubectl annotate ingressclass alb helm.sh/resource-policy=keep",
		"OK    RBAC:",
		"OK    controller flags: valid",
		"OK    AWS:",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("preflight output lacks %q:\n%s", want, out)
		}
	}

	// The runbook's fixes: delete the webhook, keep the class.
	if err := c.Delete(ctx, webhook); err != nil {
		t.Fatal(err)
	}
	class.Annotations["helm.sh/resource-policy"] = "keep"
	if err := c.Update(ctx, class); err != nil {
		t.Fatal(err)
	}
	out, code, err = runLbsg(ctx, args...)
	if code != 0 {
		t.Fatalf("after the fixes: exit status %d (%v), want 0:\n%s", code, err, out)
	}

	// A TargetGroupBinding a user wrote, with upstream's finalizer, under a minimal CRD.
	installTGBCRD(ctx, t, c)
	tgb := &unstructured.Unstructured{}
	tgb.SetGroupVersionKind(tgbGVK)
	tgb.SetNamespace("default")
	tgb.SetName("legacy")
	tgb.SetFinalizers([]string{preflight.TGBFinalizer})
	if err := c.Create(ctx, tgb); err != nil {
		t.Fatal(err)
	}
	out, code, err = runLbsg(ctx, args...)
	if code != 1 || !strings.Contains(out, "FAIL  TargetGroupBindings: 1 TargetGroupBinding(s) not made by upstream") ||
		!strings.Contains(out, "default/legacy") {
		t.Errorf("a user's TargetGroupBinding: exit status %d (%v), want 1 and a FAIL naming default/legacy:\n%s", code, err, out)
	}

	// An unprivileged identity lacks lbsg's RBAC.
	out, _, _ = runLbsg(ctx, append(args, "--rbac-as=system:serviceaccount:default:nobody", "--skip-aws")...)
	if !strings.Contains(out, "FAIL  RBAC: the identity may not: list services") {
		t.Errorf("an identity without RBAC passed:\n%s", out)
	}
	if testing.Verbose() {
		t.Log(out)
	}
}

// installTGBCRD installs a schemaless TargetGroupBinding CRD (upstream's shape is not
// needed: preflight reads only metadata) and waits until it is served.
func installTGBCRD(ctx context.Context, t *testing.T, c client.Client) {
	t.Helper()
	crd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]any{"name": "targetgroupbindings.elbv2.k8s.aws"},
		"spec": map[string]any{
			"group": "elbv2.k8s.aws", "scope": "Namespaced",
			"names": map[string]any{"plural": "targetgroupbindings", "singular": "targetgroupbinding",
				"kind": "TargetGroupBinding", "listKind": "TargetGroupBindingList"},
			"versions": []any{map[string]any{"name": "v1beta1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}},
		}}}
	if err := c.Create(ctx, crd); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var l unstructured.UnstructuredList
		l.SetGroupVersionKind(tgbGVK.GroupVersion().WithKind("TargetGroupBindingList"))
		err := c.List(ctx, &l)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the TargetGroupBinding CRD is not served after 30s: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
