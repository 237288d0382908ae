package controller

import (
	"context"
	"encoding/json"
	"net/http"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/lbsg/lbsg/internal/readiness"
)

// PodGatePath is where the Pod mutating webhook is served (upstream's path).
const PodGatePath = "/mutate-v1-pod"

// PodGateInjector is the Pod mutating webhook: a Pod created in a namespace labelled
// elbv2.k8s.aws/pod-readiness-gate-inject=enabled gets a target-health readiness gate for
// every ip target group it will be a target of (GateNames), so that it becomes Ready only
// once the load balancer sends it traffic, and a rolling update never runs ahead of it.
// It only ever adds gates; any error lets the Pod through unchanged, with the reason.
type PodGateInjector struct {
	Client       client.Reader
	Engine       *Engine
	CRDs         CRDs
	WithBindings bool
	decoder      admission.Decoder
}

// NewPodGateInjector returns the webhook's handler.
func NewPodGateInjector(c client.Reader, e *Engine, scheme *runtime.Scheme, crds CRDs, withBindings bool) *PodGateInjector {
	return &PodGateInjector{Client: c, Engine: e, CRDs: crds, WithBindings: withBindings, decoder: admission.NewDecoder(scheme)}
}

// Handle answers one admission review.
func (w *PodGateInjector) Handle(ctx context.Context, req admission.Request) admission.Response {
	if req.Operation != admissionv1.Create {
		return admission.Allowed("only Pod creation is mutated")
	}
	pod := &corev1.Pod{}
	if err := w.decoder.Decode(req, pod); err != nil {
		return admission.Errored(http.StatusBadRequest, err)
	}
	if pod.Namespace == "" {
		pod.Namespace = req.Namespace
	}
	// The webhook configuration selects the namespaces; checking again keeps a
	// configuration that selects too much from gating Pods nobody asked to gate.
	ns := &corev1.Namespace{}
	if err := w.Client.Get(ctx, client.ObjectKey{Name: pod.Namespace}, ns); err != nil {
		return w.allow(ctx, pod, "namespace not readable: "+err.Error())
	}
	if ns.Labels[readiness.InjectLabel] != readiness.InjectEnabled {
		return admission.Allowed("namespace " + pod.Namespace + " is not labelled " + readiness.InjectLabel + "=" + readiness.InjectEnabled)
	}
	names, err := w.Engine.GateNames(ctx, w.Client, pod, w.CRDs, w.WithBindings)
	if err != nil {
		return w.allow(ctx, pod, err.Error())
	}
	missing := readiness.Missing(pod, names)
	if len(missing) == 0 {
		return admission.Allowed("no ip target group selects the Pod")
	}
	pod.Spec.ReadinessGates = append(pod.Spec.ReadinessGates, missing...)
	out, err := json.Marshal(pod)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, err)
	}
	return admission.PatchResponseFromRaw(req.Object.Raw, out)
}

// allow lets a Pod through ungated when lbsg could not work out its gates: failing Pod
// creation would be worse than a rolling update without the gate. The reason is logged.
func (w *PodGateInjector) allow(ctx context.Context, pod *corev1.Pod, why string) admission.Response {
	log.FromContext(ctx).Error(nil, "readiness gates not injected", "namespace", pod.Namespace, "pod", pod.Name+pod.GenerateName, "reason", why)
	return admission.Allowed("readiness gates not injected: " + why)
}
