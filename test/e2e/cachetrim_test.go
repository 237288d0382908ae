package e2e

import (
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbsg/lbsg/internal/controller"
	"github.com/lbsg/lbsg/internal/localenv"
	"github.com/lbsg/lbsg/internal/naming"
)

// tenantData are annotations lbsg never reads, as tenants and their tools write them: its
// informer cache drops them, so they survive only if lbsg never writes an object back whole.
func tenantData() map[string]string {
	return map[string]string{
		"kubectl.kubernetes.io/last-applied-configuration": strings.Repeat("x", 200<<10),
		"team.example.com/owner":                           "team-a",
	}
}

func missingTenantData(kind, name string, have map[string]string) string {
	for k, v := range tenantData() {
		if have[k] != v {
			return kind + " " + name + " lost annotation " + k
		}
	}
	return ""
}

// Issue 15 §2 "Neither memory nor AWS calls grow with what tenants write": the informer
// cache keeps only what lbsg reads, and lbsg still loses nothing of what it does not read.
// A Service and an Ingress (and its backend Service) carrying a tenant's annotations get
// lbsg's finalizers, conditions and load-balancer status, a failure condition and its
// repair; every annotation and the spec are as the tenant wrote them.
func TestLbsgWritesKeepWhatItsCacheDrops(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{Nodes: 1})
	h.ensureIngressClass(albClass, "")
	h.startController()

	svc := webserver("keep-svc", tenantData())
	svc.Labels = map[string]string{"team": "a"}
	h.create(svc)
	backend := backendService("keep-backend", 30801, tenantData())
	h.create(backend)
	ingAnn := tenantData()
	ingAnn["alb.ingress.kubernetes.io/scheme"] = "internet-facing"
	h.create(ingress("keep-ing", "keep-backend", ingAnn))
	h.waitHostname("keep-svc")
	h.waitIngressHostname("keep-ing")

	// A failure and its repair: lbsg writes Ready=False, then Ready=True again.
	h.patchAnnotations("keep-svc", map[string]string{"service.beta.kubernetes.io/aws-load-balancer-scheme": "public"})
	h.eventually("Ready=False on keep-svc", 30*time.Second, func() string {
		if c := meta.FindStatusCondition(h.service("keep-svc").Status.Conditions, controller.ConditionReady); c == nil || c.Status != "False" {
			return conditionMessage(h.service("keep-svc"))
		}
		return ""
	})
	h.patchAnnotations("keep-svc", map[string]string{"service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing"})
	h.eventually("Ready=True on keep-svc", 30*time.Second, func() string {
		if c := meta.FindStatusCondition(h.service("keep-svc").Status.Conditions, controller.ConditionReady); c == nil || c.Status != "True" {
			return conditionMessage(h.service("keep-svc"))
		}
		return ""
	})
	h.quiesce()

	got := h.service("keep-svc")
	if msg := missingTenantData("Service", "keep-svc", got.Annotations); msg != "" {
		t.Error(msg)
	}
	if got.Labels["team"] != "a" || len(got.Spec.Ports) != 1 || got.Spec.Selector["role"] != "webserver" {
		t.Errorf("Service keep-svc changed: labels %v, spec %+v", got.Labels, got.Spec)
	}
	if !slices.Contains(got.Finalizers, naming.ServiceFinalizer) {
		t.Errorf("Service keep-svc finalizers = %v, want lbsg's", got.Finalizers)
	}
	b := &corev1.Service{}
	if err := h.k8s.Get(h.ctx, types.NamespacedName{Namespace: "default", Name: "keep-backend"}, b); err != nil {
		t.Fatal(err)
	}
	if msg := missingTenantData("Service", "keep-backend", b.Annotations); msg != "" {
		t.Error(msg)
	}
	ing := h.getIngress("keep-ing")
	if msg := missingTenantData("Ingress", "keep-ing", ing.Annotations); msg != "" {
		t.Error(msg)
	}
	if c := controller.IngressCondition(ing); c == nil || c.Status != "True" || len(ing.Finalizers) == 0 || ing.Spec.IngressClassName == nil {
		t.Errorf("Ingress keep-ing: condition %s, finalizers %v, class %v", ingressCondition(ing), ing.Finalizers, ing.Spec.IngressClassName)
	}

	// Deleting goes through lbsg's finalizer removal, a patch as well.
	if err := h.k8s.Delete(h.ctx, got); err != nil {
		t.Fatal(err)
	}
	h.eventually("keep-svc deleted", 60*time.Second, func() string {
		if err := h.k8s.Get(h.ctx, client.ObjectKeyFromObject(got), &corev1.Service{}); err == nil {
			return "still there"
		}
		return ""
	})
}
