package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	elbv2api "github.com/lbsg/lbsg/api/v1beta1"
	"github.com/lbsg/lbsg/internal/readiness"
	"github.com/lbsg/lbsg/internal/spec"
	"github.com/lbsg/lbsg/internal/state"
	"github.com/lbsg/lbsg/internal/targets"
)

// GateRecheck is how soon a stack or binding with a Pod still waiting on its readiness gate
// is looked at again after a read of its target health found a change; without one, the
// delay doubles up to GateRecheckMax (readiness.NextPoll). Target health is read only then,
// never on a schedule of its own.
const (
	GateRecheck    = readiness.PollFirst
	GateRecheckMax = readiness.PollMax
)

// gatedGroup is a target group of ip targets whose Pods may wait on its readiness gate:
// the gate is named after the group (lbsg's target groups) or the binding (a
// TargetGroupBinding), and its Pods are in namespace.
type gatedGroup struct {
	gate, namespace string
	// arn is the target group's ARN; "" looks it up by name in the inventory.
	arn, name string
	// port is the port targets are registered on; 0 matches any.
	port int32
}

// stackGates are the gated groups of a stack: its ip target groups.
func stackGates(st *spec.Stack) []gatedGroup {
	if st == nil {
		return nil
	}
	var out []gatedGroup
	for _, tg := range st.TargetGroups {
		if tg.TargetType == spec.TargetIP && tg.Name != "" {
			out = append(out, gatedGroup{gate: tg.Name, namespace: tg.ServiceNamespace, name: tg.Name, port: tg.TrafficPort})
		}
	}
	return out
}

// syncReadinessGates sets the gate condition of every Pod that waits on one of groups:
// True once its target is healthy, False with ELB's reason until then. Target health is
// read, one call per group, only for the groups with a Pod waiting, and only when the
// group's read is due (gatePolls). recheck is how soon the groups must be looked at again,
// 0 when no Pod waits; a group that fails does not keep the others from being updated.
func (e *Engine) syncReadinessGates(ctx context.Context, c client.Client, groups []gatedGroup) (recheck time.Duration, err error) {
	var errs []error
	polls := e.polls()
	soonest := func(d time.Duration) {
		if recheck == 0 || d < recheck {
			recheck = d
		}
	}
	for _, g := range groups {
		pods := &corev1.PodList{}
		if err := c.List(ctx, pods, client.InNamespace(g.namespace)); err != nil {
			return GateRecheck, fmt.Errorf("list pods of %s: %w", g.namespace, err)
		}
		var pending []*corev1.Pod
		now := time.Now()
		for i := range pods.Items {
			if gatePending(&pods.Items[i], g.gate, now) {
				pending = append(pending, &pods.Items[i])
			}
		}
		key := g.namespace + "/" + g.gate
		if len(pending) == 0 {
			polls.done(key)
			continue
		}
		waiting := waitingPrint(pending)
		if due, wait := polls.due(key, waiting); !due {
			soonest(wait)
			continue
		}
		arn, err := e.gateARN(ctx, g)
		if err != nil || arn == "" {
			// Not created yet (or the inventory failed): the next look finds it.
			soonest(GateRecheck)
			errs = append(errs, err)
			continue
		}
		health, err := e.ELB.TargetHealth(ctx, arn)
		if err != nil {
			soonest(GateRecheck)
			errs = append(errs, err)
			continue
		}
		conds := make([]corev1.PodCondition, len(pending))
		stillWaiting := false
		for i, p := range pending {
			conds[i] = readiness.Condition(g.gate, healthOf(p, health, g.port))
			if conds[i].Status != corev1.ConditionTrue {
				stillWaiting = true
			}
			if err := writeGate(ctx, c, p, conds[i]); err != nil {
				stillWaiting = true
				errs = append(errs, err)
			}
		}
		next := polls.read(key, waiting, healthPrint(pending, conds))
		if stillWaiting {
			soonest(next)
		}
	}
	return recheck, errors.Join(errs...)
}

// gateRegistrable reports whether a Pod whose endpoint is not Ready is a target of the
// group whose gate is gate: it waits on the gate with its containers ready
// (readiness.Registrable), and it is live (targets.NotLive), as every target is.
func gateRegistrable(p *corev1.Pod, gate string, now time.Time) bool {
	return readiness.Registrable(p, gate) && liveTarget(p, now)
}

// gatePending reports whether lbsg writes the Pod's gate: it waits on the gate
// (readiness.Pending) and can be a target. A finished Pod, or one that no longer holds its
// IP, is never a target: its gate would be read for ever and never turn True.
func gatePending(p *corev1.Pod, gate string, now time.Time) bool {
	return readiness.Pending(p, gate) && liveTarget(p, now)
}

// afterGates ends a successful reconcile: it updates the readiness gates of the groups and
// asks to be called again when a group's target health is next due while a Pod waits,
// else after resync.
func (e *Engine) afterGates(ctx context.Context, c client.Client, groups []gatedGroup, resync time.Duration) (ctrl.Result, error) {
	recheck, err := e.syncReadinessGates(ctx, c, groups)
	if err != nil {
		return ctrl.Result{}, err
	}
	if recheck > 0 && (resync <= 0 || resync > recheck) {
		return ctrl.Result{RequeueAfter: recheck}, nil
	}
	return ctrl.Result{RequeueAfter: resync}, nil
}

func (e *Engine) gateARN(ctx context.Context, g gatedGroup) (string, error) {
	if g.arn != "" {
		return g.arn, nil
	}
	tgs, err := e.ELB.TargetGroups(ctx, false)
	if err != nil {
		return "", err
	}
	for _, tg := range tgs {
		if tg.Name == g.name {
			return tg.ARN, nil
		}
	}
	return "", nil
}

// healthOf is the health of the Pod's target in the group, nil when it is not a target.
func healthOf(p *corev1.Pod, health map[state.Target]readiness.Health, port int32) *readiness.Health {
	for _, ip := range p.Status.PodIPs {
		for t, h := range health {
			if t.ID == ip.IP && (port == 0 || t.Port == port) {
				return &h
			}
		}
	}
	return nil
}

// writeGate patches the Pod's gate condition when it changed. A strategic merge patch of
// status.conditions (merged by type) leaves the kubelet's conditions alone.
func writeGate(ctx context.Context, c client.Client, p *corev1.Pod, want corev1.PodCondition) error {
	if !readiness.Changed(p, want) {
		return nil
	}
	want.LastTransitionTime = metav1.Now()
	for _, have := range p.Status.Conditions {
		if have.Type == want.Type && have.Status == want.Status {
			want.LastTransitionTime = have.LastTransitionTime
		}
	}
	body, err := json.Marshal(map[string]any{"status": map[string]any{"conditions": []corev1.PodCondition{want}}})
	if err != nil {
		return err
	}
	if err := c.Status().Patch(ctx, p, client.RawPatch(types.StrategicMergePatchType, body)); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("set readiness gate %s of Pod %s/%s: %w", want.Type, p.Namespace, p.Name, err)
	}
	return nil
}

// GateNames are the readiness gates the webhook gives a new Pod: one per ip target group
// lbsg serves from a Service that selects the Pod (an NLB Service's, or an Ingress
// backend's), named after the target group as upstream names its bindings, and one per
// TargetGroupBinding of target type ip whose Service selects it, named after the binding.
// Only Kubernetes objects are read (from the cache), never AWS: a Pod is gated from the
// moment its Service asks for ip targets, even before the load balancer exists.
func (e *Engine) GateNames(ctx context.Context, c client.Reader, pod *corev1.Pod, crds CRDs, withBindings bool) ([]string, error) {
	objs, err := listIngressObjects(ctx, c, crds)
	if err != nil {
		return nil, err
	}
	services := &corev1.ServiceList{}
	if err := c.List(ctx, services); err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	slices := &discoveryv1.EndpointSliceList{}
	if err := c.List(ctx, slices, client.InNamespace(pod.Namespace)); err != nil {
		return nil, fmt.Errorf("list endpoint slices of %s: %w", pod.Namespace, err)
	}
	objs.Services, objs.Slices = services.Items, slices.Items
	selected := map[string]bool{}
	for _, s := range objs.Services {
		if s.Namespace == pod.Namespace && s.DeletionTimestamp == nil && len(s.Spec.Selector) > 0 && targets.Selects(s.Spec.Selector, pod.Labels) {
			selected[s.Name] = true
		}
	}
	if len(selected) == 0 {
		return nil, nil
	}
	var names []string
	ipGroups := func(st *spec.Stack) {
		if st == nil {
			return
		}
		for _, tg := range st.TargetGroups {
			if tg.TargetType == spec.TargetIP && tg.ServiceNamespace == pod.Namespace && selected[tg.ServiceName] {
				names = append(names, tg.Name)
			}
		}
	}
	for i := range objs.Services {
		svc := &objs.Services[i]
		if !selected[svc.Name] || svc.Namespace != pod.Namespace || !spec.OwnsService(svc, e.Settings) {
			continue
		}
		st, _ := spec.BuildService(svc, e.Settings, spec.ServiceFacts{EndpointPorts: endpointPorts(svc, objs.Slices)})
		ipGroups(st)
	}
	for id, g := range IngressGroups(objs, e.GroupRules()) {
		routes := false
		for _, m := range g.Members {
			for _, name := range spec.BackendServices(m.Ingress) {
				routes = routes || m.Ingress.Namespace == pod.Namespace && selected[name]
			}
		}
		if routes && len(g.Unresolved) == 0 {
			ipGroups(spec.BuildIngressGroupMembers(id, g.Members, e.Settings, ingressFactsOf(g, objs, nil)).Stack)
		}
	}
	if withBindings {
		bindings := &elbv2api.TargetGroupBindingList{}
		if err := c.List(ctx, bindings, client.InNamespace(pod.Namespace)); err != nil && !meta.IsNoMatchError(err) {
			return nil, fmt.Errorf("list target group bindings of %s: %w", pod.Namespace, err)
		}
		for _, b := range bindings.Items {
			// Without an explicit ip target type lbsg cannot tell, without AWS, that the
			// Pods are targets: a gate that never turns True would keep them unready.
			if b.DeletionTimestamp == nil && b.Spec.TargetType != nil && *b.Spec.TargetType == elbv2api.TargetTypeIP &&
				selected[b.Spec.ServiceRef.Name] {
				names = append(names, b.Name)
			}
		}
	}
	sort.Strings(names)
	return names, nil
}
