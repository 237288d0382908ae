package e2e

import (
	"fmt"
	"reflect"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/lbsg/lbsg/internal/localenv"
	"github.com/lbsg/lbsg/internal/naming"
)

// Seed 002 for an Ingress: an ALB with a managed SG, then the user's SG by annotation,
// then back; the backend SG is shared with an NLB and the node SG holds one lbsg rule.
func TestALBSeed002(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	h.ensureIngressClass(albClass, "")
	h.create(backendService("echo", 30080, nil))
	h.create(ingress("echo", "echo", map[string]string{"alb.ingress.kubernetes.io/scheme": "internet-facing"}))
	host := h.waitIngressHostname("echo")
	lb := h.albByHostname(host)
	if string(lb.Type) != "application" || string(lb.Scheme) != "internet-facing" {
		t.Fatalf("load balancer %s is %s %s", aws.ToString(lb.LoadBalancerName), lb.Type, lb.Scheme)
	}
	managedName := naming.IngressSGName(cluster, "default", "echo")
	managed, ok := h.sgByName(managedName)
	if !ok {
		t.Fatalf("no managed SG %s", managedName)
	}
	if got, want := ruleStrings(managed.Rules), []string{"tcp 80 from 0.0.0.0/0"}; !reflect.DeepEqual(got, want) {
		t.Errorf("managed SG rules = %v, want %v", got, want)
	}
	backend, ok := h.sgByName(wantBackendName(cluster))
	if !ok {
		t.Fatal("no backend SG")
	}
	sgs := append([]string(nil), lb.SecurityGroups...)
	sort.Strings(sgs)
	want := []string{managed.ID, backend.ID}
	sort.Strings(want)
	if !reflect.DeepEqual(sgs, want) {
		t.Errorf("ALB security groups = %v, want %v", sgs, want)
	}
	h.eventually("node rule", 30*time.Second, func() string {
		got := lbsgRules(h.securityGroups()[h.world.NodeSGID])
		if w := []string{"tcp 30080 from " + backend.ID}; !reflect.DeepEqual(got, w) {
			return fmt.Sprintf("%v, want %v", got, w)
		}
		return ""
	})

	// An NLB shares the backend SG; the node SG still holds a single lbsg rule.
	h.create(webserver("web", nil))
	h.waitHostname("web")
	h.eventually("one merged node rule", 30*time.Second, func() string {
		got := lbsgRules(h.securityGroups()[h.world.NodeSGID])
		if len(got) != 1 {
			return fmt.Sprintf("node SG lbsg rules = %v, want exactly one", got)
		}
		return ""
	})

	// The user's SG by annotation: the managed SG goes once the ALB no longer uses it.
	user := h.userSG("frontend-users")
	h.patchIngressAnnotations("echo", map[string]string{"alb.ingress.kubernetes.io/security-groups": user})
	h.eventually("user SG attached, managed SG deleted", 30*time.Second, func() string {
		lb := h.albByHostname(host)
		if !reflect.DeepEqual(lb.SecurityGroups, []string{user}) {
			return fmt.Sprintf("ALB security groups = %v, want [%s]", lb.SecurityGroups, user)
		}
		if _, ok := h.sgByName(managedName); ok {
			return "managed SG still exists"
		}
		return ""
	})
	// Back to a managed SG; the user's SG is left untouched.
	h.patchIngressAnnotations("echo", map[string]string{"alb.ingress.kubernetes.io/security-groups": ""})
	h.eventually("managed SG again", 30*time.Second, func() string {
		m, ok := h.sgByName(managedName)
		if !ok {
			return "no managed SG"
		}
		lb := h.albByHostname(host)
		got := append([]string(nil), lb.SecurityGroups...)
		sort.Strings(got)
		w := []string{m.ID, backend.ID}
		sort.Strings(w)
		if !reflect.DeepEqual(got, w) {
			return fmt.Sprintf("ALB security groups = %v, want %v", got, w)
		}
		return ""
	})
	if u := h.securityGroups()[user]; len(u.Rules) != 1 {
		t.Errorf("user SG rules changed: %v", ruleStrings(u.Rules))
	}
}
