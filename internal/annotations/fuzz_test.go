package annotations

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/lbsg/lbsg/internal/naming"
)

// The fuzz targets check properties that must hold for every input: no panic, every error
// names a key that was given and stays short, and every value lbsg keeps is one the input
// asked for, in the form AWS stores. `go test` runs the seeds; `make fuzz` explores.

// maxMessage keeps an Event well under the apiserver's 1,024-character limit.
const maxMessage = 900

func checkErrors(t *testing.T, ann map[string]string, errs []*Error) {
	t.Helper()
	for _, e := range errs {
		if _, ok := ann[e.Key]; !ok {
			t.Errorf("error names key %q, which is not among the annotations", e.Key)
		}
		if msg := e.Error(); len(msg) > maxMessage || !strings.Contains(msg, e.Key) || e.Fix == "" {
			t.Errorf("message of %d characters without key or fix: %.200s", len(msg), msg)
		}
	}
}

// isCanonicalCIDR reports whether c is a CIDR in the masked, canonical form AWS stores.
func isCanonicalCIDR(c string) bool {
	p, err := netip.ParsePrefix(c)
	return err == nil && p.Masked() == p && p.String() == c && !p.Addr().Is4In6()
}

// askedCIDRs returns the canonical forms of the entries of a CIDR list, as the user wrote it.
func askedCIDRs(v string) map[string]bool {
	out := map[string]bool{}
	for _, part := range strings.Split(v, ",") {
		if p, err := netip.ParsePrefix(strings.TrimSpace(part)); err == nil {
			out[p.Masked().String()] = true
		}
	}
	return out
}

func checkTags(t *testing.T, tags map[string]string) {
	t.Helper()
	for k, v := range tags {
		if naming.ReservedTagPrefix(k) != "" {
			t.Errorf("reserved tag key %q accepted", k)
		}
		if reason, _ := naming.UserTagProblem(k, v); reason != "" {
			t.Errorf("tag %q=%q accepted: %s", k, v, reason)
		}
	}
	if len(tags) > naming.MaxTagsPerResource {
		t.Errorf("%d tags accepted", len(tags))
	}
}

func checkHealthCheckPort(t *testing.T, hc string, allowName bool) {
	t.Helper()
	if hc == "" || hc == TrafficPort {
		return
	}
	n, err := strconv.Atoi(hc)
	switch {
	case err == nil && (n < 1 || n > 65535 || strconv.Itoa(n) != hc):
		t.Errorf("health-check port %q kept", hc)
	case err != nil && !allowName:
		t.Errorf("health-check port %q is not a number", hc)
	}
}

func pick(keys []string, i uint8) string { return keys[int(i)%len(keys)] }

func FuzzParseService(f *testing.F) {
	f.Add(uint8(9), "10.0.0.1/8, 2001:DB8::/32", uint8(14), "team=a,elbv2.k8s.aws/resource=backend-sg")
	f.Add(uint8(10), "", uint8(7), "sg-1,,sg-2")
	f.Add(uint8(15), "080", uint8(17), "/healthz")
	f.Add(uint8(2), strings.Repeat("x", 4096), uint8(3), "maybe")
	f.Add(uint8(9), "::/00", uint8(4), "dualstack")
	f.Fuzz(func(t *testing.T, k1 uint8, v1 string, k2 uint8, v2 string) {
		ann := map[string]string{pick(ServiceKeys, k1): v1, pick(ServiceKeys, k2): v2}
		s, errs := ParseService(ann)
		checkErrors(t, ann, errs)
		asked := askedCIDRs(ann[SvcSourceRanges])
		for _, c := range s.SourceRanges {
			if !isCanonicalCIDR(c) || !asked[c] {
				t.Errorf("source range %q kept from %q", c, ann[SvcSourceRanges])
			}
		}
		for _, c := range s.CIDRChanges {
			if !isCanonicalCIDR(c.Canonical) || c.Written == c.Canonical {
				t.Errorf("change %+v", c)
			}
		}
		checkTags(t, s.AdditionalTags)
		checkHealthCheckPort(t, s.HealthCheckPort, false)
		for _, sg := range s.SecurityGroups {
			if strings.TrimSpace(sg) == "" || sg != strings.TrimSpace(sg) {
				t.Errorf("security group %q kept", sg)
			}
		}
		if s.SecurityGroupsSet != (len(s.SecurityGroups) > 0) || s.PrefixListsSet != (len(s.PrefixLists) > 0) {
			t.Errorf("a present list is empty: %+v", s)
		}
		if len(s.HealthCheckPath) > MaxHealthCheckPathLength {
			t.Errorf("health-check path of %d characters kept", len(s.HealthCheckPath))
		}
	})
}

func FuzzParseIngress(f *testing.F) {
	keys := append(append([]string(nil), IngressKeys...), BackendKeys...)
	f.Add(uint8(7), "10.0.0.1/8,::/0", uint8(5), `[{"HTTP":80},{"HTTPS":443}]`)
	f.Add(uint8(11), "ingress.k8s.aws/stack=team", uint8(8), "")
	f.Add(uint8(8), "pl-0a,,pl-0b", uint8(0), "My_Group")
	f.Add(uint8(5), `[{"HTTP":0},{"HTTPS":65536},{"http":80}]`, uint8(15), "99999")
	f.Fuzz(func(t *testing.T, k1 uint8, v1 string, k2 uint8, v2 string) {
		ann := map[string]string{pick(keys, k1): v1, pick(keys, k2): v2}
		ing, errs := ParseIngress(ann)
		checkErrors(t, ann, errs)
		asked := askedCIDRs(ann[IngInboundCIDRs])
		for _, c := range ing.InboundCIDRs {
			if !isCanonicalCIDR(c) || !asked[c] {
				t.Errorf("inbound CIDR %q kept from %q", c, ann[IngInboundCIDRs])
			}
		}
		checkTags(t, ing.Tags)
		for _, lp := range ing.ListenPorts {
			if lp.Port < 1 || lp.Port > 65535 || (lp.Protocol != "HTTP" && lp.Protocol != "HTTPS") {
				t.Errorf("listen port %+v kept", lp)
			}
		}
		for _, pl := range ing.PrefixLists {
			if !prefixListID.MatchString(pl) {
				t.Errorf("prefix list %q kept", pl)
			}
		}
	})
}

func FuzzParseBackend(f *testing.F) {
	f.Add(uint8(2), "traffic-port", uint8(3), "/ok", true)
	f.Add(uint8(2), "+0080", uint8(0), "", false)
	f.Add(uint8(2), "my port", uint8(5), "a=1,,b=2", true)
	f.Fuzz(func(t *testing.T, k1 uint8, v1 string, k2 uint8, v2 string, onSvc bool) {
		ing := map[string]string{pick(BackendKeys, k1): v1}
		svc := map[string]string{pick(BackendKeys, k2): v2}
		if !onSvc {
			svc = nil
		}
		b, errs := ParseBackend(ing, svc)
		all := map[string]string{}
		for k, v := range ing {
			all[k] = v
		}
		for k, v := range svc {
			all[k] = v
		}
		checkErrors(t, all, errs)
		checkHealthCheckPort(t, b.HealthCheckPort, true)
		if b.HealthCheckPath != "" && checkHealthCheckPath(b.HealthCheckPath) != "" {
			t.Errorf("health-check path %q kept", b.HealthCheckPath)
		}
		switch b.TargetType {
		case "", TargetTypeInstance, TargetTypeIP:
		default:
			t.Errorf("target type %q kept", b.TargetType)
		}
	})
}

func FuzzParseCIDRs(f *testing.F) {
	for _, s := range []string{"10.0.0.1/8", "2001:DB8::1/32", "::/00", "10.0.0.0/08", "0.0.0.0/0,::/0", "a,,b", "", "::ffff:1.2.3.4/128", "fe80::1%eth0/64"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		cidrs, changes, err := ParseCIDRs("k/c", v)
		if err != nil {
			if len(err.Error()) > maxMessage {
				t.Errorf("message of %d characters", len(err.Error()))
			}
			return
		}
		asked := askedCIDRs(v)
		if len(cidrs) != len(strings.Split(v, ",")) {
			t.Errorf("%d CIDRs from %q", len(cidrs), v)
		}
		for _, c := range cidrs {
			if !isCanonicalCIDR(c) || !asked[c] {
				t.Errorf("CIDR %q from %q", c, v)
			}
		}
		for _, c := range changes {
			if !asked[c.Canonical] {
				t.Errorf("change %+v from %q", c, v)
			}
		}
	})
}

func FuzzParseListenPorts(f *testing.F) {
	for _, s := range []string{`[{"HTTP":80},{"HTTPS":443}]`, `[{"HTTP":80,"HTTP":81}]`, `[null]`, `[{"HTTP":1e3}]`, `{"HTTP":80}`, `[{"HTTPS":-1}]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		ports, err := ParseListenPorts("k/p", v)
		if err != nil {
			if len(err.Error()) > maxMessage {
				t.Errorf("message of %d characters", len(err.Error()))
			}
			return
		}
		seen := map[int32]bool{}
		for _, p := range ports {
			if p.Port < 1 || p.Port > 65535 || seen[p.Port] || (p.Protocol != "HTTP" && p.Protocol != "HTTPS") {
				t.Errorf("listen port %+v from %q", p, v)
			}
			seen[p.Port] = true
			if !strings.Contains(v, strconv.Itoa(int(p.Port))) && !strings.ContainsAny(v, `\eE.`) {
				t.Errorf("port %d not in %q", p.Port, v)
			}
		}
	})
}

func FuzzParsePort(f *testing.F) {
	for _, s := range []string{"80", "080", "+80", "0", "65536", "-1", " 80", "traffic-port", "http", "9223372036854775808"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if n, ok := ParsePort(v); ok {
			if n < 1 || n > 65535 {
				t.Errorf("ParsePort(%q) = %d", v, n)
			}
			if back, _ := strconv.Atoi(v); int32(back) != n {
				t.Errorf("ParsePort(%q) = %d, not the number written", v, n)
			}
		}
		if hc, ok := healthCheckPort(v); ok {
			checkHealthCheckPort(t, hc, true)
		}
	})
}

func FuzzParseStringMap(f *testing.F) {
	for _, s := range []string{"a=1,b=2", "a", "=1", "a=1,,b=2", " ", "a==b", "k=v,k=w"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		m, err := ParseStringMap("k/m", v)
		if err != nil {
			return
		}
		if len(m) == 0 {
			t.Errorf("empty map accepted from %q", v)
		}
		for k, val := range m {
			if k == "" || k != strings.TrimSpace(k) || val != strings.TrimSpace(val) || strings.Contains(k, ",") || strings.Contains(val, ",") {
				t.Errorf("entry %q=%q from %q", k, val, v)
			}
		}
	})
}
