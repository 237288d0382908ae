package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lbsg/lbsg/internal/localenv"
)

// Each kind of bad input gets an Event and a condition naming the key, the value and the
// fix; nothing is created for that Service and no other Service is disturbed.
func TestBadInput(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	var six []string
	for i := 0; i < 6; i++ {
		six = append(six, h.userSG(fmt.Sprintf("extra-%d", i)))
	}
	h.startController()
	h.create(webserver("good", nil))
	h.waitHostname("good")
	goodLB := h.lbSGs("good")
	h.quiesce()

	// A malformed CIDR in spec.loadBalancerSourceRanges or the source-ranges annotation is
	// rejected by the API server itself; lbsg's own check is covered by the spec unit tests.
	if err := h.k8s.Create(h.ctx, webserver("bad-cidr", map[string]string{"service.beta.kubernetes.io/load-balancer-source-ranges": "10.0.0.0/33"})); err == nil {
		t.Errorf("the API server accepted a malformed CIDR: lbsg's check must then run here")
	}
	cases := []badCase{
		{"v6-on-ipv4", "service.beta.kubernetes.io/load-balancer-source-ranges", "2001:db8::/32", []string{"unsupported v6 cidr 2001:db8::/32", "dualstack"}},
		{"unknown-sg-id", annSGs, "sg-0123456789abcdef0", []string{"sg-0123456789abcdef0", "couldn't find all security groups"}},
		{"unknown-sg-name", annSGs, "no-such-sg", []string{"no-such-sg", "Name tag"}},
		{"bad-bool", "service.beta.kubernetes.io/aws-load-balancer-disable-nlb-sg", "maybe", []string{"maybe", "fix:"}},
		{"bad-ip-type", "service.beta.kubernetes.io/aws-load-balancer-ip-address-type", "ipv5", []string{"ipv5", "dualstack"}},
		{"bad-icmp", "service.beta.kubernetes.io/aws-load-balancer-enable-icmp-for-path-mtu-discovery", "yes", []string{"yes", "on"}},
		{"bad-private-link", "service.beta.kubernetes.io/aws-load-balancer-inbound-sg-rules-on-private-link-traffic", "maybe", []string{"maybe", "on", "off"}},
		{"too-many-sgs", annSGs, strings.Join(six, ","), []string{"exceed the limit of 5"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := h.counts()
			h.create(webserver(c.name, map[string]string{c.key: c.value}))
			h.eventually("event on "+c.name, 30*time.Second, func() string {
				for _, m := range h.events(c.name)["FailedBuildModel"] {
					if containsAll(m, append([]string{c.key}, c.want...)) {
						return ""
					}
				}
				return fmt.Sprint(h.events(c.name))
			})
			msg := conditionMessage(h.service(c.name))
			if !strings.HasPrefix(msg, "False InvalidConfiguration") || !containsAll(msg, append([]string{c.key, "fix:"}, c.want...)) {
				t.Errorf("condition = %q", msg)
			}
			if got := h.lbSGs(c.name); got != nil {
				t.Errorf("load balancer created for invalid Service: %v", got)
			}
			for _, g := range h.securityGroups() {
				if g.Tags["service.k8s.aws/stack"] == "default/"+c.name {
					t.Errorf("security group %s created for invalid Service", g.Name)
				}
			}
			if w := h.counts().Sub(before).Mutating(); len(w) != 0 {
				t.Errorf("AWS writes after an invalid Service: %v", w)
			}
		})
	}

	// Bad input on a running Service changes nothing in AWS; fixing it resumes.
	before := h.counts()
	h.patchAnnotations("good", map[string]string{"service.beta.kubernetes.io/aws-load-balancer-ip-address-type": "ipv5"})
	h.waitEvent("good", "FailedBuildModel", "ipv5")
	time.Sleep(3 * time.Second)
	if w := h.counts().Sub(before).Mutating(); len(w) != 0 {
		t.Errorf("AWS writes after a running Service became invalid: %v", w)
	}
	if got := h.lbSGs("good"); fmt.Sprint(got) != fmt.Sprint(goodLB) {
		t.Errorf("good NLB SGs changed: %v, was %v", got, goodLB)
	}
	if r := lbsgRules(h.securityGroups()[h.world.NodeSGID]); len(r) != 1 {
		t.Errorf("node rules of the good Service changed: %v", r)
	}
	h.patchAnnotations("good", map[string]string{"service.beta.kubernetes.io/aws-load-balancer-ip-address-type": ""})
	h.eventually("good Service ready again", 30*time.Second, func() string {
		if msg := conditionMessage(h.service("good")); !strings.HasPrefix(msg, "True") {
			return msg
		}
		return ""
	})

	// A broken annotation never blocks deletion.
	h.patchAnnotations("good", map[string]string{"service.beta.kubernetes.io/aws-load-balancer-ip-address-type": "ipv5"})
	h.waitEvent("good", "FailedBuildModel", "ipv5")
	for _, c := range append([]string{"good"}, caseNames(cases)...) {
		if err := h.k8s.Delete(h.ctx, h.service(c)); err != nil {
			t.Fatal(err)
		}
	}
	h.waitNothingLeft()
}

type badCase struct {
	name, key, value string
	want             []string // substrings of the Event and condition
}

func caseNames(cs []badCase) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.name)
	}
	return out
}

func containsAll(s string, subs []string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}
