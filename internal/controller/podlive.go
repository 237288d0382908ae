package controller

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbsg/lbsg/internal/readiness"
	"github.com/lbsg/lbsg/internal/targets"
)

// PodIPIndex is the field index of the Pod informer by IP: every entry of status.podIPs.
// An ip target must be the only live Pod of the cluster with its IP, and the index answers
// that for one IP without listing every Pod.
const PodIPIndex = "status.podIPs"

// IndexPodIPs adds PodIPIndex to the manager's Pod informer.
func IndexPodIPs(ctx context.Context, indexer client.FieldIndexer) error {
	if err := indexer.IndexField(ctx, &corev1.Pod{}, PodIPIndex, podIPsOf); err != nil {
		return fmt.Errorf("index pods by IP: %w", err)
	}
	return nil
}

func podIPsOf(o client.Object) []string {
	p, ok := o.(*corev1.Pod)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(p.Status.PodIPs))
	for _, ip := range p.Status.PodIPs {
		if ip.IP != "" {
			out = append(out, ip.IP)
		}
	}
	return out
}

// podsWithIPs returns, for each of ips, every Pod of the cluster that reports it, from
// PodIPIndex. A reader without the index (lbsg plan's, which reads the API server) lists
// every Pod once instead.
func podsWithIPs(ctx context.Context, c client.Reader, ips []string) (map[string][]*corev1.Pod, error) {
	out := make(map[string][]*corev1.Pod, len(ips))
	for _, ip := range ips {
		if _, done := out[ip]; done {
			continue
		}
		list := &corev1.PodList{}
		if err := c.List(ctx, list, client.MatchingFields{PodIPIndex: ip}); err != nil {
			all := &corev1.PodList{}
			if err := c.List(ctx, all); err != nil {
				return nil, fmt.Errorf("list pods: %w", err)
			}
			return podsByIP(all.Items, ips), nil
		}
		out[ip] = nil
		for i := range list.Items {
			out[ip] = append(out[ip], &list.Items[i])
		}
	}
	return out, nil
}

// podsByIP indexes pods by each of their IPs; only ips when given.
func podsByIP(pods []corev1.Pod, ips []string) map[string][]*corev1.Pod {
	var want map[string]bool
	if ips != nil {
		want = make(map[string]bool, len(ips))
		for _, ip := range ips {
			want[ip] = true
		}
	}
	out := map[string][]*corev1.Pod{}
	for i := range pods {
		p := &pods[i]
		for _, ip := range podIPsOf(p) {
			if want == nil || want[ip] {
				out[ip] = append(out[ip], p)
			}
		}
	}
	for ip := range want {
		if _, ok := out[ip]; !ok {
			out[ip] = nil
		}
	}
	return out
}

// sliceAddresses are the addresses of the IPv4 EndpointSlices' endpoints.
func sliceAddresses(slices []discoveryv1.EndpointSlice) []string {
	var out []string
	for _, s := range slices {
		if s.AddressType != discoveryv1.AddressTypeIPv4 {
			continue
		}
		for _, ep := range s.Endpoints {
			out = append(out, ep.Addresses...)
		}
	}
	return out
}

// podLiveness is what targets.NotLive and targets.HoldsIP read of a Pod.
func podLiveness(p *corev1.Pod) targets.Liveness {
	l := targets.Liveness{Phase: string(p.Status.Phase), HasIP: len(podIPsOf(p)) > 0, Gated: readiness.HasAnyGate(p)}
	if p.DeletionTimestamp != nil {
		l.Deadline = p.DeletionTimestamp.Time
	}
	return l
}

func holderOf(p *corev1.Pod) targets.Holder {
	return targets.Holder{Namespace: p.Namespace, Name: p.Name, HostNetwork: p.Spec.HostNetwork, Live: podLiveness(p)}
}

// liveTarget reports whether the Pod may be a target now (targets.NotLive): what target
// selection, the readiness gates and the reference check agree on.
func liveTarget(p *corev1.Pod, now time.Time) bool {
	return targets.NotLive(podLiveness(p), now) == ""
}
