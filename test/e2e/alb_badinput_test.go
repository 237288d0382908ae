package e2e

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	elbv2api "github.com/lbsg/lbsg/api/v1beta1"
	"github.com/lbsg/lbsg/internal/cloud"
	"github.com/lbsg/lbsg/internal/localenv"
)

// albBadMember is one Ingress of a bad-input case.
type albBadMember struct {
	name  string
	ann   map[string]string
	class string // IngressClass; albClass when empty
}

// albBadCase is one kind of bad input: its Ingresses, the key the messages must name and
// the substrings (the bad value(s) and the reason) every member's Event and condition hold.
type albBadCase struct {
	name    string
	members []albBadMember
	key     string
	want    []string
}

// mentions reports whether msg holds v as is or as rendered inside a Go-quoted string
// (messages quote the annotation value, so `"` shows as `\"`).
func mentions(msg, v string) bool {
	q := strconv.Quote(v)
	return strings.Contains(msg, v) || strings.Contains(msg, q[1:len(q)-1])
}

func mentionsAll(msg string, subs []string) bool {
	for _, s := range subs {
		if !mentions(msg, s) {
			return false
		}
	}
	return true
}

// albAWSInventory lists what exists in AWS: load balancers, target groups and SGs by ID.
func (h *harness) albAWSInventory() string {
	h.t.Helper()
	var lbs, tgs, sgs []string
	for _, lb := range h.loadBalancers() {
		lbs = append(lbs, aws.ToString(lb.LoadBalancerArn))
	}
	for _, tg := range h.targetGroups() {
		tgs = append(tgs, aws.ToString(tg.TargetGroupArn))
	}
	for id := range h.securityGroups() {
		sgs = append(sgs, id)
	}
	sort.Strings(lbs)
	sort.Strings(tgs)
	sort.Strings(sgs)
	return fmt.Sprintf("load balancers %v\ntarget groups %v\nsecurity groups %v", lbs, tgs, sgs)
}

// albState renders an ALB exactly: its SGs, each listener with its default actions and
// certificates, each listener's rules, and the rules of each of its SGs.
func (h *harness) albState(arn string) string {
	h.t.Helper()
	var lb string
	all := h.securityGroups()
	for _, l := range h.loadBalancers() {
		if aws.ToString(l.LoadBalancerArn) != arn {
			continue
		}
		sgs := append([]string(nil), l.SecurityGroups...)
		sort.Strings(sgs)
		lb = fmt.Sprintf("%s %s %s %s sgs=%v", aws.ToString(l.LoadBalancerName), l.Scheme, l.IpAddressType, l.State.Code, sgs)
		for _, id := range sgs {
			lb += fmt.Sprintf("\n  sg %s rules %v", id, ruleStrings(all[id].Rules))
		}
	}
	if lb == "" {
		return "no load balancer " + arn
	}
	ls := h.listenersOf(arn)
	sort.Slice(ls, func(i, j int) bool { return aws.ToInt32(ls[i].Port) < aws.ToInt32(ls[j].Port) })
	for _, l := range ls {
		var certs []string
		for _, c := range l.Certificates {
			certs = append(certs, aws.ToString(c.CertificateArn))
		}
		lb += fmt.Sprintf("\n  listener %s:%d certs=%v default=%s", l.Protocol, aws.ToInt32(l.Port), certs, actionsString(l.DefaultActions))
		for _, r := range h.rulesOf(aws.ToString(l.ListenerArn)) {
			lb += "\n    " + r
		}
	}
	return lb
}

// rulesOf renders the non-default rules of a listener, by priority.
func (h *harness) rulesOf(listenerARN string) []string {
	h.t.Helper()
	out, err := h.elb.DescribeRules(h.ctx, &elbv2.DescribeRulesInput{ListenerArn: aws.String(listenerARN)})
	if err != nil {
		h.t.Fatalf("describe rules: %v", err)
	}
	var rules []string
	for _, r := range out.Rules {
		if aws.ToBool(r.IsDefault) {
			continue
		}
		var conds []string
		for _, c := range r.Conditions {
			vals := append([]string(nil), c.Values...)
			if c.PathPatternConfig != nil {
				vals = append(vals, c.PathPatternConfig.Values...)
			}
			if c.HostHeaderConfig != nil {
				vals = append(vals, c.HostHeaderConfig.Values...)
			}
			sort.Strings(vals)
			vals = dedupStrings(vals)
			conds = append(conds, aws.ToString(c.Field)+"="+strings.Join(vals, ","))
		}
		sort.Strings(conds)
		rules = append(rules, fmt.Sprintf("%s %v -> %s", aws.ToString(r.Priority), conds, actionsString(r.Actions)))
	}
	sort.Strings(rules)
	return rules
}

func dedupStrings(s []string) []string {
	var out []string
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// actionsString renders listener actions: "forward <tg ARN>" or "fixed-response <code>".
func actionsString(actions []elbtypes.Action) string {
	var out []string
	for _, a := range actions {
		switch {
		case a.FixedResponseConfig != nil:
			out = append(out, fmt.Sprintf("%s %s", a.Type, aws.ToString(a.FixedResponseConfig.StatusCode)))
		case a.TargetGroupArn != nil:
			out = append(out, fmt.Sprintf("%s %s", a.Type, aws.ToString(a.TargetGroupArn)))
		case a.ForwardConfig != nil:
			var tgs []string
			for _, t := range a.ForwardConfig.TargetGroups {
				tgs = append(tgs, aws.ToString(t.TargetGroupArn))
			}
			out = append(out, fmt.Sprintf("%s %v", a.Type, tgs))
		default:
			out = append(out, string(a.Type))
		}
	}
	return strings.Join(out, "; ")
}

// within is eventually for a sub-test: on time-out it fails t (not the whole test) and
// returns false, so that the sub-tests after it still run.
func (h *harness) within(t *testing.T, what string, timeout time.Duration, cond func() string) bool {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for time.Now().Before(deadline) {
		if last = cond(); last == "" {
			return true
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Errorf("timed out after %s waiting for %s: %s", timeout, what, last)
	return false
}

// ingressWith builds an Ingress of a class routing "/" to service:80.
func ingressWith(name, service, class string, ann map[string]string) *networkingv1.Ingress {
	ing := ingress(name, service, ann)
	if class != "" {
		ing.Spec.IngressClassName = aws.String(class)
	}
	return ing
}

// Each kind of bad Ingress input gets a FailedBuildModel Event on every member and a False
// InvalidConfiguration condition naming the key, the value and the fix; nothing changes in
// AWS, and a healthy Ingress in another group is not disturbed. Fixing the input reconciles.
func TestALBBadInput(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	userA, userB := h.userSG("alb-users-a"), h.userSG("alb-users-b")
	h.startController()
	h.ensureIngressClass(albClass, "")
	h.ensureIngressClass("alb-missing-params", "no-such-params")
	h.create(backendService("good-svc", 30080, nil))
	h.create(backendService("bad-svc", 30081, nil))
	cert := h.certificate("bad.example.com")
	h.create(ingress("good", "good-svc", map[string]string{ingScheme: "internet-facing"}))
	goodARN := aws.ToString(h.albByHostname(h.waitIngressHostname("good")).LoadBalancerArn)
	h.eventually("node rule of good", 30*time.Second, func() string {
		if got := lbsgRules(h.securityGroups()[h.world.NodeSGID]); len(got) != 1 {
			return fmt.Sprintf("node SG lbsg rules = %v, want one", got)
		}
		return ""
	})
	h.quiesce()
	goodState := h.albState(goodARN)
	if !strings.Contains(goodState, "listener HTTP:80") || !strings.Contains(goodState, "path-pattern=/*") {
		t.Fatalf("good ALB is not as expected:\n%s", goodState)
	}

	one := func(ann map[string]string) []albBadMember {
		a := map[string]string{ingScheme: "internet-facing"}
		for k, v := range ann {
			a[k] = v
		}
		return []albBadMember{{ann: a}}
	}
	two := func(group string, a, b map[string]string) []albBadMember {
		ma := map[string]string{ingGroup: group}
		mb := map[string]string{ingGroup: group}
		for k, v := range a {
			ma[k] = v
		}
		for k, v := range b {
			mb[k] = v
		}
		if _, ok := ma[ingScheme]; !ok {
			ma[ingScheme] = "internet-facing"
		}
		return []albBadMember{{name: "-a", ann: ma}, {name: "-b", ann: mb}}
	}
	cases := []albBadCase{
		{"ports-json", one(map[string]string{ingListenPorts: `[{"HTTP":80}`}), ingListenPorts,
			[]string{`[{"HTTP":80}`, "failed to parse listen-ports configuration"}},
		{"ports-empty", one(map[string]string{ingListenPorts: `[]`}), ingListenPorts,
			[]string{`[]`, "empty listen-ports configuration"}},
		{"port-zero", one(map[string]string{ingListenPorts: `[{"HTTP":0}]`}), ingListenPorts,
			[]string{`[{"HTTP":0}]`, "listen port must be within [1, 65535]: 0"}},
		{"port-70000", one(map[string]string{ingListenPorts: `[{"HTTP":70000}]`}), ingListenPorts,
			[]string{`[{"HTTP":70000}]`, "listen port must be within [1, 65535]: 70000"}},
		{"proto-tcp", one(map[string]string{ingListenPorts: `[{"TCP":80}]`}), ingListenPorts,
			[]string{`[{"TCP":80}]`, "listen protocol must be within [HTTP, HTTPS]: TCP"}},
		{"https-no-cert", one(map[string]string{ingListenPorts: `[{"HTTPS":443}]`}), ingListenPorts,
			[]string{`[{"HTTPS":443}]`, "no certificate", ingCertARN}},
		{"cidr-bad", one(map[string]string{ingCIDRs: "10.0.0.0/33"}), ingCIDRs,
			[]string{"10.0.0.0/33", "invalid inbound-cidrs"}},
		{"cidr-word", one(map[string]string{ingCIDRs: "10.0.0.0/8,office"}), ingCIDRs,
			[]string{"office", "invalid inbound-cidrs"}},
		{"cidr-v6-on-ipv4", one(map[string]string{ingCIDRs: "2001:db8::/32"}), ingCIDRs,
			[]string{"2001:db8::/32", "dualstack"}},
		{"conflict-sgs", two("conflict-sgs", map[string]string{ingSGs: userA}, map[string]string{ingSGs: userB}), ingSGs,
			[]string{userA, userB, "conflicting securityGroups"}},
		{"conflict-cidrs", two("conflict-cidrs", map[string]string{ingCIDRs: "10.0.0.0/8"}, map[string]string{ingCIDRs: "192.168.0.0/16"}), ingCIDRs,
			[]string{"10.0.0.0/8", "192.168.0.0/16", "conflicting inbound-cidrs for port 80"}},
		{"conflict-iptype", two("conflict-iptype", map[string]string{ingIPType: "ipv4"}, map[string]string{ingIPType: "dualstack"}), ingIPType,
			[]string{"ipv4", "dualstack", "conflicting IPAddressType"}},
		{"conflict-scheme", two("conflict-scheme", map[string]string{ingScheme: "internet-facing"}, map[string]string{ingScheme: "internal"}), ingScheme,
			[]string{"internal", "internet-facing", "conflicting scheme"}},
		{"conflict-tags", two("conflict-tags", map[string]string{ingTags: "team=red,env=prod"}, map[string]string{ingTags: "team=blue"}), ingTags,
			[]string{"team=red", "team=blue", "conflicting tag team"}},
		{"conflict-proto", two("conflict-proto", map[string]string{ingListenPorts: `[{"HTTP":8443}]`},
			map[string]string{ingListenPorts: `[{"HTTPS":8443}]`, ingCertARN: cert}), ingListenPorts,
			[]string{"HTTP:8443", "HTTPS:8443", "conflicting protocol for port 8443"}},
		{"sg-unknown-id", one(map[string]string{ingSGs: "sg-0000000000000dead"}), ingSGs,
			[]string{"sg-0000000000000dead", "couldn't find all security groups"}},
		{"sg-unknown-name", one(map[string]string{ingSGs: "no-such-frontend"}), ingSGs,
			[]string{"no-such-frontend", "couldn't find all security groups"}},
		{"params-missing", []albBadMember{{class: "alb-missing-params", ann: map[string]string{ingScheme: "internet-facing"}}},
			"spec.ingressClassName", []string{"alb-missing-params", "no-such-params", "does not exist"}},
	}
	names := func(c albBadCase) []string {
		var out []string
		for _, m := range c.members {
			out = append(out, c.name+m.name)
		}
		return out
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inventory := h.albAWSInventory()
			nodeBefore := lbsgRules(h.securityGroups()[h.world.NodeSGID])
			before := h.counts()
			if len(c.members) > 1 {
				// Members of a group arrive one by one; the first alone is valid and would
				// get its ALB. For the conflict to exist before lbsg sees the group, create
				// them while the controller is stopped; the new process counts from zero.
				h.stopController()
				for _, m := range c.members {
					h.create(ingressWith(c.name+m.name, "bad-svc", m.class, m.ann))
				}
				h.startController()
				before = cloud.Counts{}
			} else {
				h.create(ingressWith(c.name+c.members[0].name, "bad-svc", c.members[0].class, c.members[0].ann))
			}
			bad, want := names(c), c.want
			if len(c.members) > 1 {
				// Two members in conflict: the newer is excluded (the oldest member's
				// setting wins), and the group serves the other.
				bad, want = bad[1:], append(append([]string(nil), c.want...), "the newer, is excluded")
			}
			for _, name := range bad {
				h.eventually("FailedBuildModel event on "+name, 30*time.Second, func() string {
					for _, m := range h.ingressEvents(name)["FailedBuildModel"] {
						if strings.Contains(m, c.key) && strings.Contains(m, "fix:") && mentionsAll(m, want) {
							t.Logf("%s: %s", name, m)
							return ""
						}
					}
					return fmt.Sprintf("events %v, want %s and %q", h.ingressEvents(name), c.key, want)
				})
				h.eventually("condition of "+name, 30*time.Second, func() string {
					msg := ingressCondition(h.getIngress(name))
					if !strings.HasPrefix(msg, "False InvalidConfiguration") || !strings.Contains(msg, c.key) ||
						!strings.Contains(msg, "fix:") || !mentionsAll(msg, want) {
						return fmt.Sprintf("condition %q, want False InvalidConfiguration naming %s, %q and a fix", msg, c.key, want)
					}
					return ""
				})
				if st := h.getIngress(name).Status.LoadBalancer.Ingress; len(st) != 0 {
					t.Errorf("%s has a load balancer status %v", name, st)
				}
			}
			if len(c.members) > 1 {
				h.waitIngressHostname(names(c)[0])
				return
			}
			h.quiesce()
			if w := h.counts().Sub(before).Mutating(); len(w) != 0 {
				t.Errorf("AWS writes after invalid input: %v", w)
			}
			if got := h.albAWSInventory(); got != inventory {
				t.Errorf("AWS inventory changed:\n%s\nwas\n%s", got, inventory)
			}
			if got := h.albState(goodARN); got != goodState {
				t.Errorf("good ALB changed:\n%s\nwas\n%s", got, goodState)
			}
			if got := lbsgRules(h.securityGroups()[h.world.NodeSGID]); fmt.Sprint(got) != fmt.Sprint(nodeBefore) {
				t.Errorf("node rules changed: %v, were %v", got, nodeBefore)
			}
			if msg := ingressCondition(h.getIngress("good")); !strings.HasPrefix(msg, "True") {
				t.Errorf("good condition = %q", msg)
			}
		})
	}

	// With all those bad Ingresses in place (none has a load balancer), the other load
	// balancers' target rules still converge both ways: widened for a new ALB, narrowed
	// again when it goes.
	t.Run("others-still-converge", func(t *testing.T) {
		backend, ok := h.sgByName(wantBackendName(cluster))
		if !ok {
			t.Fatal("no backend SG")
		}
		lbsBefore, nodeBefore := len(h.loadBalancers()), lbsgRules(h.securityGroups()[h.world.NodeSGID])
		h.create(backendService("other-svc", 30085, nil))
		h.create(ingress("other", "other-svc", map[string]string{ingScheme: "internet-facing"}))
		h.waitIngressHostname("other")
		h.within(t, "node rule widened", 30*time.Second, func() string {
			if got, want := lbsgRules(h.securityGroups()[h.world.NodeSGID]), []string{"tcp 30080-30085 from " + backend.ID}; fmt.Sprint(got) != fmt.Sprint(want) {
				return fmt.Sprintf("%v, want %v", got, want)
			}
			return ""
		})
		if err := h.k8s.Delete(h.ctx, h.getIngress("other")); err != nil {
			t.Fatal(err)
		}
		h.within(t, "other's ALB gone and the node rule narrowed", 30*time.Second, func() string {
			if len(h.loadBalancers()) != lbsBefore {
				return fmt.Sprintf("%d load balancers, want %d", len(h.loadBalancers()), lbsBefore)
			}
			if got := lbsgRules(h.securityGroups()[h.world.NodeSGID]); fmt.Sprint(got) != fmt.Sprint(nodeBefore) {
				return fmt.Sprintf("node rules %v, want %v as before", got, nodeBefore)
			}
			return ""
		})
		if got := h.albState(goodARN); got != goodState {
			t.Errorf("good ALB changed:\n%s\nwas\n%s", got, goodState)
		}
	})

	// A conflict introduced into a running group excludes the newer member: its routes and
	// its listen port leave the ALB, and the older member converges.
	t.Run("conflict-on-live-group", func(t *testing.T) {
		h.create(ingressWith("live-a", "bad-svc", "", map[string]string{ingGroup: "live", ingScheme: "internet-facing", ingTags: "team=red"}))
		host := h.waitIngressHostname("live-a")
		time.Sleep(1100 * time.Millisecond) // creationTimestamp has a resolution of one second
		h.create(ingressWith("live-b", "good-svc", "", map[string]string{ingGroup: "live"}))
		h.eventually("both members on one ALB", 30*time.Second, func() string {
			if got := h.getIngress("live-b").Status.LoadBalancer.Ingress; len(got) != 1 || got[0].Hostname != host {
				return fmt.Sprintf("live-b status %v, want %s", got, host)
			}
			return ""
		})
		arn := aws.ToString(h.albByHostname(host).LoadBalancerArn)
		h.patchIngressAnnotations("live-b", map[string]string{ingTags: "team=blue", ingListenPorts: `[{"HTTP":80},{"HTTP":8080}]`})
		h.waitIngressEvent("live-b", "FailedBuildModel", "team=blue")
		h.eventually("condition of live-b", 30*time.Second, func() string {
			msg := ingressCondition(h.getIngress("live-b"))
			if !strings.HasPrefix(msg, "False InvalidConfiguration") || !containsAll(msg, []string{ingTags, "team=red", "team=blue", "fix:", "live-b, the newer, is excluded"}) {
				return msg
			}
			return ""
		})
		listenerPorts := func() string {
			var ports []int32
			for _, l := range h.listenersOf(arn) {
				ports = append(ports, aws.ToInt32(l.Port))
			}
			sort.Slice(ports, func(i, j int) bool { return ports[i] < ports[j] })
			return fmt.Sprint(ports)
		}
		h.quiesce()
		if got := listenerPorts(); got != "[80]" {
			t.Errorf("listener ports %s: the excluded member's port was added", got)
		}
		if msg := ingressCondition(h.getIngress("live-a")); !strings.HasPrefix(msg, "True") {
			t.Errorf("live-a condition = %q", msg)
		}
		if got := h.albState(goodARN); got != goodState {
			t.Errorf("good ALB changed:\n%s\nwas\n%s", got, goodState)
		}
		// Resolving the conflict applies the member's listen port.
		h.patchIngressAnnotations("live-b", map[string]string{ingTags: ""})
		h.eventually("listener 8080 after the fix", 30*time.Second, func() string {
			if got := listenerPorts(); got != "[80 8080]" {
				return "listener ports " + got
			}
			if msg := ingressCondition(h.getIngress("live-b")); !strings.HasPrefix(msg, "True") {
				return msg
			}
			return ""
		})
	})

	// Fixing the input reconciles: a single Ingress, then a group in conflict.
	t.Run("fix-listen-ports", func(t *testing.T) {
		h.patchIngressAnnotations("ports-json", map[string]string{ingListenPorts: `[{"HTTP":8080}]`})
		lb := h.albByHostname(h.waitIngressHostname("ports-json"))
		ls := h.listenersOf(aws.ToString(lb.LoadBalancerArn))
		if len(ls) != 1 || aws.ToInt32(ls[0].Port) != 8080 || ls[0].Protocol != "HTTP" {
			t.Errorf("listeners after the fix = %s", h.albState(aws.ToString(lb.LoadBalancerArn)))
		}
		h.eventually("condition of ports-json", 30*time.Second, func() string {
			if msg := ingressCondition(h.getIngress("ports-json")); !strings.HasPrefix(msg, "True") {
				return msg
			}
			return ""
		})
	})
	t.Run("fix-group-conflict", func(t *testing.T) {
		h.patchIngressAnnotations("conflict-scheme-b", map[string]string{ingScheme: "internet-facing"})
		hostA, hostB := h.waitIngressHostname("conflict-scheme-a"), h.waitIngressHostname("conflict-scheme-b")
		if hostA != hostB {
			t.Errorf("group members on two load balancers: %s and %s", hostA, hostB)
		}
		lb := h.albByHostname(hostA)
		if lb.Scheme != "internet-facing" {
			t.Errorf("group ALB scheme = %s", lb.Scheme)
		}
		var groupSGs int
		for _, g := range h.securityGroups() {
			if g.Tags["ingress.k8s.aws/stack"] == "conflict-scheme" {
				groupSGs++
				if got := ruleStrings(g.Rules); fmt.Sprint(got) != "[tcp 80 from 0.0.0.0/0]" {
					t.Errorf("group SG rules = %v", got)
				}
			}
		}
		if groupSGs != 1 {
			t.Errorf("%d managed SGs for group conflict-scheme, want 1", groupSGs)
		}
	})
	t.Run("fix-create-params", func(t *testing.T) {
		h.create(&elbv2api.IngressClassParams{ObjectMeta: metav1.ObjectMeta{Name: "no-such-params"},
			Spec: elbv2api.IngressClassParamsSpec{InboundCIDRs: []string{"10.0.0.0/8"}}})
		h.waitIngressHostname("params-missing")
		h.eventually("managed SG with the class's CIDR", 30*time.Second, func() string {
			for _, g := range h.securityGroups() {
				if g.Tags["ingress.k8s.aws/stack"] == "default/params-missing" {
					if got := ruleStrings(g.Rules); fmt.Sprint(got) != "[tcp 80 from 10.0.0.0/8]" {
						return fmt.Sprintf("managed SG rules %v", got)
					}
					return ""
				}
			}
			return "no managed SG for default/params-missing"
		})
	})
	if got := h.albState(goodARN); got != goodState {
		t.Errorf("good ALB changed after the fixes:\n%s\nwas\n%s", got, goodState)
	}

	// Deleting every Ingress, broken ones and members of groups in conflict included,
	// leaves nothing in AWS.
	for _, c := range cases {
		for _, name := range names(c) {
			if err := h.k8s.Delete(h.ctx, h.getIngress(name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, name := range []string{"good", "live-a", "live-b"} {
		if err := h.k8s.Delete(h.ctx, h.getIngress(name)); err != nil {
			t.Fatal(err)
		}
	}
	h.waitNothingLeft()
	for _, id := range []string{userA, userB} {
		if _, ok := h.securityGroups()[id]; !ok {
			t.Errorf("user SG %s deleted", id)
		}
	}
}
