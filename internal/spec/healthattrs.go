package spec

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/lbsg/lbsg/internal/annotations"
)

// NoticeAttributesIgnored: an attribute or health-check setting the user wrote that has
// nothing to apply to (a listener-attributes key naming no listener, success codes on a TCP
// health check).
const NoticeAttributesIgnored = "AttributesIgnored"

// applyServiceAttrs puts a Service's health-check settings and attributes on its stack.
// Only what the user set is put there, so the planner leaves everything else as AWS has it.
func applyServiceAttrs(st *Stack, interval int32, a annotations.ServiceAttrs) {
	h := a.Health
	h.Interval = interval
	for i := range st.TargetGroups {
		tg := &st.TargetGroups[i]
		setHealth(&tg.HealthCheck, h)
		if h.SuccessCodes != "" && tg.HealthCheck.Protocol == "TCP" {
			tg.HealthCheck.SuccessCodes = ""
			st.Notices = appendOnce(st.Notices, Notice{Reason: NoticeAttributesIgnored,
				Message: fmt.Sprintf("annotation %s=%q applies to HTTP and HTTPS health checks only; the health check of %s is TCP, so it is not set; fix: set %s to HTTP or HTTPS, or remove it",
					annotations.SvcSuccessCodes, h.SuccessCodes, tg.Name, annotations.SvcHealthCheckProtocol)})
		}
		tg.Attributes = maps.Clone(a.TargetGroup)
	}
	st.LoadBalancer.Attributes = maps.Clone(a.LoadBalancer)
	applyListenerAttrs(st, a.Listeners, annotations.SvcListenerAttrsPrefix)
}

// applyListenerAttrs gives each listener the attributes of its PROTOCOL-port key; a key
// that names no listener is reported and ignored.
func applyListenerAttrs(st *Stack, attrs map[string]map[string]string, prefix string) {
	used := map[string]bool{}
	for i := range st.Listeners {
		l := &st.Listeners[i]
		k := annotations.ListenerAttrsKey(l.Protocol, l.Port)
		if m, ok := attrs[k]; ok {
			l.Attributes = maps.Clone(m)
			used[k] = true
		}
	}
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		if !used[k] {
			st.Notices = append(st.Notices, Notice{Reason: NoticeAttributesIgnored,
				Message: fmt.Sprintf("annotation %s%s names no listener of this load balancer; its attributes are not applied; fix: use the protocol and port of a listener", prefix, k)})
		}
	}
}

func appendOnce(ns []Notice, n Notice) []Notice {
	if slices.Contains(ns, n) {
		return ns
	}
	return append(ns, n)
}

func setHealth(hc *HealthCheck, h annotations.HealthSettings) {
	if h.Interval != 0 {
		hc.Interval = h.Interval
	}
	if h.Timeout != 0 {
		hc.Timeout = h.Timeout
	}
	if h.Healthy != 0 {
		hc.Healthy = h.Healthy
	}
	if h.Unhealthy != 0 {
		hc.Unhealthy = h.Unhealthy
	}
	if h.SuccessCodes != "" {
		hc.SuccessCodes = h.SuccessCodes
	}
}

// grpcHealthCheckPath is the path ELBv2 probes a gRPC target group on by default.
const grpcHealthCheckPath = "/AWS.ALB/healthcheck"

// backendAttrs reads the per-backend health-check settings, attributes and protocol version
// of an Ingress backend (from the Ingress, or the Service that overrides it) onto its target
// group, whose health check is already built.
func (b *ingressBuilder) backendAttrs(tg *TargetGroup, ing *networkingv1.Ingress, svcAnn map[string]string, memberKey string) {
	a, problems := annotations.ParseBackendAttrs(ing.Annotations, svcAnn)
	for _, p := range problems {
		b.addOn(p, memberKey)
	}
	if a.ProtocolVersion != "" {
		tg.ProtocolVersion = a.ProtocolVersion
		if a.ProtocolVersion == annotations.ProtocolVersionGRPC && tg.HealthCheck.Path == defaultHealthCheckPath {
			if _, set := svcAnn[annotations.IngHealthCheckPath]; !set {
				if _, set := ing.Annotations[annotations.IngHealthCheckPath]; !set {
					tg.HealthCheck.Path = grpcHealthCheckPath
				}
			}
		}
	}
	setHealth(&tg.HealthCheck, a.Health)
	tg.Attributes = maps.Clone(a.TargetGroup)
}

// groupAttrs merges the members' load-balancer-attributes and listener-attributes: two
// members giving one attribute different values conflict.
func (b *ingressBuilder) groupAttrs(st *Stack) {
	var lb map[string]string
	lbFrom := map[string]string{}
	listeners := map[string]map[string]string{}
	listenerFrom := map[string]string{} // "<listener> <attribute>" -> the member that set it
	for _, m := range b.members {
		a, problems := annotations.ParseIngressAttrs(m.Ingress.Annotations)
		for _, p := range problems {
			b.addOn(p, m.key)
		}
		if p := m.Params; p != nil && len(p.LoadBalancerAttributes) > 0 {
			field := "IngressClassParams " + p.Name + " spec.loadBalancerAttributes"
			if reason, fix := annotations.CheckAttributes(p.LoadBalancerAttributes); reason != "" {
				b.fail(field, annotations.FormatAttributes(p.LoadBalancerAttributes), reason, fix, m.key)
			} else {
				if a.LoadBalancer == nil {
					a.LoadBalancer = map[string]string{}
				}
				maps.Copy(a.LoadBalancer, p.LoadBalancerAttributes) // the class's win
			}
		}
		for _, k := range slices.Sorted(maps.Keys(a.LoadBalancer)) {
			v := a.LoadBalancer[k]
			if old, ok := lb[k]; ok && old != v {
				b.conflict(annotations.IngLoadBalancerAttributes, fmt.Sprintf("%s: %s=%s, %s: %s=%s", lbFrom[k], k, old, m.key, k, v),
					fmt.Sprintf("the Ingresses of the group give the load balancer attribute %s different values", k),
					"give it the same value on every Ingress of the group, or set it on one only", lbFrom[k], m.key)
				continue
			}
			if lb == nil {
				lb = map[string]string{}
			}
			lb[k], lbFrom[k] = v, m.key
		}
		for lk, attrs := range a.Listeners {
			cur := listeners[lk]
			if cur == nil {
				cur = map[string]string{}
				listeners[lk] = cur
			}
			for k, v := range attrs {
				if old, ok := cur[k]; ok && old != v {
					b.conflict(annotations.IngListenerAttrsPrefix+lk, strings.Join([]string{k + "=" + old, k + "=" + v}, " vs "),
						fmt.Sprintf("the Ingresses of the group give the listener attribute %s different values", k),
						"give it the same value on every Ingress of the group, or set it on one only", listenerFrom[lk+" "+k], m.key)
					continue
				}
				cur[k], listenerFrom[lk+" "+k] = v, m.key
			}
		}
	}
	st.LoadBalancer.Attributes = lb
	applyListenerAttrs(st, listeners, annotations.IngListenerAttrsPrefix)
}

// classSubnets applies spec.subnets of the member's IngressClassParams: subnet IDs, or a tag
// selector on Name only (lbsg resolves subnets by ID or Name tag); they win over the subnets
// annotation. A selector on other tags is reported and ignored.
func (b *ingressBuilder) classSubnets(m *member) {
	p := m.Params
	if p == nil {
		return
	}
	field := "IngressClassParams " + p.Name + " spec.subnets"
	names, onlyName := p.SubnetTags["Name"]
	switch {
	case len(p.Subnets) > 0 && len(p.SubnetTags) > 0:
		b.fail(field, fmt.Sprintf("ids=%v tags=%v", p.Subnets, p.SubnetTags), "both ids and tags are set",
			"set either spec.subnets.ids or spec.subnets.tags")
	case len(p.Subnets) > 0:
		if _, err := annotations.ParseRefs(field+".ids", strings.Join(p.Subnets, ",")); err != nil {
			b.problems = append(b.problems, err)
			return
		}
		m.ann.Subnets = p.Subnets
	case len(p.SubnetTags) == 1 && onlyName && len(names) > 0:
		if _, err := annotations.ParseRefs(field+".tags.Name", strings.Join(names, ",")); err != nil {
			b.problems = append(b.problems, err)
			return
		}
		m.ann.Subnets = names
	case len(p.SubnetTags) > 0:
		b.notices = appendOnce(b.notices, Notice{Reason: NoticeAttributesIgnored, Ingress: m.key,
			Message: fmt.Sprintf("%s.tags selects subnets by tags other than Name, which lbsg does not resolve; the subnets come from the subnets annotation or discovery, as without it; fix: list the subnet IDs in %s.ids", field, field)})
	}
}
