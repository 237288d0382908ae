package chart

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/lbsg/lbsg/internal/config"
)

// upstreamDefaults holds every key of upstream's values.yaml with its default.
const upstreamDefaults = "testdata/upstream-defaults.yaml"

func readValues(t *testing.T, path string) map[string]any {
	t.Helper()
	v, err := ReadValues(path)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestChartUpstreamDefaultValuesFile guards issue 16 §1.4 with the whole of upstream's
// values file. Its keys all pass lbsg's schema. As it is, it names upstream's image (the
// tag v3.5.0 of public.ecr.aws/eks/aws-load-balancer-controller) and upstream's Service
// webhook, and the chart refuses both at once, each with its fix: upstream's image would
// run upstream's controller, and without the Service webhook new LoadBalancer Services
// would go to the cloud provider's legacy controller. With those two fixed it installs
// lbsg, and NOTES.txt names every upstream value lbsg has nothing to act on.
func TestChartUpstreamDefaultValuesFile(t *testing.T) {
	values := readValues(t, upstreamDefaults)
	values["clusterName"] = "my-cluster"
	_, err := Render(release, namespace, values)
	if err == nil {
		t.Fatal("upstream's defaults rendered with upstream's image")
	}
	msg := err.Error()
	if strings.Contains(msg, "schema") || strings.Contains(msg, "additional properties") {
		t.Fatalf("lbsg's schema refuses a key of upstream's values file: %v", err)
	}
	for _, want := range []string{`image.repository "public.ecr.aws/eks/aws-load-balancer-controller" is upstream's controller image`,
		`image.tag "v3.5.0" is an AWS Load Balancer Controller version`, "enableServiceMutatorWebhook is true",
		"set enableServiceMutatorWebhook: false"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error does not say %q:\n%v", want, err)
		}
	}

	delete(values, "image")
	values["enableServiceMutatorWebhook"] = false
	r := render(t, values)
	args := container(t, r).Args
	cfg := parseArgs(t, args)
	if cfg.ClusterName != "my-cluster" || cfg.DefaultTargetType != "instance" {
		t.Errorf("parsed %+v", cfg)
	}
	if c := container(t, r); c.Image != "ghcr.io/lbsg/lbsg:0.1.0" {
		t.Errorf("image %q, want lbsg's", c.Image)
	}
	for _, want := range []string{"webhookConfig: lbsg has no Ingress validation webhook", "serviceMutatorWebhookConfig: lbsg has no Service webhook"} {
		if !strings.Contains(r.Notes, want) {
			t.Errorf("NOTES.txt does not say %q:\n%s", want, r.Notes)
		}
	}
	if strings.Contains(r.Notes, "clusterSecretsPermissions") {
		t.Errorf("NOTES.txt mentions clusterSecretsPermissions, which upstream's default leaves off:\n%s", r.Notes)
	}
	// The user's own values file says what it means: no notices.
	if r := render(t, readUpstreamValues(t)); strings.Contains(r.Notes, "WARNING") {
		t.Errorf("NOTES.txt warns for a values file that sets nothing lbsg ignores:\n%s", r.Notes)
	}
}

// TestChartRejectsMisspeltKeys guards issue 16 §1.4: the schema refused wrong types but no
// misspelt key (0 of 9). Each class is refused, naming the key: at the top level, nested,
// in the wrong case, and a feature gate upstream does not have.
func TestChartRejectsMisspeltKeys(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values map[string]any
		want   string
	}{
		{"top level", map[string]any{"clusterName": "c", "replicaCont": 3}, "replicaCont"},
		{"top level, another", map[string]any{"clusterName": "c", "ingressClassParam": map[string]any{"create": true}}, "ingressClassParam"},
		{"top level, wrong case", map[string]any{"clusterName": "c", "ClusterName": "d"}, "ClusterName"},
		{"top level, wrong case of an acronym", map[string]any{"clusterName": "c", "vpcID": "vpc-0123abcd"}, "vpcID"},
		{"nested", map[string]any{"clusterName": "c", "image": map[string]any{"repo": "example.com/lbsg"}}, "repo"},
		{"nested, wrong case", map[string]any{"clusterName": "c", "image": map[string]any{"Tag": "v1"}}, "Tag"},
		{"nested in serviceAccount", map[string]any{"clusterName": "c", "serviceAccount": map[string]any{"annotation": map[string]any{"a": "b"}}}, "annotation"},
		{"nested in serviceMonitor", map[string]any{"clusterName": "c", "serviceMonitor": map[string]any{"enable": true}}, "enable"},
		{"nested in ingressClassParams", map[string]any{"clusterName": "c", "ingressClassParams": map[string]any{"spce": map[string]any{}}}, "spce"},
		{"nested two levels", map[string]any{"clusterName": "c", "certManager": map[string]any{"rootCert": map[string]any{"durration": "1h"}}}, "durration"},
		{"nested in upstream's webhookConfig", map[string]any{"clusterName": "c", "webhookConfig": map[string]any{"disableIngressValidaton": true}}, "disableIngressValidaton"},
		{"nested in autoscaling", map[string]any{"clusterName": "c", "autoscaling": map[string]any{"enable": true}}, "enable"},
		{"nested, wrong case, pod webhook", map[string]any{"clusterName": "c", "podMutatorWebhookConfig": map[string]any{"FailurePolicy": "Fail"}}, "FailurePolicy"},
		{"unknown feature gate", map[string]any{"clusterName": "c", "controllerConfig": map[string]any{"featureGates": map[string]any{"NLBSecurityGroups": true}}}, "NLBSecurityGroups"},
		{"feature gate in the wrong case", map[string]any{"clusterName": "c", "featureGates": map[string]any{"nlbSecurityGroup": false}}, "nlbSecurityGroup"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Render(release, namespace, tc.values)
			if err == nil {
				t.Fatal("rendered, want the key refused")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("the error does not name %q:\n%v", tc.want, err)
			}
		})
	}
}

// TestChartSchemaFeatureGatesAreLbsgs: the gate names the schema accepts are exactly the
// ones lbsg's --feature-gates accepts, so the chart never renders a gate lbsg refuses.
func TestChartSchemaFeatureGatesAreLbsgs(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(Dir(), "values.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Properties map[string]struct {
			PropertyNames struct{ Enum []string } `json:"propertyNames"`
			Properties    map[string]struct {
				PropertyNames struct{ Enum []string } `json:"propertyNames"`
			}
		}
	}
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatal(err)
	}
	want := config.KnownFeatureGates()
	for name, got := range map[string][]string{
		"featureGates":                  schema.Properties["featureGates"].PropertyNames.Enum,
		"controllerConfig.featureGates": schema.Properties["controllerConfig"].Properties["featureGates"].PropertyNames.Enum,
	} {
		if !slices.Equal(slices.Sorted(slices.Values(got)), want) {
			t.Errorf("%s accepts %v, lbsg knows %v", name, got, want)
		}
	}
}

// TestChartRefusesUpstreamImage: upstream's repository, or an lbsg repository with an
// upstream version as tag (v2.x, v3.x, from an upstream values file), fails the install
// naming the key; lbsg's own tags pass.
func TestChartRefusesUpstreamImage(t *testing.T) {
	for _, tc := range []struct {
		image map[string]any
		want  string
	}{
		{map[string]any{"repository": "602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon/aws-load-balancer-controller"}, "image.repository"},
		{map[string]any{"tag": "v2.13.0"}, `image.tag "v2.13.0" is an AWS Load Balancer Controller version`},
		{map[string]any{"repository": "registry.example.com/lbsg", "tag": "v3.5.0"}, `image.tag "v3.5.0"`},
	} {
		_, err := Render(release, namespace, map[string]any{"clusterName": "c", "image": tc.image})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("image %v: %v, want an error containing %q", tc.image, err, tc.want)
		}
	}
	for _, tag := range []string{"0.1.0", "v0.2.0", "9f61a0f", "v1.0.0-3-g9f61a0f-dirty"} {
		r := render(t, map[string]any{"clusterName": "c", "image": map[string]any{"repository": "registry.example.com/lbsg", "tag": tag}})
		if got := container(t, r).Image; got != "registry.example.com/lbsg:"+tag {
			t.Errorf("image %q", got)
		}
	}
}

// TestChartAutoscalingRendersAnHPA guards that upstream's autoscaling values are wired, not
// ignored: a HorizontalPodAutoscaler of the Deployment, which then has no replica count
// of its own, and a PodDisruptionBudget while at least two replicas run.
func TestChartAutoscalingRendersAnHPA(t *testing.T) {
	r := render(t, map[string]any{"clusterName": "c", "annotations": map[string]any{"team": "net"},
		"autoscaling": map[string]any{"enabled": true, "minReplicas": 2, "maxReplicas": 4, "targetCPUUtilizationPercentage": 70,
			"autoscaleBehavior": map[string]any{"scaleDown": map[string]any{"stabilizationWindowSeconds": 300}}}})
	var hpa autoscalingv2.HorizontalPodAutoscaler
	object(t, r, "HorizontalPodAutoscaler", "lbsg", &hpa)
	s := hpa.Spec
	if s.ScaleTargetRef.Kind != "Deployment" || s.ScaleTargetRef.Name != "lbsg" || s.MinReplicas == nil || *s.MinReplicas != 2 || s.MaxReplicas != 4 {
		t.Errorf("HPA spec %+v", s)
	}
	if len(s.Metrics) != 1 || s.Metrics[0].Resource == nil || *s.Metrics[0].Resource.Target.AverageUtilization != 70 {
		t.Errorf("HPA metrics %+v", s.Metrics)
	}
	if s.Behavior == nil || s.Behavior.ScaleDown == nil || *s.Behavior.ScaleDown.StabilizationWindowSeconds != 300 || hpa.Annotations["team"] != "net" {
		t.Errorf("HPA behavior %+v, annotations %v", s.Behavior, hpa.Annotations)
	}
	d, err := r.Deployment()
	if err != nil {
		t.Fatal(err)
	}
	if d.Spec.Replicas != nil {
		t.Errorf("the Deployment sets replicas %d, which the HPA owns", *d.Spec.Replicas)
	}
	var pdb policyv1.PodDisruptionBudget
	object(t, r, "PodDisruptionBudget", "lbsg", &pdb)
	if off := render(t, map[string]any{"clusterName": "c"}); off.Find("HorizontalPodAutoscaler", "lbsg") != nil {
		t.Error("an HPA without autoscaling.enabled")
	}
}

// TestChartNoticesForValuesLbsgCannotActOn: each of upstream's values lbsg has no feature
// for is either refused (above) or named in NOTES.txt when it is set.
func TestChartNoticesForValuesLbsgCannotActOn(t *testing.T) {
	for _, tc := range []struct {
		values map[string]any
		want   string
	}{
		{map[string]any{"webhookConfig": map[string]any{"ingressValdationFailurePolicy": "Ignore"}}, "webhookConfig: lbsg has no Ingress validation webhook"},
		{map[string]any{"clusterSecretsPermissions": map[string]any{"allowAllSecrets": true}}, "clusterSecretsPermissions.allowAllSecrets: lbsg reads no Secret"},
		{map[string]any{"serviceMutatorWebhookConfig": map[string]any{"failurePolicy": "Ignore"}}, "serviceMutatorWebhookConfig: lbsg has no Service webhook"},
	} {
		values := map[string]any{"clusterName": "c"}
		maps.Copy(values, tc.values)
		if r := render(t, values); !strings.Contains(r.Notes, tc.want) {
			t.Errorf("%v: NOTES.txt does not say %q:\n%s", tc.values, tc.want, r.Notes)
		}
	}
	quiet := render(t, map[string]any{"clusterName": "c", "webhookConfig": map[string]any{"disableIngressValidation": true, "ingressValdationFailurePolicy": "Fail"},
		"enableServiceMutatorWebhook": false})
	if strings.Contains(quiet.Notes, "WARNING") {
		t.Errorf("NOTES.txt warns although the values ask for what lbsg does:\n%s", quiet.Notes)
	}
}

// TestChartCreatorLeavesOutHelmLabels: upstream's creator key, wired as upstream.
func TestChartCreatorLeavesOutHelmLabels(t *testing.T) {
	r := render(t, map[string]any{"clusterName": "c", "creator": "argocd"})
	for _, o := range r.Objects {
		if _, ok := o.GetLabels()["helm.sh/chart"]; ok {
			t.Errorf("%s %s has helm.sh/chart with creator argocd", o.GetKind(), o.GetName())
		}
	}
	if _, ok := render(t, map[string]any{"clusterName": "c"}).Find("Deployment", "lbsg").GetLabels()["helm.sh/chart"]; !ok {
		t.Error("no helm.sh/chart label by default")
	}
}

// TestChartAdoptsUpstreamIngressClassAsIs guards issue 16 §1.2 (second half): on a cluster
// where upstream's IngressClass alb refers to its IngressClassParams alb, lbsg's chart,
// installed with values that give no ingressClassParams, renders the class with the same
// parameters and the IngressClassParams with its existing spec: adopting them renames and
// drops nothing.
func TestChartAdoptsUpstreamIngressClassAsIs(t *testing.T) {
	class := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
		"metadata": map[string]any{"name": "alb"},
		"spec": map[string]any{"controller": "ingress.k8s.aws/alb",
			"parameters": map[string]any{"apiGroup": "elbv2.k8s.aws", "kind": "IngressClassParams", "name": "alb"}},
	}}
	params := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "elbv2.k8s.aws/v1beta1", "kind": "IngressClassParams",
		"metadata": map[string]any{"name": "alb"},
		"spec":     map[string]any{"scheme": "internet-facing", "group": map[string]any{"name": "shared"}},
	}}
	r, err := RenderInCluster(release, namespace, map[string]any{"clusterName": "c"}, class, params)
	if err != nil {
		t.Fatal(err)
	}
	var ic networkingv1.IngressClass
	object(t, r, "IngressClass", "alb", &ic)
	if p := ic.Spec.Parameters; p == nil || p.Name != "alb" {
		t.Errorf("parameters %+v, want alb as before", p)
	}
	got := r.Find("IngressClassParams", "alb")
	if got == nil {
		t.Fatalf("no IngressClassParams alb: %v", r.Kinds())
	}
	if s, _, _ := unstructured.NestedString(got.Object, "spec", "scheme"); s != "internet-facing" {
		t.Errorf("IngressClassParams spec %v, want the existing one", got.Object["spec"])
	}
	// Values that give a spec win over the existing one.
	r, err = RenderInCluster(release, namespace, map[string]any{"clusterName": "c",
		"ingressClassParams": map[string]any{"create": true, "spec": map[string]any{"scheme": "internal"}}}, class, params)
	if err != nil {
		t.Fatal(err)
	}
	if s, _, _ := unstructured.NestedString(r.Find("IngressClassParams", "alb").Object, "spec", "scheme"); s != "internal" {
		t.Errorf("values' spec not rendered: %v", s)
	}
}
