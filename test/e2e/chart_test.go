package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/funcr"
	"github.com/spf13/pflag"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbsg/lbsg/internal/app"
	"github.com/lbsg/lbsg/internal/config"
	"github.com/lbsg/lbsg/internal/controller"
	"github.com/lbsg/lbsg/internal/localenv"
	"github.com/lbsg/lbsg/test/chart"
)

// chartFieldManager is the field manager the chart's objects are applied with, as Helm's.
const chartFieldManager = "helm"

// serviceMonitorCRD stands in for the Prometheus Operator's CRD, which a cluster with
// serviceMonitor.enabled has: only its name and kind matter to the API server here.
// Unstructured, as the test client's scheme has no apiextensions types.
func serviceMonitorCRD(t *testing.T) *unstructured.Unstructured {
	preserve := true
	crd := &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "servicemonitors.monitoring.coreos.com"},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "monitoring.coreos.com",
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "servicemonitors", Singular: "servicemonitor",
				Kind: "ServiceMonitor", ListKind: "ServiceMonitorList"},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object", XPreserveUnknownFields: &preserve}}}},
		},
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(crd)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetGroupVersionKind(apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition"))
	return u
}

// applyRelease applies what `helm install` would create, server-side: the chart's CRDs
// first (waiting until they are served), then every rendered object in Helm's install
// order. The objects the release created are deleted when the test ends; CRDs the control
// plane had already are kept.
func (h *harness) applyRelease(rel *chart.Release) {
	h.t.Helper()
	var created []client.Object
	h.t.Cleanup(func() {
		// lbsg runs under these objects' RBAC: stop it first.
		h.stopController()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for i := len(created) - 1; i >= 0; i-- {
			if err := plane.Client.Delete(ctx, created[i]); err != nil && !apierrors.IsNotFound(err) {
				h.t.Errorf("delete %s %s: %v", created[i].GetObjectKind().GroupVersionKind().Kind, created[i].GetName(), err)
			}
		}
	})
	existed := func(u *unstructured.Unstructured) bool {
		probe := &unstructured.Unstructured{}
		probe.SetGroupVersionKind(u.GroupVersionKind())
		err := h.k8s.Get(h.ctx, client.ObjectKeyFromObject(u), probe)
		return err == nil
	}
	apply := func(u *unstructured.Unstructured) {
		h.t.Helper()
		keep := existed(u)
		if err := h.k8s.Apply(h.ctx, client.ApplyConfigurationFromUnstructured(u.DeepCopy()), client.FieldOwner(chartFieldManager), client.ForceOwnership); err != nil {
			h.t.Fatalf("server-side apply %s %s/%s: %v", u.GetKind(), u.GetNamespace(), u.GetName(), err)
		}
		if !keep {
			created = append(created, u.DeepCopy())
		}
	}

	sm := serviceMonitorCRD(h.t)
	if err := h.k8s.Create(h.ctx, sm); err != nil && !apierrors.IsAlreadyExists(err) {
		h.t.Fatalf("create the ServiceMonitor CRD: %v", err)
	}
	crds := []string{sm.GetName()}
	for _, c := range rel.CRDs {
		apply(c)
		crds = append(crds, c.GetName())
	}
	h.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = plane.Client.Delete(ctx, sm)
	})
	for _, name := range crds {
		h.eventually("CRD "+name+" established", 30*time.Second, func() string {
			u := &unstructured.Unstructured{}
			u.SetGroupVersionKind(apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition"))
			if err := h.k8s.Get(h.ctx, client.ObjectKey{Name: name}, u); err != nil {
				return err.Error()
			}
			c := &apiextensionsv1.CustomResourceDefinition{}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, c); err != nil {
				return err.Error()
			}
			for _, cond := range c.Status.Conditions {
				if cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue {
					return ""
				}
			}
			return "not established"
		})
	}
	// The API server's discovery of a new CRD reaches the client's REST mapper lazily;
	// retry the first object of a new kind for a short while.
	for _, u := range rel.Objects {
		if ns := u.GetNamespace(); ns != "" {
			nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}
			if err := h.k8s.Create(h.ctx, nsObj); err != nil && !apierrors.IsAlreadyExists(err) {
				h.t.Fatalf("create namespace %s: %v", ns, err)
			}
		}
		var err error
		for i := 0; i < 20; i++ {
			if err = h.k8s.Apply(h.ctx, client.ApplyConfigurationFromUnstructured(u.DeepCopy()), client.FieldOwner(chartFieldManager),
				client.ForceOwnership, client.DryRunAll); err == nil || !meta.IsNoMatchError(err) {
				break
			}
			time.Sleep(250 * time.Millisecond)
		}
		if err != nil {
			h.t.Fatalf("server-side apply (dry run) %s %s/%s: %v", u.GetKind(), u.GetNamespace(), u.GetName(), err)
		}
		apply(u)
	}
}

// freeLoopbackAddr returns a loopback address with a port free right now.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestChartInstalledControllerConvergesSeed003UnderItsRBAC installs the chart, rendered
// with an upstream user's values file, into the test cluster for real (server-side apply
// of the CRDs and every rendered object), then runs lbsg in-process exactly as the
// rendered Deployment's container would (its arguments and environment) as the rendered
// ServiceAccount, so that only the rendered ClusterRole and Role apply. The seed 003
// Service converges with no forbidden error, the leader Lease is taken in the release
// namespace, and the probes' paths answer on the health port.
//
// What differs from the Pod, and only this: AWS is the emulator (--aws-api-endpoints; the
// values' region and VPC are the test world's), the Kubernetes client is the test control
// plane's admin impersonating the ServiceAccount (instead of the in-cluster token), and
// the metrics and health ports are free loopback ports (--metrics-bind-addr,
// --health-probe-bind-addr), since other test processes share the machine; the probes
// are checked on the health port with the rendered paths.
func TestChartInstalledControllerConvergesSeed003UnderItsRBAC(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	forbidden := watchForbidden(t)

	values, err := chart.ReadValues("../chart/testdata/upstream-values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	values["clusterName"] = h.world.Cluster
	values["region"] = localenv.Region
	values["vpcId"] = h.world.VPCID
	// lbsg's own addition, so that every template is applied.
	values["dashboards"] = map[string]any{"enabled": true}
	rel, err := chart.Render("lbsg", "kube-system", values)
	if err != nil {
		t.Fatalf("render the chart: %v", err)
	}
	if rel.Find("ConfigMap", "lbsg-dashboard") == nil || rel.Find("ServiceMonitor", "lbsg") == nil {
		t.Fatalf("rendered %v, want the dashboard ConfigMap and the ServiceMonitor too", rel.Kinds())
	}
	h.applyRelease(rel)

	d, err := rel.Deployment()
	if err != nil {
		t.Fatal(err)
	}
	c, err := rel.Container()
	if err != nil {
		t.Fatal(err)
	}
	// What the API server stored is what was rendered: the Deployment and its arguments.
	stored := &unstructured.Unstructured{}
	stored.SetGroupVersionKind(d.GroupVersionKind())
	if err := h.k8s.Get(h.ctx, client.ObjectKey{Namespace: d.Namespace, Name: d.Name}, stored); err != nil {
		t.Fatalf("the applied Deployment: %v", err)
	}
	storedArgs, _, _ := unstructured.NestedSlice(stored.Object, "spec", "template", "spec", "containers")
	if got := fmt.Sprint(storedArgs[0].(map[string]any)["args"]); got != fmt.Sprint(c.Args) {
		t.Fatalf("stored args %s, rendered %v", got, c.Args)
	}
	ic := &unstructured.Unstructured{}
	ic.SetAPIVersion("networking.k8s.io/v1")
	ic.SetKind("IngressClass")
	if err := h.k8s.Get(h.ctx, client.ObjectKey{Name: "alb"}, ic); err != nil || ic.GetAnnotations()["helm.sh/resource-policy"] != "keep" {
		t.Fatalf("the applied IngressClass alb: %v, annotations %v", err, ic.GetAnnotations())
	}

	// The container's environment, as the kubelet would set it.
	for _, e := range c.Env {
		if e.ValueFrom != nil {
			t.Fatalf("env %s comes from %v: this test sets literal values only", e.Name, e.ValueFrom)
		}
		t.Setenv(e.Name, e.Value)
	}
	healthAddr := freeLoopbackAddr(t)
	overrides := []string{
		"--aws-api-endpoints=EC2=" + moto.Endpoint + ",Elastic Load Balancing v2=" + moto.Endpoint,
		"--metrics-bind-addr=" + freeLoopbackAddr(t),
		"--health-probe-bind-addr=" + healthAddr,
	}
	for _, a := range c.Args {
		for _, o := range overrides {
			if strings.SplitN(a, "=", 2)[0] == strings.SplitN(o, "=", 2)[0] {
				t.Fatalf("the rendered arguments set %s, which this test overrides", a)
			}
		}
	}
	cfg := &config.Config{}
	fs := pflag.NewFlagSet("lbsg controller", pflag.ContinueOnError)
	cfg.AddFlags(fs)
	if err := fs.Parse(append(append([]string(nil), c.Args...), overrides...)); err != nil {
		t.Fatalf("lbsg does not accept the rendered arguments %q: %v", c.Args, err)
	}
	if !cfg.EnableLeaderElection || cfg.LeaderElectionNamespace != "kube-system" {
		t.Fatalf("leader election %v in %q, want on in the release namespace", cfg.EnableLeaderElection, cfg.LeaderElectionNamespace)
	}

	sa := d.Spec.Template.Spec.ServiceAccountName
	if rel.Find("ServiceAccount", sa) == nil {
		t.Fatalf("the Deployment runs as %s, which the release does not create: %v", sa, rel.Kinds())
	}
	restCfg := rest.CopyConfig(plane.Config)
	restCfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + d.Namespace + ":" + sa}
	asSA, err := client.New(restCfg, client.Options{Scheme: plane.Client.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	// Only the release's RBAC is in force: the ServiceAccount can list Services and cannot
	// read Secrets.
	h.eventually("the release's RBAC in force", 20*time.Second, func() string {
		if err := asSA.List(h.ctx, &corev1.ServiceList{}); err != nil {
			return err.Error()
		}
		return ""
	})
	if err := asSA.List(h.ctx, &corev1.SecretList{}); !apierrors.IsForbidden(err) {
		t.Fatalf("list secrets as the ServiceAccount: %v, want forbidden", err)
	}

	h.startControllerConfig(cfg, app.RunOptions{RestConfig: restCfg,
		Logger: funcr.New(func(prefix, args string) { forbidden.add(prefix + " " + args) }, funcr.Options{})})
	h.t.Cleanup(func() {
		h.stopController()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = plane.Client.Delete(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: cfg.LeaderElectionID}})
	})

	h.create(webserver("webserver", nil))
	h.waitHostname("webserver")
	h.waitEventOf("Service", "webserver", controller.EventSuccessfullyDeploy, "")
	svc := h.service("webserver")
	if cond := meta.FindStatusCondition(svc.Status.Conditions, controller.ConditionReady); cond == nil || cond.Status != metav1.ConditionTrue {
		t.Errorf("Ready condition = %s, want True", conditionMessage(svc))
	}

	lease := &coordinationv1.Lease{}
	if err := h.k8s.Get(h.ctx, client.ObjectKey{Namespace: "kube-system", Name: cfg.LeaderElectionID}, lease); err != nil {
		t.Errorf("the leader Lease in the release namespace: %v", err)
	} else if lease.Spec.HolderIdentity == nil || *lease.Spec.HolderIdentity == "" {
		t.Errorf("the leader Lease has no holder: %+v", lease.Spec)
	}

	for _, probe := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe} {
		if probe == nil || probe.HTTPGet == nil {
			t.Fatalf("the container has no HTTP probes: %+v %+v", c.LivenessProbe, c.ReadinessProbe)
		}
		url := "http://" + healthAddr + probe.HTTPGet.Path
		h.eventually("probe "+url, 20*time.Second, func() string {
			resp, err := http.Get(url)
			if err != nil {
				return err.Error()
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK {
				return fmt.Sprintf("%d %s", resp.StatusCode, body)
			}
			return ""
		})
	}

	// Every informer (Ingress side included) has listed and watched by now; give a failed
	// watch time to be retried and reported.
	h.quiesce()
	select {
	case err := <-h.done:
		h.stop = nil
		t.Fatalf("controller stopped: %v", err)
	default:
	}
	if seen := forbidden.all(); len(seen) > 0 {
		t.Fatalf("forbidden under the chart's RBAC:\n%s", strings.Join(seen, "\n"))
	}
}
