package preflight

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func ptr[T any](v T) *T { return &v }

func vwc(name, svc string) admissionv1.ValidatingWebhookConfiguration {
	return admissionv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: name},
		Webhooks: []admissionv1.ValidatingWebhook{{Name: "v.example.com", ClientConfig: admissionv1.WebhookClientConfig{
			Service: &admissionv1.ServiceReference{Namespace: "kube-system", Name: svc}}}}}
}

func mwc(name, svc string) admissionv1.MutatingWebhookConfiguration {
	return admissionv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: name},
		Webhooks: []admissionv1.MutatingWebhook{{Name: "m.example.com", ClientConfig: admissionv1.WebhookClientConfig{
			Service: &admissionv1.ServiceReference{Namespace: "kube-system", Name: svc}}}}}
}

func deploy(name, image string, n int32) appsv1.Deployment {
	return appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: name},
		Spec: appsv1.DeploymentSpec{Replicas: ptr(n), Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "c", Image: image}}}}}}
}

const upstreamImage = "public.ecr.aws/eks/aws-load-balancer-controller:v2.8.1"

func TestWebhooks(t *testing.T) {
	running := []appsv1.Deployment{deploy("aws-load-balancer-controller", upstreamImage, 2)}
	tests := []struct {
		name string
		c    Cluster
		want Status
		says string
	}{
		{"none", Cluster{ValidatingWebhooks: []admissionv1.ValidatingWebhookConfiguration{vwc("cert-manager-webhook", "cert-manager")}}, OK, "no webhook"},
		{"by name, upstream gone", Cluster{MutatingWebhooks: []admissionv1.MutatingWebhookConfiguration{mwc("aws-load-balancer-webhook", "x")}}, Fail,
			"mutatingwebhookconfiguration/aws-load-balancer-webhook"},
		{"by service of a renamed release, upstream gone", Cluster{ValidatingWebhooks: []admissionv1.ValidatingWebhookConfiguration{
			vwc("lbc-validating", UpstreamWebhookService)}}, Fail, "validatingwebhookconfiguration/lbc-validating"},
		{"upstream still running", Cluster{Deployments: running, ValidatingWebhooks: []admissionv1.ValidatingWebhookConfiguration{
			vwc("aws-load-balancer-webhook", UpstreamWebhookService)}}, Warn, "still present"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Webhooks(tt.c)
			if r.Status != tt.want || !strings.Contains(r.Message+r.Fix, tt.says) {
				t.Errorf("got %s %q (fix %q), want %s mentioning %q", r.Status, r.Message, r.Fix, tt.want, tt.says)
			}
		})
	}
}

func TestUpstreamDeployment(t *testing.T) {
	tests := []struct {
		name string
		ds   []appsv1.Deployment
		want Status
	}{
		{"none", nil, OK},
		{"other images", []appsv1.Deployment{deploy("lbsg", "ghcr.io/lbsg/lbsg:v1", 2), deploy("aws-load-balancer-controller-x", "nginx:1", 1)}, OK},
		{"running", []appsv1.Deployment{deploy("lbc", upstreamImage, 2)}, Fail},
		{"running by digest from ECR", []appsv1.Deployment{deploy("lbc",
			"602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon/aws-load-balancer-controller@sha256:abc", 1)}, Fail},
		{"default replicas", []appsv1.Deployment{func() appsv1.Deployment { d := deploy("lbc", upstreamImage, 0); d.Spec.Replicas = nil; return d }()}, Fail},
		{"scaled to 0", []appsv1.Deployment{deploy("lbc", upstreamImage, 0)}, Warn},
		{"scaled to 0, Pods still terminating", []appsv1.Deployment{func() appsv1.Deployment {
			d := deploy("lbc", upstreamImage, 0)
			d.Status.Replicas = 1
			return d
		}()}, Fail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r := UpstreamDeployment(tt.ds); r.Status != tt.want {
				t.Errorf("got %s %q, want %s", r.Status, r.Message, tt.want)
			}
		})
	}
}

func TestTargetGroupBindings(t *testing.T) {
	upstream := Object{Namespace: "shop", Name: "k8s-shop-web-abc", Labels: map[string]string{"ingress.k8s.aws/stack-name": "shop"},
		Finalizers: []string{TGBFinalizer}}
	tests := []struct {
		name string
		crd  bool
		objs []Object
		want Status
		says string
	}{
		{"CRD not installed", false, nil, OK, "CRD not installed: nothing to do"},
		{"no objects", true, []Object{}, OK, "none"},
		{"upstream's, finalizer gone", true, []Object{{Namespace: "a", Name: "b", Labels: upstream.Labels}}, OK, "once it serves that Service or Ingress"},
		{"upstream's with finalizer", true, []Object{upstream}, OK, "shop/k8s-shop-web-abc"},
		{"a user's is served", true, []Object{upstream, {Namespace: "ops", Name: "legacy", Finalizers: []string{TGBFinalizer}}}, OK, "a user wrote (ops/legacy): lbsg serves them"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := TargetGroupBindings(tt.crd, tt.objs)
			if r.Status != tt.want || !strings.Contains(r.Message, tt.says) {
				t.Errorf("got %s %q, want %s mentioning %q", r.Status, r.Message, tt.want, tt.says)
			}
		})
	}
}

func class(name, controller string, labels, annotations map[string]string, params *networkingv1.IngressClassParametersReference) networkingv1.IngressClass {
	return networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels, Annotations: annotations},
		Spec: networkingv1.IngressClassSpec{Controller: controller, Parameters: params}}
}

// TestIngressClass guards issue 16 §1.2: preflight said the class survived once it was
// annotated with helm.sh/resource-policy=keep, but Helm honours the policy only in the
// release's stored manifest, and the uninstall deleted the class and its parameters. OK
// now means what TestMigrationKeepsIngressClassWithHelm (test/e2e) proved: no deployed
// release would delete them, and they are lbsg's release's or nobody's.
func TestIngressClass(t *testing.T) {
	helm := map[string]string{helmManagedBy: "Helm"}
	upstream := map[string]string{helmReleaseName: "aws-load-balancer-controller", helmReleaseNamespace: "kube-system"}
	keptLive := map[string]string{helmReleaseName: "aws-load-balancer-controller", helmReleaseNamespace: "kube-system", helmResourcePolicy: "keep"}
	lbsgOwned := map[string]string{helmReleaseName: "lbsg", helmReleaseNamespace: "kube-system", helmResourcePolicy: "keep"}
	ref := &networkingv1.IngressClassParametersReference{APIGroup: ptr(ParamsGroup), Kind: ParamsKind, Name: "alb"}
	upstreamRelease := HelmRelease{ReleaseRef: ReleaseRef{Namespace: "kube-system", Name: "aws-load-balancer-controller"},
		Chart: "aws-load-balancer-controller", ChartVersion: "3.5.0",
		Deletes: []string{"Deployment/aws-load-balancer-controller", "IngressClass/alb", "IngressClassParams/alb"}}
	handedOver := upstreamRelease
	handedOver.Deletes = []string{"Deployment/aws-load-balancer-controller"}
	paramsOnly := upstreamRelease
	paramsOnly.Deletes = []string{"IngressClassParams/alb"}
	tests := []struct {
		name     string
		classes  []networkingv1.IngressClass
		releases []HelmRelease
		helmErr  error
		want     Status
		says     []string
	}{
		{"missing", []networkingv1.IngressClass{class("nginx", "k8s.io/ingress-nginx", nil, nil, nil)}, nil, nil, Warn, []string{"create it"}},
		{"not Helm's", []networkingv1.IngressClass{class("alb", ALBController, nil, nil, nil)}, nil, nil, OK, []string{"survives"}},
		{"in upstream's manifest", []networkingv1.IngressClass{class("alb", ALBController, helm, upstream, ref)}, []HelmRelease{upstreamRelease}, nil, Fail,
			[]string{"kube-system/aws-load-balancer-controller", "IngressClass/alb, IngressClassParams/alb",
				"kubectl annotate ingressclass/alb ingressclassparams/alb helm.sh/resource-policy=keep",
				"helm upgrade aws-load-balancer-controller CHART -n kube-system --reuse-values --version 3.5.0 --set createIngressClassResource=false",
				"meta.helm.sh/release-name=lbsg meta.helm.sh/release-namespace=kube-system"}},
		{"kept on the live object only: the old runbook", []networkingv1.IngressClass{class("alb", ALBController, helm, keptLive, ref)}, []HelmRelease{upstreamRelease}, nil, Fail,
			[]string{"does not help"}},
		{"only its parameters in the manifest", []networkingv1.IngressClass{class("alb", ALBController, nil, nil, ref)}, []HelmRelease{paramsOnly}, nil, Fail,
			[]string{"IngressClassParams/alb"}},
		{"handed over, still upstream's ownership", []networkingv1.IngressClass{class("alb", ALBController, helm, keptLive, ref)}, []HelmRelease{handedOver}, nil, Warn,
			[]string{"invalid ownership metadata", "kubectl annotate --overwrite ingressclass/alb ingressclassparams/alb meta.helm.sh/release-name=lbsg"}},
		{"handed over to lbsg's release", []networkingv1.IngressClass{class("alb", ALBController, helm, lbsgOwned, ref)}, []HelmRelease{handedOver}, nil, OK,
			[]string{"survives"}},
		{"release records unreadable", []networkingv1.IngressClass{class("alb", ALBController, helm, upstream, ref)}, nil, errors.New("secrets is forbidden"), Warn,
			[]string{"secrets is forbidden", "step 4"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := IngressClass(tt.classes, tt.releases, tt.helmErr, ReleaseRef{})
			if r.Status != tt.want {
				t.Errorf("got %s %q (fix %q), want %s", r.Status, r.Message, r.Fix, tt.want)
			}
			for _, s := range tt.says {
				if !strings.Contains(r.Message+" "+r.Fix, s) {
					t.Errorf("%q (fix %q) does not say %q", r.Message, r.Fix, s)
				}
			}
		})
	}
}

func TestClassParams(t *testing.T) {
	ref := &networkingv1.IngressClassParametersReference{APIGroup: ptr(ParamsGroup), Kind: ParamsKind, Name: "shared"}
	withParams := []networkingv1.IngressClass{class("alb", ALBController, nil, nil, ref)}
	tests := []struct {
		name    string
		classes []networkingv1.IngressClass
		crd     bool
		params  []string
		want    Status
	}{
		{"no reference", []networkingv1.IngressClass{class("alb", ALBController, nil, nil, nil)}, false, nil, OK},
		{"another controller's params", []networkingv1.IngressClass{class("x", "other", nil, nil, ref)}, false, nil, OK},
		{"CRD missing", withParams, false, nil, Fail},
		{"object missing", withParams, true, []string{"other"}, Warn},
		{"all there", withParams, true, []string{"shared"}, OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if r := ClassParams(tt.classes, tt.crd, tt.params); r.Status != tt.want {
				t.Errorf("got %s %q, want %s", r.Status, r.Message, tt.want)
			}
		})
	}
}

func TestRBAC(t *testing.T) {
	all := []Access{{Verb: "list", Resource: "services", Allowed: true}, {Verb: "list", Group: "networking.k8s.io", Resource: "ingresses", Allowed: true}}
	if r := RBAC(all); r.Status != OK {
		t.Errorf("all allowed: got %s %q", r.Status, r.Message)
	}
	all[1].Allowed = false
	if r := RBAC(all); r.Status != Fail || !strings.Contains(r.Message, "list ingresses.networking.k8s.io") {
		t.Errorf("one denied: got %s %q", r.Status, r.Message)
	}
}

func TestRunFlagsAWSAndExit(t *testing.T) {
	c := Cluster{TGBCRD: false, IngressClasses: []networkingv1.IngressClass{class("alb", ALBController, nil, nil, nil)}}
	rs := Run(c)
	if Failed(rs) {
		t.Fatalf("a clean cluster failed: %+v", rs)
	}
	if len(rs) != 6 {
		t.Errorf("got %d checks without access and AWS checks, want 6", len(rs))
	}
	c.FlagsErr = errors.New("invalid value bogus for default target type")
	c.AWSChecked, c.AWSErr = true, errors.New("connection refused")
	rs = Run(c)
	if !Failed(rs) {
		t.Fatalf("bad flags and unreachable AWS did not fail: %+v", rs)
	}
	var out bytes.Buffer
	if err := Write(&out, rs); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"FAIL  controller flags: invalid value bogus", "FAIL  AWS: connection refused", "OK    TargetGroupBindings: CRD not installed"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestIngressGroups(t *testing.T) {
	if r := IngressGroups(nil); r.Status != OK {
		t.Errorf("no exclusion: %+v", r)
	}
	r := IngressGroups([]Exclusion{{Ingress: "team-b/evil", Group: "shop", Reason: "Ingress group shop belongs to namespace team-a"}})
	if r.Status != Warn || !strings.Contains(r.Message, "team-b/evil (group shop): Ingress group shop belongs to namespace team-a") || !strings.Contains(r.Fix, "ReferenceGrant") {
		t.Errorf("exclusion: %+v", r)
	}
	if rs := Run(Cluster{GroupsChecked: true}); !slices.ContainsFunc(rs, func(r Result) bool { return r.Check == "Ingress groups" }) {
		t.Errorf("Run does not check the groups: %v", rs)
	}
}

func TestRefusals(t *testing.T) {
	if r := Refusals(nil, nil); r.Status != OK {
		t.Errorf("no refusal: %+v", r)
	}
	if r := Refusals(nil, errors.New("throttled")); r.Status != Warn || !strings.Contains(r.Message, "throttled") || r.Fix == "" {
		t.Errorf("a plan that failed: %+v", r)
	}
	var many []Refusal
	for i := range maxRefusalsShown + 3 {
		many = append(many, Refusal{Object: fmt.Sprintf("Service team-b/web-%02d", i), Reason: "annotation x: denied"})
	}
	r := Refusals(many, nil)
	if r.Status != Warn || !strings.Contains(r.Message, fmt.Sprintf("%d refusal(s)", len(many))) ||
		!strings.Contains(r.Message, "Service team-b/web-00: annotation x: denied") || !strings.Contains(r.Message, "and 3 more") ||
		strings.Contains(r.Message, fmt.Sprintf("web-%02d", maxRefusalsShown)) {
		t.Errorf("refusals: %+v", r)
	}
}
