package spec

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/lbsg/lbsg/internal/annotations"
	"github.com/lbsg/lbsg/internal/naming"
	"github.com/lbsg/lbsg/internal/sgrules"
)

// The spec fuzz targets check, on every input, that a built stack opens nothing the input
// did not ask for: every client rule's peer is one of the given CIDRs or prefix lists (or
// the documented default when none is given), every port is a declared one, every target
// rule is for a traffic or health-check port, and no reserved tag comes from user input.

func pickKey(keys []string, i uint8) string { return keys[int(i)%len(keys)] }

// canonicalSet returns the canonical forms of a comma-separated list of CIDRs.
func canonicalSet(list []string) map[string]bool {
	out := map[string]bool{}
	for _, c := range list {
		if p, err := netip.ParsePrefix(strings.TrimSpace(c)); err == nil {
			out[p.Masked().String()] = true
		}
	}
	return out
}

func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		out = append(out, strings.TrimSpace(p))
	}
	return out
}

// checkOwnTags fails when a reserved tag key appears with a value lbsg would not give it.
func checkOwnTags(t *testing.T, what string, tags map[string]string, own map[string]bool) {
	t.Helper()
	for k, v := range tags {
		if (naming.ReservedTagPrefix(k) != "" || k == naming.NameTagKey) && !own[k+"="+v] {
			t.Errorf("%s has tag %s=%s, which no user input may set", what, k, v)
		}
	}
	if len(tags) > naming.MaxTagsPerResource {
		t.Errorf("%s has %d tags", what, len(tags))
	}
}

func checkProblemsShort(t *testing.T, problems []*Problem) {
	t.Helper()
	for _, p := range problems {
		if msg := p.Error(); len(msg) > 1000 || p.Fix == "" {
			t.Errorf("problem of %d characters or without fix: %.200s", len(msg), msg)
		}
	}
}

func FuzzBuildService(f *testing.F) {
	f.Add(uint8(9), "10.0.0.1/8,2001:DB8::/32", uint8(4), "dualstack", "", uint16(80), false)
	f.Add(uint8(10), "pl-0a1b", uint8(11), "on", "192.168.1.9/24", uint16(443), true)
	f.Add(uint8(7), "sg-1,sg-2", uint8(8), "true", "", uint16(53), true)
	f.Add(uint8(14), "elbv2.k8s.aws/resource=backend-sg", uint8(15), "8443", "", uint16(8080), false)
	f.Add(uint8(13), "true", uint8(20), "preserve_client_ip.enabled=true", "0.0.0.0/0", uint16(22), false)
	f.Add(uint8(9), "", uint8(10), " , ", "::/00", uint16(80), false)
	f.Fuzz(func(t *testing.T, k1 uint8, v1 string, k2 uint8, v2 string, ranges string, port uint16, udp bool) {
		svcPort := int32(port)%65535 + 1
		proto := corev1.ProtocolTCP
		if udp {
			proto = corev1.ProtocolUDP
		}
		kv := map[string]string{pickKey(annotations.ServiceKeys, k1): v1, pickKey(annotations.ServiceKeys, k2): v2}
		svc := testService(ports(corev1.ServicePort{Name: "p", Protocol: proto, Port: svcPort, NodePort: 30080}))
		for k, v := range kv {
			svc.Annotations[k] = v
		}
		if ranges != "" {
			svc.Spec.LoadBalancerSourceRanges = strings.Split(ranges, ",")
		}
		st, problems := BuildService(svc, testSettings(), ServiceFacts{})
		checkProblemsShort(t, problems)
		if st == nil {
			return
		}
		a := svc.Annotations

		// Client rules: only what was asked for, or the default when nothing was.
		cidrs := map[string]bool{}
		if len(svc.Spec.LoadBalancerSourceRanges) > 0 {
			cidrs = canonicalSet(svc.Spec.LoadBalancerSourceRanges)
		} else if v, ok := a[annotations.SvcSourceRanges]; ok {
			cidrs = canonicalSet(splitList(v))
		}
		prefixes := map[string]bool{}
		if v, ok := a[annotations.SvcPrefixLists]; ok {
			for _, p := range splitList(v) {
				prefixes[p] = true
			}
		}
		defaulted := len(cidrs) == 0 && len(prefixes) == 0
		if defaulted {
			cidrs = map[string]bool{"0.0.0.0/0": true, "::/0": true}
		}
		if st.ManagedSG != nil {
			for _, r := range st.ManagedSG.Ingress {
				checkPeerAskedFor(t, r, cidrs, prefixes)
				icmp := r.Protocol == sgrules.ProtoICMP || r.Protocol == sgrules.ProtoICMPv6
				if icmp && a[annotations.SvcICMPForPathMTU] != "on" {
					t.Errorf("ICMP rule %s without the ICMP annotation", r.Key)
				}
				if !icmp && (r.FromPort != svcPort || r.ToPort != svcPort) {
					t.Errorf("managed SG rule %s is not for the Service port %d", r.Key, svcPort)
				}
			}
		}
		if st.LoadBalancer.Frontend == FrontendCustom {
			asked := map[string]bool{}
			for _, s := range splitList(a[annotations.SvcSecurityGroups]) {
				asked[s] = true
			}
			for _, ref := range st.LoadBalancer.CustomSGRefs {
				if !asked[ref] {
					t.Errorf("custom SG %s was not asked for", ref)
				}
			}
		}

		// Target rules: the traffic port and a numeric health-check port only.
		allowedPorts := map[int32]bool{30080: true, svcPort: true}
		if n, ok := annotations.ParsePort(a[annotations.SvcHealthCheckPort]); ok {
			allowedPorts[n] = true
		}
		for _, n := range st.Networking.Needs {
			if n.AllPorts || !allowedPorts[n.Port] {
				t.Errorf("target rule %+v is for a port nobody declared", n)
			}
		}
		for _, l := range st.Networking.Legacy {
			if !allowedPorts[l.Need.Port] {
				t.Errorf("legacy target rule %+v is for a port nobody declared", l)
			}
			for _, p := range l.Peers {
				if p != PeerSubnets && p != PeerVPC && !cidrs[p] && !(defaulted && p == "0.0.0.0/0") {
					t.Errorf("legacy target rule opens to %s, which was not asked for", p)
				}
			}
		}

		own := map[string]bool{naming.TagCluster + "=" + testCluster: true, naming.ServiceStackTag + "=shop/web": true,
			naming.ServiceResourceTag + "=" + naming.LoadBalancerResourceID: true, naming.ServiceResourceTag + "=" + naming.ManagedSGResourceID: true,
			naming.ServiceResourceTag + "=" + naming.TargetGroupResourceID("shop", "web", svcPort): true}
		checkOwnTags(t, "load balancer", st.LoadBalancer.Tags, own)
		if st.ManagedSG != nil {
			checkOwnTags(t, "managed SG", st.ManagedSG.Tags, own)
		}
		for _, tg := range st.TargetGroups {
			checkOwnTags(t, "target group", tg.Tags, own)
			if hc := tg.HealthCheck.Port; hc != TrafficPort {
				if n, err := strconv.Atoi(hc); err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != hc {
					t.Errorf("health-check port %q", hc)
				}
			}
		}
	})
}

func FuzzBuildIngressGroup(f *testing.F) {
	keys := append(append([]string(nil), annotations.IngressKeys...), annotations.BackendKeys...)
	f.Add(uint8(7), "10.0.0.1/8,::/0", uint8(4), "dualstack", "", uint8(15), "http")
	f.Add(uint8(5), `[{"HTTP":8080},{"HTTPS":8443}]`, uint8(6), "arn:aws:acm:r:1:certificate/x", "192.0.2.9/24", uint8(16), "/")
	f.Add(uint8(8), "pl-0a,pl-0b", uint8(9), "sg-1", "", uint8(13), "ip")
	f.Add(uint8(11), "team=a,kubernetes.io/cluster/x=owned", uint8(10), "false", "", uint8(15), "9090")
	f.Add(uint8(7), "", uint8(8), "", "::/00", uint8(15), "")
	f.Fuzz(func(t *testing.T, k1 uint8, v1 string, k2 uint8, v2 string, paramsCIDRs string, sk uint8, sv string) {
		ing := testIngress("web")
		ing.Annotations[pickKey(keys, k1)] = v1
		ing.Annotations[pickKey(keys, k2)] = v2
		members := asMembers(ing)
		if paramsCIDRs != "" {
			members[0].Params = &ClassParams{Name: "p", InboundCIDRs: strings.Split(paramsCIDRs, ",")}
		}
		backendSvc := albService("web", svcAnn(pickKey(annotations.BackendKeys, sk), sv))
		st, problems := BuildIngressGroup(implicitGroup(ing), members, testSettings(), albFacts(backendSvc, apiService()))
		checkProblemsShort(t, problems)
		if st == nil {
			return
		}
		a := ing.Annotations

		cidrs := map[string]bool{}
		if paramsCIDRs != "" {
			cidrs = canonicalSet(strings.Split(paramsCIDRs, ","))
		} else if v, ok := a[annotations.IngInboundCIDRs]; ok {
			cidrs = canonicalSet(splitList(v))
		}
		prefixes := map[string]bool{}
		if v, ok := a[annotations.IngPrefixLists]; ok {
			for _, p := range splitList(v) {
				prefixes[p] = true
			}
		}
		if len(cidrs) == 0 && len(prefixes) == 0 {
			cidrs = map[string]bool{"0.0.0.0/0": true, "::/0": true}
		}
		listen := map[int32]bool{80: true, 443: true}
		if v, ok := a[annotations.IngListenPorts]; ok {
			listen = map[int32]bool{}
			lps, err := annotations.ParseListenPorts(annotations.IngListenPorts, v)
			if err != nil {
				t.Fatalf("stack built from bad listen-ports %q", v)
			}
			for _, lp := range lps {
				listen[lp.Port] = true
			}
		}
		if st.ManagedSG != nil {
			for _, r := range st.ManagedSG.Ingress {
				checkPeerAskedFor(t, r, cidrs, prefixes)
				if r.Protocol != sgrules.ProtoTCP || r.FromPort != r.ToPort || !listen[r.FromPort] {
					t.Errorf("managed SG rule %s is not for a listen port", r.Key)
				}
			}
		}
		for _, l := range st.Listeners {
			if !listen[l.Port] {
				t.Errorf("listener on port %d, which was not asked for", l.Port)
			}
		}

		// Target rules: the backend's NodePort or target port, or a health-check port that
		// names one of them or is given as a number.
		allowed := map[int32]bool{30080: true, 8080: true}
		for _, v := range []string{a[annotations.IngHealthCheckPort], backendSvc.Annotations[annotations.IngHealthCheckPort]} {
			if n, ok := annotations.ParsePort(v); ok {
				allowed[n] = true
			}
		}
		for _, n := range st.Networking.Needs {
			if n.AllPorts || !allowed[n.Port] {
				t.Errorf("target rule %+v is for a port nobody declared", n)
			}
		}

		own := map[string]bool{naming.TagCluster + "=" + testCluster: true, naming.IngressStackTag + "=shop/web": true,
			naming.IngressResourceTag + "=" + naming.LoadBalancerResourceID: true, naming.IngressResourceTag + "=" + naming.ManagedSGResourceID: true,
			naming.IngressResourceTag + "=" + naming.IngressTargetGroupResourceID("shop", "web", "web", "80"): true}
		checkOwnTags(t, "load balancer", st.LoadBalancer.Tags, own)
		if st.ManagedSG != nil {
			checkOwnTags(t, "managed SG", st.ManagedSG.Tags, own)
		}
		for _, tg := range st.TargetGroups {
			checkOwnTags(t, "target group", tg.Tags, own)
		}
	})
}

// checkPeerAskedFor fails t when a managed-SG rule's peer is not one of the CIDRs or prefix
// lists the input asked for (the documented defaults included in cidrs).
func checkPeerAskedFor(t *testing.T, r sgrules.Rule, cidrs, prefixes map[string]bool) {
	t.Helper()
	switch r.PeerKind {
	case sgrules.PeerCIDR, sgrules.PeerCIDRv6:
		if !cidrs[r.Peer] {
			t.Errorf("managed SG opens %s to %s, which was not asked for", r.Key, r.Peer)
		}
	case sgrules.PeerPrefixList:
		if !prefixes[r.Peer] {
			t.Errorf("managed SG opens %s to prefix list %s, which was not asked for", r.Key, r.Peer)
		}
	default:
		t.Errorf("managed SG rule %s has an unexpected peer", r.Key)
	}
}
