package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"helm.sh/helm/v3/pkg/action"
	helmchart "helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	elbv2api "github.com/lbsg/lbsg/api/v1beta1"
	"github.com/lbsg/lbsg/internal/controller"
	"github.com/lbsg/lbsg/internal/helmrelease"
	"github.com/lbsg/lbsg/internal/localenv"
	"github.com/lbsg/lbsg/internal/preflight"
	"github.com/lbsg/lbsg/test/chart"
)

// upstreamRelease is the release name upstream's install guide uses.
const upstreamRelease = "aws-load-balancer-controller"

// restGetter gives Helm's kube client the test control plane.
type restGetter struct {
	cfg       *rest.Config
	namespace string
}

func (g restGetter) ToRESTConfig() (*rest.Config, error) { return rest.CopyConfig(g.cfg), nil }

func (g restGetter) ToDiscoveryClient() (discovery.CachedDiscoveryInterface, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(g.cfg)
	if err != nil {
		return nil, err
	}
	return memory.NewMemCacheClient(dc), nil
}

func (g restGetter) ToRESTMapper() (meta.RESTMapper, error) {
	dc, err := g.ToDiscoveryClient()
	if err != nil {
		return nil, err
	}
	return restmapper.NewDeferredDiscoveryRESTMapper(dc), nil
}

func (g restGetter) ToRawKubeConfigLoader() clientcmd.ClientConfig {
	return clientcmd.NewDefaultClientConfig(*clientcmdapi.NewConfig(),
		&clientcmd.ConfigOverrides{Context: clientcmdapi.Context{Namespace: g.namespace}})
}

// helmAction is Helm's action configuration for the test control plane, storing releases
// in Secrets as the helm CLI does by default.
func helmAction(t *testing.T, namespace string) *action.Configuration {
	t.Helper()
	cfg := new(action.Configuration)
	if err := cfg.Init(restGetter{cfg: plane.Config, namespace: namespace}, namespace, "secret", func(format string, v ...any) {
		if testing.Verbose() {
			t.Logf("helm: "+format, v...)
		}
	}); err != nil {
		t.Fatalf("helm: %v", err)
	}
	return cfg
}

func loadChart(t *testing.T, dir string) *helmchart.Chart {
	t.Helper()
	ch, err := loader.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func helmInstall(t *testing.T, cfg *action.Configuration, name, namespace string, ch *helmchart.Chart, values map[string]any) {
	t.Helper()
	in := action.NewInstall(cfg)
	in.ReleaseName, in.Namespace = name, namespace
	in.Timeout = time.Minute
	if _, err := in.Run(ch, values); err != nil {
		t.Fatalf("helm install %s: %v", name, err)
	}
}

func helmUninstall(t *testing.T, cfg *action.Configuration, name string) {
	t.Helper()
	un := action.NewUninstall(cfg)
	un.Timeout = time.Minute
	if _, err := un.Run(name); err != nil {
		t.Fatalf("helm uninstall %s: %v", name, err)
	}
}

// kubectlAnnotate sets annotations on an object, as `kubectl annotate --overwrite` does.
func (h *harness) kubectlAnnotate(obj client.Object, ann map[string]string) {
	h.t.Helper()
	if err := h.k8s.Get(h.ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
		h.t.Fatalf("get %s: %v", obj.GetName(), err)
	}
	patch := client.MergeFrom(obj.DeepCopyObject().(client.Object))
	a := obj.GetAnnotations()
	if a == nil {
		a = map[string]string{}
	}
	for k, v := range ann {
		a[k] = v
	}
	obj.SetAnnotations(a)
	if err := h.k8s.Patch(h.ctx, obj, patch); err != nil {
		h.t.Fatalf("annotate %s: %v", obj.GetName(), err)
	}
}

// ingressClassPreflight is `lbsg preflight`'s IngressClass check, read as the command reads
// it: the classes and the deployed Helm releases' records.
func (h *harness) ingressClassPreflight() preflight.Result {
	h.t.Helper()
	var classes networkingv1.IngressClassList
	if err := h.k8s.List(h.ctx, &classes); err != nil {
		h.t.Fatal(err)
	}
	releases, err := helmrelease.Deployed(h.ctx, h.k8s)
	return preflight.IngressClass(classes.Items, releases, err, preflight.DefaultLbsgRelease)
}

// awsInventory names every load balancer, target group and security group in the world.
func (h *harness) awsInventory() []string {
	h.t.Helper()
	var out []string
	for _, lb := range h.loadBalancers() {
		out = append(out, "lb "+aws.ToString(lb.LoadBalancerArn))
	}
	for _, tg := range h.targetGroups() {
		out = append(out, "tg "+aws.ToString(tg.TargetGroupArn))
	}
	for id := range h.securityGroups() {
		out = append(out, "sg "+id)
	}
	slices.Sort(out)
	return out
}

// TestMigrationKeepsIngressClassWithHelm guards issue 16 §1.2: following docs/migrate.md,
// `helm uninstall` of upstream's release deleted the IngressClass alb and its
// IngressClassParams (Helm honours helm.sh/resource-policy: keep only in the stored
// manifest), and lbsg's chart recreated them with the parameters renamed. Here Helm itself
// (the SDK) runs every step on the test control plane: a release of a chart with
// upstream's IngressClass template owns the class and its parameters (scheme
// internet-facing); an Ingress of the class has its ALB (provisioned by lbsg standing in
// for upstream: same names and tags); the runbook's hand-over, upstream's uninstall, and
// lbsg's chart installed with only the README's values. The class and its parameters are
// the very objects they were (same UIDs, same spec, the class still naming alb), now
// owned by lbsg's release; lbsg then serves the Ingress with the same ALB and deletes or
// creates nothing in AWS. preflight says FAIL, naming the hand-over, until it is done,
// and OK after.
func TestMigrationKeepsIngressClassWithHelm(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	const ns = "kube-system"
	cfg := helmAction(t, ns)

	// Upstream's release, installed as its users do.
	helmInstall(t, cfg, upstreamRelease, ns, loadChart(t, "testdata/upstream-chart"), map[string]any{
		"clusterName":        h.world.Cluster,
		"ingressClassParams": map[string]any{"create": true, "spec": map[string]any{"scheme": internetFacing}},
	})
	released := false
	t.Cleanup(func() {
		if !released {
			un := action.NewUninstall(helmAction(t, ns))
			_, _ = un.Run(upstreamRelease)
		}
	})
	class := &networkingv1.IngressClass{}
	params := &elbv2api.IngressClassParams{}
	get := func() {
		t.Helper()
		if err := h.k8s.Get(h.ctx, client.ObjectKey{Name: albClass}, class); err != nil {
			t.Fatalf("IngressClass alb: %v", err)
		}
		if err := h.k8s.Get(h.ctx, client.ObjectKey{Name: albClass}, params); err != nil {
			t.Fatalf("IngressClassParams alb: %v", err)
		}
	}
	get()
	classUID, paramsUID := class.UID, params.UID
	if p := class.Spec.Parameters; p == nil || p.Name != albClass || class.Annotations["meta.helm.sh/release-name"] != upstreamRelease {
		t.Fatalf("upstream's class: parameters %+v, annotations %v", class.Spec.Parameters, class.Annotations)
	}

	// Upstream's load balancer for an Ingress of the class, internet-facing by the
	// parameters.
	h.startController()
	h.create(backendService("web", 30090, nil))
	h.create(ingress("web", "web", nil))
	host := h.waitIngressHostname("web")
	lb := h.albByHostname(host)
	if string(lb.Scheme) != internetFacing {
		t.Fatalf("ALB scheme %s, want internet-facing from the IngressClassParams", lb.Scheme)
	}
	h.quiesce()
	h.stopController()
	before := h.awsInventory()
	// Upstream writes no lbsg condition: lbsg's after the switch proves it reconciled.
	h.patchIngressAnnotations("web", map[string]string{controller.ConditionAnnotation: ""})

	// Runbook, "Check": the class and its parameters are in upstream's manifest.
	r := h.ingressClassPreflight()
	if r.Status != preflight.Fail || !strings.Contains(r.Fix, "helm upgrade "+upstreamRelease) {
		t.Fatalf("preflight before the hand-over: %s %s (fix %s), want FAIL naming the hand-over", r.Status, r.Message, r.Fix)
	}

	// Runbook, "Hand the IngressClass over": (a) keep on the live objects; (b) upstream's
	// release upgraded with its chart and values, without the class; (c) lbsg's ownership.
	for _, o := range []client.Object{&networkingv1.IngressClass{}, &elbv2api.IngressClassParams{}} {
		o.SetName(albClass)
		h.kubectlAnnotate(o, map[string]string{"helm.sh/resource-policy": "keep"})
	}
	// Annotating alone is the old runbook: preflight still fails.
	if r := h.ingressClassPreflight(); r.Status != preflight.Fail {
		t.Fatalf("preflight after only annotating: %s %s", r.Status, r.Message)
	}
	up := action.NewUpgrade(cfg)
	up.Namespace, up.ReuseValues, up.Timeout = ns, true, time.Minute
	if _, err := up.Run(upstreamRelease, loadChart(t, "testdata/upstream-chart"), map[string]any{"createIngressClassResource": false}); err != nil {
		t.Fatalf("helm upgrade %s: %v", upstreamRelease, err)
	}
	get()
	if class.UID != classUID || params.UID != paramsUID {
		t.Fatal("the upgrade replaced the class or its parameters")
	}
	if r := h.ingressClassPreflight(); r.Status != preflight.Warn || !strings.Contains(r.Fix, "meta.helm.sh/release-name=lbsg") {
		t.Fatalf("preflight before lbsg's ownership: %s %s (fix %s), want WARN naming it", r.Status, r.Message, r.Fix)
	}
	for _, o := range []client.Object{&networkingv1.IngressClass{}, &elbv2api.IngressClassParams{}} {
		o.SetName(albClass)
		h.kubectlAnnotate(o, map[string]string{"meta.helm.sh/release-name": "lbsg", "meta.helm.sh/release-namespace": ns})
	}
	if r := h.ingressClassPreflight(); r.Status != preflight.OK {
		t.Fatalf("preflight after the hand-over: %s %s (fix %s), want OK", r.Status, r.Message, r.Fix)
	}

	// Runbook, "Stop upstream".
	helmUninstall(t, cfg, upstreamRelease)
	released = true
	get()
	if class.UID != classUID || params.UID != paramsUID || params.Spec.Scheme == nil || string(*params.Spec.Scheme) != internetFacing {
		t.Fatalf("after helm uninstall: class %s (was %s), parameters %s (was %s), scheme %v", class.UID, classUID, params.UID, paramsUID, params.Spec.Scheme)
	}
	if r := h.ingressClassPreflight(); r.Status != preflight.OK {
		t.Fatalf("preflight after the uninstall: %s %s", r.Status, r.Message)
	}

	// Runbook, "Start lbsg": lbsg's chart with the README's values only.
	helmInstall(t, cfg, "lbsg", ns, loadChart(t, chart.Dir()), map[string]any{
		"clusterName": h.world.Cluster, "region": localenv.Region, "vpcId": h.world.VPCID,
	})
	t.Cleanup(func() {
		un := action.NewUninstall(helmAction(t, ns))
		if _, err := un.Run("lbsg"); err != nil {
			t.Errorf("helm uninstall lbsg: %v", err)
		}
	})
	get()
	if class.UID != classUID || params.UID != paramsUID {
		t.Fatalf("lbsg's chart replaced the class (%s, was %s) or its parameters (%s, was %s)", class.UID, classUID, params.UID, paramsUID)
	}
	if p := class.Spec.Parameters; p == nil || p.Name != albClass {
		t.Errorf("lbsg's chart changed the class's parameters to %+v, want alb", p)
	}
	if params.Spec.Scheme == nil || string(*params.Spec.Scheme) != internetFacing {
		t.Errorf("lbsg's chart changed the parameters' spec to %+v", params.Spec)
	}
	for _, o := range []client.Object{class, params} {
		if a := o.GetAnnotations(); a["meta.helm.sh/release-name"] != "lbsg" || a["helm.sh/resource-policy"] != "keep" {
			t.Errorf("%s annotations %v, want lbsg's release and keep", o.GetName(), a)
		}
	}
	if list := (&unstructured.UnstructuredList{}); true {
		list.SetAPIVersion("elbv2.k8s.aws/v1beta1")
		list.SetKind("IngressClassParamsList")
		if err := h.k8s.List(h.ctx, list); err != nil || len(list.Items) != 1 {
			t.Errorf("IngressClassParams after the install: %d (%v), want only alb", len(list.Items), err)
		}
	}

	// lbsg serves the Ingress with the ALB it had, and AWS loses nothing.
	h.startController()
	h.eventually("lbsg's Ready condition on the Ingress", 60*time.Second, func() string {
		if c := ingressCondition(h.getIngress("web")); !strings.HasPrefix(c, "True") {
			return c
		}
		return ""
	})
	h.quiesce()
	if got := h.albByHostname(host); aws.ToString(got.LoadBalancerArn) != aws.ToString(lb.LoadBalancerArn) {
		t.Errorf("the Ingress's ALB is %s, was %s", aws.ToString(got.LoadBalancerArn), aws.ToString(lb.LoadBalancerArn))
	}
	for k, n := range h.counts() {
		if n > 0 && (strings.HasPrefix(k.Action, "Delete") || strings.HasPrefix(k.Action, "Create")) {
			t.Errorf("lbsg called %s %s %d times after the switch", k.Service, k.Action, n)
		}
	}
	if after := h.awsInventory(); !slices.Equal(after, before) {
		t.Errorf("AWS changed across the switch:\nbefore %v\nafter  %v", before, after)
	}
}

// TestKeepAnnotationOnLiveClassDoesNotSurviveUninstall is the failure the old runbook led
// to, shown with Helm itself: helm.sh/resource-policy=keep on the live IngressClass and
// IngressClassParams does not stop `helm uninstall` from deleting them, because Helm reads
// the policy from the release's stored manifest; preflight said OK, and now says FAIL.
func TestKeepAnnotationOnLiveClassDoesNotSurviveUninstall(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	const ns = "kube-system"
	cfg := helmAction(t, ns)
	helmInstall(t, cfg, "old-runbook", ns, loadChart(t, "testdata/upstream-chart"), map[string]any{
		"clusterName": h.world.Cluster, "replicaCount": 0, "ingressClass": "alb-old",
		"ingressClassParams": map[string]any{"create": true, "spec": map[string]any{"scheme": internetFacing}},
	})
	for _, o := range []client.Object{&networkingv1.IngressClass{}, &elbv2api.IngressClassParams{}} {
		o.SetName("alb-old")
		h.kubectlAnnotate(o, map[string]string{"helm.sh/resource-policy": "keep"})
	}
	if r := h.ingressClassPreflight(); r.Status != preflight.Fail || !strings.Contains(r.Message, "does not help") {
		t.Errorf("preflight with the keep annotation on the live objects: %s %s, want FAIL", r.Status, r.Message)
	}
	helmUninstall(t, cfg, "old-runbook")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, o := range []client.Object{&networkingv1.IngressClass{}, &elbv2api.IngressClassParams{}} {
		err := fmt.Errorf("still there")
		for ctx.Err() == nil {
			if err = h.k8s.Get(ctx, client.ObjectKey{Name: "alb-old"}, o); apierrors.IsNotFound(err) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if !apierrors.IsNotFound(err) {
			t.Errorf("%T alb-old survived helm uninstall (%v): Helm's behaviour changed; revisit docs/migrate.md", o, err)
		}
	}
}
