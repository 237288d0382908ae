package targets

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Endpoint is one address of an EndpointSlice endpoint with what its targetRef names.
// EndpointSlices can be written by anyone who can write Services: an address is only a
// claim until the Pod it names confirms it.
type Endpoint struct {
	Address                        string
	RefKind, RefNamespace, RefName string
}

// Pod is what the informer cache knows of a Pod.
type Pod struct {
	Namespace, Name string
	Labels          map[string]string
	// IPs are status.podIPs.
	IPs         []string
	HostNetwork bool
	// NodeIPs are the InternalIP addresses of the Pod's node, when the node is known.
	NodeIPs []string
	Live    Liveness
}

// Pods is what target selection knows of the cluster's Pods at one moment.
type Pods struct {
	// ByName are the Pods of the Service's namespace, by namespace/name.
	ByName map[string]Pod
	// ByIP are, for each endpoint address, every Pod of the cluster that reports it,
	// whatever its namespace.
	ByIP map[string][]Holder
	Now  time.Time
}

// Skipped is an endpoint address lbsg does not register, with the reason.
type Skipped struct {
	Address, Reason string
}

// PodEndpoint returns "" when the endpoint may be an ip target of a Service in namespace
// with selector, and otherwise why not. It accepts an address only when the endpoint's
// targetRef names a Pod that lbsg's cache holds in the Service's namespace, whose labels
// the Service selects, and whose status.podIPs include the address. A hostNetwork Pod's
// IP is its node's: it is accepted only as one of the node's InternalIPs, so its target
// ENI is the node's ENI, as with upstream, which registers the node IP of such a Pod.
// The Pod must be live (NotLive) and the address its own: no other live Pod of the
// cluster may report it (IPConflict).
func PodEndpoint(namespace string, selector map[string]string, ep Endpoint, pods Pods) string {
	if len(selector) == 0 {
		return "the Service has no selector"
	}
	if ep.RefKind != "Pod" {
		if ep.RefKind == "" {
			return "no targetRef to a Pod"
		}
		return "targetRef is a " + ep.RefKind + ", not a Pod"
	}
	if ep.RefNamespace != "" && ep.RefNamespace != namespace {
		return "the Pod is in another namespace"
	}
	pod, ok := pods.ByName[namespace+"/"+ep.RefName]
	if !ok {
		return "no such Pod"
	}
	if !Selects(selector, pod.Labels) {
		return "the Pod is not selected by the Service"
	}
	if !contains(pod.IPs, ep.Address) {
		return "not one of the Pod's IPs"
	}
	if pod.HostNetwork && !contains(pod.NodeIPs, ep.Address) {
		return "hostNetwork Pod, and not an InternalIP of its node"
	}
	if why := NotLive(pod.Live, pods.Now); why != "" {
		return why
	}
	return IPConflict(pod.Namespace, pod.Name, pods.ByIP[ep.Address], pods.Now)
}

// Selects reports whether a Service selector (every key equal) selects the labels.
func Selects(selector, labels map[string]string) bool {
	for k, v := range selector {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// SkippedMessage renders skipped addresses for one Event: grouped by reason, each group
// listing at most max addresses, and the whole at most budget characters (the groups that
// do not fit are counted), so the Event stays under the apiserver's limit whatever the
// EndpointSlices hold.
func SkippedMessage(skipped []Skipped, max, budget int) string {
	byReason := map[string][]string{}
	for _, s := range skipped {
		byReason[s.Reason] = append(byReason[s.Reason], s.Address)
	}
	reasons := make([]string, 0, len(byReason))
	for r := range byReason {
		reasons = append(reasons, r)
	}
	sort.Strings(reasons)
	var b strings.Builder
	left := 0
	for i, r := range reasons {
		addrs := byReason[r]
		sort.Strings(addrs)
		list, more := addrs, ""
		if len(addrs) > max {
			list, more = addrs[:max], fmt.Sprintf(" and %d more", len(addrs)-max)
		}
		part := fmt.Sprintf("%s%s (%s)", strings.Join(list, ", "), more, r)
		if i > 0 {
			part = "; " + part
		}
		if b.Len()+len(part) > budget && b.Len() > 0 {
			for _, rest := range reasons[i:] {
				left += len(byReason[rest])
			}
			break
		}
		b.WriteString(part)
	}
	if left > 0 {
		fmt.Fprintf(&b, "; %d more address(es) for other reasons", left)
	}
	return b.String()
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
