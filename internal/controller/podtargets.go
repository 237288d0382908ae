package controller

import (
	"context"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbsg/lbsg/internal/spec"
	"github.com/lbsg/lbsg/internal/state"
	"github.com/lbsg/lbsg/internal/targets"
)

// EventEndpointsSkipped is the reason of the Warning Event that lists the endpoint
// addresses lbsg does not register.
const EventEndpointsSkipped = "EndpointsSkipped"

// maxSkippedShown bounds the addresses an Event lists per reason, and skippedBudget the
// characters of the list: with the rest of the message, it stays under the apiserver's
// 1,024-character limit on an Event's note.
const (
	maxSkippedShown = 5
	skippedBudget   = 480
)

// podTargets returns the ready endpoint addresses of a target group's Service port that
// belong to Pods the Service selects (targets.PodEndpoint), with their ports, and the
// addresses it skipped with the reason. An EndpointSlice is anyone's to write; a Pod's IPs
// are the kubelet's. A Pod that is not Ready only because it waits on the group's
// readiness gate (tg.Name) is a target too: its gate turns True once it is healthy there.
func podTargets(tg spec.TargetGroup, objs ClusterObjects) ([]state.Target, []targets.Skipped) {
	return endpointTargets(tg, objs, false)
}

// ruleTargets are the addresses whose ENIs get the target group's rules: podTargets with
// the endpoints that are not ready too. A Pod that turns unready and ready again (a
// failing probe, a tenant editing its EndpointSlice) stays where it is, on the same ENI
// and port: its rules stay, so readiness flapping writes nothing on a shared SG. Only
// registration follows readiness.
func ruleTargets(tg spec.TargetGroup, objs ClusterObjects) []state.Target {
	out, _ := endpointTargets(tg, objs, true)
	return out
}

// endpointTargets is podTargets; withUnready keeps the endpoints that are not ready.
func endpointTargets(tg spec.TargetGroup, objs ClusterObjects, withUnready bool) ([]state.Target, []targets.Skipped) {
	var out []state.Target
	var skipped []targets.Skipped
	var pods *targets.Pods
	var gated gatedPods
	now := time.Now()
	svc := findService(objs.Services, tg.ServiceNamespace, tg.ServiceName)
	slices := slicesOf(tg.ServiceNamespace, tg.ServiceName, objs.Slices)
	for _, s := range slices {
		if s.AddressType != discoveryv1.AddressTypeIPv4 {
			continue
		}
		var port int32
		for _, p := range s.Ports {
			n := ""
			if p.Name != nil {
				n = *p.Name
			}
			if n == tg.ServicePortName && p.Port != nil {
				port = *p.Port
			}
		}
		if port == 0 {
			continue
		}
		for _, ep := range s.Endpoints {
			if !withUnready && ep.Conditions.Ready != nil && !*ep.Conditions.Ready && !gated.waits(tg, ep.TargetRef, objs, now) {
				continue
			}
			if pods == nil {
				pods = podsOf(tg.ServiceNamespace, sliceAddresses(slices), objs, now)
			}
			for _, a := range ep.Addresses {
				reason := "the Service is not known"
				if svc != nil {
					reason = targets.PodEndpoint(svc.Namespace, svc.Spec.Selector, endpointOf(a, ep.TargetRef), *pods)
				}
				if reason != "" {
					skipped = append(skipped, targets.Skipped{Address: a, Reason: reason})
					continue
				}
				out = append(out, state.Target{ID: a, Port: port})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, skipped
}

// gatedPods indexes, on first use, the live Pods of a target group's namespace that wait
// on its readiness gate with their containers ready.
type gatedPods map[string]bool

func (g *gatedPods) waits(tg spec.TargetGroup, ref *corev1.ObjectReference, objs ClusterObjects, now time.Time) bool {
	if tg.Name == "" || ref == nil || ref.Kind != "Pod" {
		return false
	}
	if *g == nil {
		*g = gatedPods{}
		for i := range objs.Pods {
			p := &objs.Pods[i]
			if p.Namespace == tg.ServiceNamespace && gateRegistrable(p, tg.Name, now) {
				(*g)[p.Name] = true
			}
		}
	}
	return (ref.Namespace == "" || ref.Namespace == tg.ServiceNamespace) && (*g)[ref.Name]
}

func endpointOf(address string, ref *corev1.ObjectReference) targets.Endpoint {
	ep := targets.Endpoint{Address: address}
	if ref != nil {
		ep.RefKind, ep.RefNamespace, ep.RefName = ref.Kind, ref.Namespace, ref.Name
	}
	return ep
}

// podsOf is what target selection knows of the Pods at now: the namespace's Pods by
// namespace/name, with their node's InternalIPs and liveness, and every Pod of the cluster
// that reports one of addresses.
func podsOf(namespace string, addresses []string, objs ClusterObjects, now time.Time) *targets.Pods {
	out := &targets.Pods{ByName: map[string]targets.Pod{}, ByIP: map[string][]targets.Holder{}, Now: now}
	for i := range objs.Pods {
		p := &objs.Pods[i]
		if p.Namespace != namespace {
			continue
		}
		tp := targets.Pod{Namespace: p.Namespace, Name: p.Name, Labels: p.Labels, HostNetwork: p.Spec.HostNetwork, Live: podLiveness(p)}
		tp.IPs = podIPsOf(p)
		if tp.HostNetwork {
			tp.NodeIPs = nodeInternalIPs(objs.Nodes, p.Spec.NodeName)
		}
		out.ByName[p.Namespace+"/"+p.Name] = tp
	}
	for _, a := range addresses {
		if _, done := out.ByIP[a]; done {
			continue
		}
		holders, ok := objs.IPHolders[a]
		if !ok {
			continue
		}
		out.ByIP[a] = make([]targets.Holder, 0, len(holders))
		for _, p := range holders {
			out.ByIP[a] = append(out.ByIP[a], holderOf(p))
		}
	}
	return out
}

func nodeInternalIPs(nodes []corev1.Node, name string) []string {
	var out []string
	for _, n := range nodes {
		if n.Name != name || name == "" {
			continue
		}
		for _, a := range n.Status.Addresses {
			if a.Type == corev1.NodeInternalIP {
				out = append(out, a.Address)
			}
		}
	}
	return out
}

func findService(services []corev1.Service, namespace, name string) *corev1.Service {
	for i := range services {
		if services[i].Namespace == namespace && services[i].Name == name {
			return &services[i]
		}
	}
	return nil
}

// skippedNotices turns skipped addresses into one notice per Service.
func skippedNotices(skipped map[string][]targets.Skipped) []spec.Notice {
	keys := make([]string, 0, len(skipped))
	for k := range skipped {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []spec.Notice
	for _, k := range keys {
		seen := map[targets.Skipped]bool{}
		var list []targets.Skipped
		for _, s := range skipped[k] {
			if !seen[s] {
				seen[s] = true
				list = append(list, s)
			}
		}
		out = append(out, spec.Notice{Reason: EventEndpointsSkipped, Message: fmt.Sprintf(
			"Service %s: %d endpoint address(es) not registered as ip targets, and their security groups left alone: %s; only IPs of Pods the Service's selector selects are targets (fix the EndpointSlice, or give the Service a selector)",
			k, len(list), targets.SkippedMessage(list, maxSkippedShown, skippedBudget))})
	}
	return out
}

// servicesSelecting returns the Services whose targets a Pod's change may change: those
// of its namespace whose selector selects it, and those that select another Pod reporting
// one of its IPs (PodIPIndex), in any namespace: an IP is a target only while a single
// live Pod holds it.
func servicesSelecting(ctx context.Context, c client.Reader, pod client.Object) []corev1.Service {
	out := servicesOf(ctx, c, pod)
	seen := map[string]bool{pod.GetNamespace() + "/" + pod.GetName(): true}
	for _, ip := range podIPsOf(pod) {
		others := &corev1.PodList{}
		if err := c.List(ctx, others, client.MatchingFields{PodIPIndex: ip}); err != nil {
			continue
		}
		for i := range others.Items {
			o := &others.Items[i]
			if key := o.Namespace + "/" + o.Name; !seen[key] {
				seen[key] = true
				out = append(out, servicesOf(ctx, c, o)...)
			}
		}
	}
	return out
}

// servicesOf returns the Services in a Pod's namespace whose selector selects it.
func servicesOf(ctx context.Context, c client.Reader, pod client.Object) []corev1.Service {
	list := &corev1.ServiceList{}
	if err := c.List(ctx, list, client.InNamespace(pod.GetNamespace())); err != nil {
		return nil
	}
	var out []corev1.Service
	for _, s := range list.Items {
		if len(s.Spec.Selector) > 0 && targets.Selects(s.Spec.Selector, pod.GetLabels()) {
			out = append(out, s)
		}
	}
	return out
}
