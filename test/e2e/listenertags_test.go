package e2e

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/lbsg/lbsg/internal/localenv"
)

// The IAM policy conditions every listener and rule write on the cluster tag, so every
// listener and rule lbsg creates or adopts must carry it (and the stack tag).

// listenerAndRuleTags returns the tags of every listener of a load balancer and of their
// non-default rules, by ARN, with a name for messages.
func (h *harness) listenerAndRuleTags(lbARN string) map[string]map[string]string {
	h.t.Helper()
	out := map[string]map[string]string{}
	for _, l := range h.listenersOf(lbARN) {
		out[fmt.Sprintf("listener %d", aws.ToInt32(l.Port))] = h.elbTags(aws.ToString(l.ListenerArn))
		rules, err := h.elb.DescribeRules(h.ctx, &elbv2.DescribeRulesInput{ListenerArn: l.ListenerArn})
		if err != nil {
			h.t.Fatalf("describe rules: %v", err)
		}
		for _, r := range rules.Rules {
			if aws.ToBool(r.IsDefault) {
				continue
			}
			out[fmt.Sprintf("rule %s on listener %d", aws.ToString(r.Priority), aws.ToInt32(l.Port))] = h.elbTags(aws.ToString(r.RuleArn))
		}
	}
	return out
}

// missingTags says which of the listeners and rules lack one of want, or "".
func missingTags(got map[string]map[string]string, want map[string]string) string {
	for what, tags := range got {
		for k, v := range want {
			if tags[k] != v {
				return fmt.Sprintf("%s has tags %v, want %s=%s", what, tags, k, v)
			}
		}
	}
	return ""
}

// TestListenersAndRulesCreatedWithClusterAndStackTags guards the listener and rule part
// of case 11: lbsg created them untagged, so IAM could only limit their writes by the
// load balancer's name, which another cluster's load balancers share. It also logs the
// AWS calls of one NLB Service create and one ALB Ingress create.
func TestListenersAndRulesCreatedWithClusterAndStackTags(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()

	before := h.counts()
	h.create(webserver("web", nil))
	nlb := aws.ToString(h.albByHostname(h.waitHostname("web")).LoadBalancerArn)
	h.quiesce()
	nlbCalls := h.counts().Sub(before)
	t.Logf("NLB Service create: %d AWS calls: %v", nlbCalls.Total(), nlbCalls.ByAction())
	nlbTags := map[string]string{"elbv2.k8s.aws/cluster": cluster, "service.k8s.aws/stack": "default/web"}
	got := h.listenerAndRuleTags(nlb)
	if len(got) != 1 {
		t.Errorf("NLB listeners and rules = %v, want one listener", got)
	}
	if m := missingTags(got, nlbTags); m != "" {
		t.Errorf("NLB: %s", m)
	}

	h.ensureIngressClass(albClass, "")
	h.create(backendService("echo", 30080, nil))
	before = h.counts()
	h.create(ingress("echo", "echo", map[string]string{ingScheme: internetFacing}))
	alb := aws.ToString(h.albByHostname(h.waitIngressHostname("echo")).LoadBalancerArn)
	h.quiesce()
	albCalls := h.counts().Sub(before)
	t.Logf("ALB Ingress create: %d AWS calls: %v", albCalls.Total(), albCalls.ByAction())
	albTags := map[string]string{"elbv2.k8s.aws/cluster": cluster, "ingress.k8s.aws/stack": "default/echo"}
	got = h.listenerAndRuleTags(alb)
	if len(got) < 2 {
		t.Errorf("ALB listeners and rules = %v, want a listener and its rules", got)
	}
	if m := missingTags(got, albTags); m != "" {
		t.Errorf("ALB: %s", m)
	}
}

// TestAdoptedUntaggedListenerTaggedOnce: a listener and a rule that exist without lbsg's
// tags (created by upstream before the switch, or by an older lbsg) get the cluster and
// stack tags, once, and nothing else of them changes.
func TestAdoptedUntaggedListenerTaggedOnce(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	h.ensureIngressClass(albClass, "")
	h.create(backendService("echo", 30080, nil))
	h.create(ingress("echo", "echo", map[string]string{ingScheme: internetFacing}))
	lbARN := aws.ToString(h.albByHostname(h.waitIngressHostname("echo")).LoadBalancerArn)
	h.quiesce()
	want := map[string]string{"elbv2.k8s.aws/cluster": cluster, "ingress.k8s.aws/stack": "default/echo"}

	// Strip the tags, as upstream without its listener-tagging feature left them.
	var arns []string
	for _, l := range h.listenersOf(lbARN) {
		arns = append(arns, aws.ToString(l.ListenerArn))
		rules, err := h.elb.DescribeRules(h.ctx, &elbv2.DescribeRulesInput{ListenerArn: l.ListenerArn})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rules.Rules {
			if !aws.ToBool(r.IsDefault) {
				arns = append(arns, aws.ToString(r.RuleArn))
			}
		}
	}
	if len(arns) < 2 {
		t.Fatalf("want a listener and a rule, got %v", arns)
	}
	if _, err := h.elb.RemoveTags(h.ctx, &elbv2.RemoveTagsInput{ResourceArns: arns, TagKeys: []string{"elbv2.k8s.aws/cluster", "ingress.k8s.aws/stack"}}); err != nil {
		t.Fatalf("remove the tags: %v", err)
	}
	before := h.listenersOf(lbARN)

	// A tag change makes lbsg write to the ALB and read its listeners again.
	mark := h.counts()
	h.patchIngressAnnotations("echo", map[string]string{ingTags: "team=web"})
	h.eventually("listeners and rules tagged again", 30*time.Second, func() string {
		return missingTags(h.listenerAndRuleTags(lbARN), want)
	})
	h.pokeIngress("echo", 3)
	h.quiesce()
	// One AddTags each for the new tag of the load balancer and of the target group, and
	// one for all the listeners and rules, once.
	if n := h.counts().Sub(mark).ByAction()["AddTags"]; n != 3 {
		t.Errorf("AddTags calls = %d, want 3 (the load balancer's and the target group's new tag, then the listeners and rules once)", n)
	}
	after := h.listenersOf(lbARN)
	if len(after) != len(before) {
		t.Fatalf("listeners %d, were %d", len(after), len(before))
	}
	for i := range before {
		a, b := before[i], after[i]
		if aws.ToString(a.ListenerArn) != aws.ToString(b.ListenerArn) || a.Protocol != b.Protocol ||
			fmt.Sprint(actionsOf(a.DefaultActions)) != fmt.Sprint(actionsOf(b.DefaultActions)) {
			t.Errorf("listener changed: %+v, was %+v", b, a)
		}
	}
	if tags := h.elbTags(lbARN); tags["team"] != "web" {
		t.Errorf("ALB tags %v", tags)
	}
}

func actionsOf(as []elbtypes.Action) []string {
	var out []string
	for _, a := range as {
		out = append(out, string(a.Type)+" "+aws.ToString(a.TargetGroupArn))
	}
	return out
}
