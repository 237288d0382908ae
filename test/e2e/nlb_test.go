package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/lbsg/lbsg/internal/localenv"
)

// Independent renderings of the reference's name formulas (§3.2, §4).
func sanitize(s string) string { return regexp.MustCompile(`[^A-Za-z0-9]`).ReplaceAllString(s, "") }

func hexHash(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))
}

func trunc(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func wantBackendName(c string) string {
	return "k8s-traffic-" + trunc(sanitize(c), 232) + "-" + hexHash(c)[:10]
}

func wantServiceSGName(c, ns, name, uid string) string {
	return fmt.Sprintf("k8s-%s-%s-%s", trunc(sanitize(ns), 8), trunc(sanitize(name), 8), hexHash(c, name, ns, uid)[:10])
}

func wantNLBName(c, ns, name, uid, scheme string) string {
	return fmt.Sprintf("k8s-%s-%s-%s", trunc(sanitize(ns), 8), trunc(sanitize(name), 8), hexHash(c, uid, scheme)[:10])
}

func TestSeed003ManagedSecurityGroups(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	before := h.counts()
	h.create(webserver("webserver", nil))
	host := h.waitHostname("webserver")
	svc := h.service("webserver")
	nodePort := svc.Spec.Ports[0].NodePort
	uid := string(svc.UID)

	// The NLB: name, scheme, type, DNS name in status, SGs = [managed, backend].
	lbName := wantNLBName(cluster, "default", "webserver", uid, "internet-facing")
	lb := h.loadBalancer(lbName)
	if lb == nil {
		t.Fatalf("no load balancer named %s", lbName)
	}
	if aws.ToString(lb.DNSName) != host || string(lb.Scheme) != "internet-facing" || string(lb.Type) != "network" {
		t.Errorf("load balancer = %s %s %s, status hostname %s", aws.ToString(lb.DNSName), lb.Scheme, lb.Type, host)
	}
	managed, ok := h.sgByName(wantServiceSGName(cluster, "default", "webserver", uid))
	if !ok {
		t.Fatalf("no managed SG named %s", wantServiceSGName(cluster, "default", "webserver", uid))
	}
	backend, ok := h.sgByName(wantBackendName(cluster))
	if !ok {
		t.Fatalf("no backend SG named %s", wantBackendName(cluster))
	}
	gotSGs := append([]string(nil), lb.SecurityGroups...)
	sort.Strings(gotSGs)
	wantSGs := []string{managed.ID, backend.ID}
	sort.Strings(wantSGs)
	if !reflect.DeepEqual(gotSGs, wantSGs) {
		t.Errorf("NLB security groups = %v, want managed %s and backend %s", lb.SecurityGroups, managed.ID, backend.ID)
	}

	// Descriptions and tags, exactly (reference §3.3, §4).
	if managed.Description != "[k8s] Managed SecurityGroup for LoadBalancer" {
		t.Errorf("managed SG description = %q", managed.Description)
	}
	wantManagedTags := map[string]string{"elbv2.k8s.aws/cluster": cluster, "service.k8s.aws/stack": "default/webserver",
		"service.k8s.aws/resource": "ManagedLBSecurityGroup"}
	if !reflect.DeepEqual(managed.Tags, wantManagedTags) {
		t.Errorf("managed SG tags = %v, want %v", managed.Tags, wantManagedTags)
	}
	if backend.Description != "[k8s] Shared Backend SecurityGroup for LoadBalancer" {
		t.Errorf("backend SG description = %q", backend.Description)
	}
	wantBackendTags := map[string]string{"elbv2.k8s.aws/cluster": cluster, "elbv2.k8s.aws/resource": "backend-sg"}
	if !reflect.DeepEqual(backend.Tags, wantBackendTags) {
		t.Errorf("backend SG tags = %v, want %v", backend.Tags, wantBackendTags)
	}
	lbTags := h.elbTags(aws.ToString(lb.LoadBalancerArn))
	for k, v := range map[string]string{"elbv2.k8s.aws/cluster": cluster, "service.k8s.aws/stack": "default/webserver", "service.k8s.aws/resource": "LoadBalancer"} {
		if lbTags[k] != v {
			t.Errorf("NLB tag %s = %q, want %q", k, lbTags[k], v)
		}
	}

	// Frontend rules: the Service port from 0.0.0.0/0; the backend SG has none.
	if got, want := ruleStrings(managed.Rules), []string{"tcp 80 from 0.0.0.0/0"}; !reflect.DeepEqual(got, want) {
		t.Errorf("managed SG rules = %v, want %v", got, want)
	}
	if len(backend.Rules) != 0 {
		t.Errorf("backend SG has rules %v, want none", ruleStrings(backend.Rules))
	}

	// Node SG: exactly the restricted rule from the backend SG on the NodePort.
	wantNode := []string{fmt.Sprintf("tcp %d from %s", nodePort, backend.ID)}
	h.eventually("node SG rule", 30*time.Second, func() string {
		if got := lbsgRules(h.securityGroups()[h.world.NodeSGID]); !reflect.DeepEqual(got, wantNode) {
			return fmt.Sprintf("node SG lbsg rules = %v, want %v", got, wantNode)
		}
		return ""
	})

	// One listener and target group, targets = both nodes on the NodePort.
	tgs := h.targetGroups()
	if len(tgs) != 1 || aws.ToInt32(tgs[0].Port) != nodePort || string(tgs[0].TargetType) != "instance" {
		t.Fatalf("target groups = %+v", tgs)
	}
	th, err := h.elb.DescribeTargetHealth(h.ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: tgs[0].TargetGroupArn})
	if err != nil {
		t.Fatal(err)
	}
	var targets []string
	for _, d := range th.TargetHealthDescriptions {
		targets = append(targets, fmt.Sprintf("%s:%d", aws.ToString(d.Target.Id), aws.ToInt32(d.Target.Port)))
	}
	sort.Strings(targets)
	var wantTargets []string
	for _, n := range h.world.Nodes {
		wantTargets = append(wantTargets, fmt.Sprintf("%s:%d", n.InstanceID, nodePort))
	}
	sort.Strings(wantTargets)
	if !reflect.DeepEqual(targets, wantTargets) {
		t.Errorf("targets = %v, want %v", targets, wantTargets)
	}

	// Frugal: creating one single-port NLB makes exactly the writes it needs.
	h.quiesce()
	created := h.counts().Sub(before).Mutating()
	wantCreate := map[string]int{"CreateSecurityGroup": 2, "AuthorizeSecurityGroupIngress": 2, "CreateTargetGroup": 1,
		"CreateLoadBalancer": 1, "CreateListener": 1, "RegisterTargets": 1}
	if !reflect.DeepEqual(created, wantCreate) {
		t.Errorf("mutating AWS calls to create the NLB = %v, want %v", created, wantCreate)
	}

	// A resync in which nothing changed makes zero writes (the drift check runs every 2s).
	mark := h.counts()
	time.Sleep(7 * time.Second)
	if w := h.counts().Sub(mark).Mutating(); len(w) != 0 {
		t.Errorf("mutating calls during resyncs with no change: %v", w)
	}
	if h.counts().Sub(mark).Total() == 0 {
		t.Errorf("no AWS reads during resyncs: the drift check did not run")
	}

	// Deletion leaves nothing in AWS.
	if err := h.k8s.Delete(h.ctx, svc); err != nil {
		t.Fatal(err)
	}
	h.waitNothingLeft()
}

// waitNothingLeft waits until no lbsg load balancer, target group, SG or rule remains.
func (h *harness) waitNothingLeft() {
	h.t.Helper()
	h.waitNothingLeftWithin(60 * time.Second)
}

// waitNothingLeftWithin is waitNothingLeft with another deadline, for many objects.
func (h *harness) waitNothingLeftWithin(timeout time.Duration) {
	h.t.Helper()
	h.eventually("everything lbsg created to be gone", timeout, func() string {
		if lbs := h.loadBalancers(); len(lbs) > 0 {
			return fmt.Sprintf("%d load balancers left", len(lbs))
		}
		if tgs := h.targetGroups(); len(tgs) > 0 {
			return fmt.Sprintf("%d target groups left", len(tgs))
		}
		for _, g := range h.securityGroups() {
			if g.Tags["elbv2.k8s.aws/cluster"] != "" {
				return "security group left: " + g.Name
			}
			if r := lbsgRules(g); len(r) > 0 {
				return fmt.Sprintf("rules left on %s: %v", g.ID, r)
			}
		}
		return ""
	})
}
