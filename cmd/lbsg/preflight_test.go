package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/release"
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
	// Upstream's release record, as Helm stores it: its manifest holds the class.
	record := helmRecord(t, "aws-load-balancer-controller", "IngressClass", "alb")
	for _, o := range []client.Object{webhook, deploy, class, record} {
		if err := c.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), record) })

	out, code, err := runLbsg(ctx, args...)
	if code != 1 {
		t.Fatalf("exit status %d (%v), want 1:\n%s", code, err, out)
	}
	for _, want := range []string{
		"FAIL  upstream webhooks: validatingwebhookconfiguration/aws-load-balancer-webhook present",
		"kubectl delete validatingwebhookconfiguration/aws-load-balancer-webhook",
		"WARN  upstream controller: upstream's Deployment is scaled to 0: kube-system/aws-load-balancer-controller",
		"OK    TargetGroupBindings: none",
		"FAIL  IngressClass: the manifest of Helm release kube-system/aws-load-balancer-controller (chart aws-load-balancer-controller) holds IngressClass/alb",
		"kubectl annotate ingressclass/alb helm.sh/resource-policy=keep",
		"OK    RBAC:",
		"OK    controller flags: valid",
		"OK    AWS:",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("preflight output lacks %q:\n%s", want, out)
		}
	}

	// The runbook's fixes: delete the webhook; hand the class over (keep on the live
	// object, upstream's release upgraded without it, lbsg's release as its owner).
	if err := c.Delete(ctx, webhook); err != nil {
		t.Fatal(err)
	}
	class.Annotations["helm.sh/resource-policy"] = "keep"
	if err := c.Update(ctx, class); err != nil {
		t.Fatal(err)
	}
	out, _, _ = runLbsg(ctx, args...)
	if !strings.Contains(out, "FAIL  IngressClass") || !strings.Contains(out, "does not help") {
		t.Errorf("the keep annotation on the live object alone passed:\n%s", out)
	}
	if err := c.Delete(ctx, record); err != nil {
		t.Fatal(err)
	}
	record = helmRecord(t, "aws-load-balancer-controller", "Deployment", "aws-load-balancer-controller")
	if err := c.Create(ctx, record); err != nil {
		t.Fatal(err)
	}
	out, _, _ = runLbsg(ctx, args...)
	if !strings.Contains(out, "WARN  IngressClass") || !strings.Contains(out, "meta.helm.sh/release-name=lbsg") {
		t.Errorf("a class still owned by upstream's release is not reported:\n%s", out)
	}
	class.Annotations["meta.helm.sh/release-name"] = "lbsg"
	if err := c.Update(ctx, class); err != nil {
		t.Fatal(err)
	}
	out, code, err = runLbsg(ctx, args...)
	if code != 0 {
		t.Fatalf("after the fixes: exit status %d (%v), want 0:\n%s", code, err, out)
	}
	if !strings.Contains(out, "OK    Objects lbsg would refuse: lbsg would serve every") {
		t.Errorf("an empty cluster has refusals:\n%s", out)
	}

	// A TargetGroupBinding a user wrote, with upstream's finalizer: lbsg serves it.
	tgb := &unstructured.Unstructured{}
	tgb.SetGroupVersionKind(tgbGVK)
	tgb.SetNamespace("default")
	tgb.SetName("legacy")
	tgb.SetFinalizers([]string{preflight.TGBFinalizer})
	_ = unstructured.SetNestedField(tgb.Object, map[string]any{"targetGroupARN": "arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/legacy/1",
		"serviceRef": map[string]any{"name": "web", "port": int64(80)}}, "spec")
	if err := c.Create(ctx, tgb); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		tgb.SetFinalizers(nil)
		_ = c.Update(context.Background(), tgb)
		_ = c.Delete(context.Background(), tgb)
	})
	out, code, err = runLbsg(ctx, args...)
	if code != 0 || !strings.Contains(out, "OK    TargetGroupBindings: 1 TargetGroupBinding(s) a user wrote (default/legacy): lbsg serves them") {
		t.Errorf("a user's TargetGroupBinding: exit status %d (%v), want 0 and an OK naming default/legacy:\n%s", code, err, out)
	}

	// Two namespaces share an Ingress group, as upstream allows: lbsg would serve only the
	// group's owner, and says so before the switch (a warning: the exit status stays 0).
	for i, ns := range []string{"team-a", "team-b"} {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
		ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web",
			Annotations: map[string]string{"alb.ingress.kubernetes.io/group.name": "shop"}},
			Spec: networkingv1.IngressSpec{IngressClassName: &class.Name, DefaultBackend: &networkingv1.IngressBackend{
				Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}}}}
		if err := c.Create(ctx, ing); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			time.Sleep(1100 * time.Millisecond) // creationTimestamp has a resolution of one second
		}
	}
	out, code, err = runLbsg(ctx, args...)
	if code != 0 || !strings.Contains(out, "WARN  Ingress groups: 1 Ingress(es) would not be served: team-b/web (group shop)") ||
		!strings.Contains(out, "belongs to namespace team-a") {
		t.Errorf("a group shared by two namespaces: exit status %d (%v), want 0 and a WARN naming team-b/web:\n%s", code, err, out)
	}

	// An Ingress that asks for authentication lbsg does not implement yet would not be served
	// (fail closed): preflight names it and the key, from the controller's own plan.
	secure := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "secure",
		Annotations: map[string]string{"alb.ingress.kubernetes.io/auth-type": "cognito"}},
		Spec: networkingv1.IngressSpec{IngressClassName: &class.Name, DefaultBackend: &networkingv1.IngressBackend{
			Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Number: 80}}}}}
	if err := c.Create(ctx, secure); err != nil {
		t.Fatal(err)
	}
	out, code, err = runLbsg(ctx, args...)
	if code != 0 || !strings.Contains(out, "WARN  Objects lbsg would refuse:") || !strings.Contains(out, "team-a/secure") ||
		!strings.Contains(out, "alb.ingress.kubernetes.io/auth-type") {
		t.Errorf("an Ingress lbsg fails closed on: exit status %d (%v), want 0 and a WARN naming team-a/secure and auth-type:\n%s", code, err, out)
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

// helmRecord is the record Helm's Secret storage keeps of a deployed release of upstream's
// chart whose manifest holds one object.
func helmRecord(t *testing.T, name, kind, object string) *corev1.Secret {
	t.Helper()
	manifest := fmt.Sprintf("---\napiVersion: v1\nkind: %s\nmetadata:\n  name: %s\n", kind, object)
	raw, err := json.Marshal(&release.Release{Name: name, Namespace: "kube-system", Version: 1, Manifest: manifest,
		Info:  &release.Info{Status: release.StatusDeployed},
		Chart: &chart.Chart{Metadata: &chart.Metadata{Name: "aws-load-balancer-controller", Version: "3.5.0"}}})
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	_, _ = w.Write(raw)
	_ = w.Close()
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "sh.helm.release.v1." + name + ".v1",
		Labels: map[string]string{"owner": "helm", "name": name, "status": "deployed", "version": "1"}},
		Type: "helm.sh/release.v1", Data: map[string][]byte{"release": []byte(base64.StdEncoding.EncodeToString(gz.Bytes()))}}
}
