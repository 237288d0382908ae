package plan

import (
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lbsg/lbsg/internal/naming"
)

// The cluster and stack tags every listener and rule of the ALB golden cases must carry.
var albListenerTags = map[string]string{"elbv2.k8s.aws/cluster": "prod", "ingress.k8s.aws/stack": "front"}

func changesOf(p Plan, op Op) []Change {
	var out []Change
	for _, c := range p.Changes {
		if c.Op == op {
			out = append(out, c)
		}
	}
	return out
}

// Listeners and rules lbsg creates carry the cluster and stack tags in the create call,
// so that the IAM policy can limit every later write on them to the cluster's.
func TestStackCreatesListenersAndRulesWithClusterAndStackTags(t *testing.T) {
	in := readGoldenInput(t, filepath.Join("testdata", "alb-first-round"))
	p := Stack(*in.Stack, in.Owner)
	listeners, rules := changesOf(p, OpCreateListener), changesOf(p, OpCreateRule)
	if len(listeners) == 0 || len(rules) == 0 {
		t.Fatalf("want listeners and rules created, got:\n%s", render(t, p))
	}
	for _, c := range listeners {
		if diff := cmp.Diff(albListenerTags, c.Listener.Tags); diff != "" {
			t.Errorf("listener %d tags (-want +got):\n%s", c.Listener.Port, diff)
		}
	}
	for _, c := range rules {
		if diff := cmp.Diff(albListenerTags, c.Rule.Tags); diff != "" {
			t.Errorf("rule %d tags (-want +got):\n%s", c.Rule.Priority, diff)
		}
	}
	if got := changesOf(p, OpTagListeners); len(got) != 0 {
		t.Errorf("nothing to adopt, yet %d tag-listeners change(s)", len(got))
	}
}

// Adopted listeners and rules without lbsg's tags (upstream's, an older lbsg's) get them
// in one change, before any modify or delete of them; once applied, the next plan has
// none. Already tagged ones get none.
func TestStackTagsAdoptedListenersOnce(t *testing.T) {
	in := readGoldenInput(t, filepath.Join("testdata", "alb-rules-change"))
	lbARN := in.Stack.Observed.LoadBalancers[0].ARN
	var want []string
	for _, l := range in.Stack.Observed.Listeners[lbARN] {
		want = append(want, l.ARN)
		for _, r := range l.Rules {
			want = append(want, r.ARN)
		}
	}
	p := Stack(*in.Stack, in.Owner)
	tagChanges := changesOf(p, OpTagListeners)
	if len(tagChanges) != 1 {
		t.Fatalf("want one tag-listeners change, got %d:\n%s", len(tagChanges), render(t, p))
	}
	c := tagChanges[0]
	if c.Target.ID != lbARN {
		t.Errorf("target %s, want the load balancer %s", c.Target, lbARN)
	}
	if diff := cmp.Diff(albListenerTags, c.Tags); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, c.TagARNs); diff != "" {
		t.Errorf("tagged resources (-want +got):\n%s", diff)
	}
	tagged := false
	for _, ch := range p.Changes {
		switch ch.Op {
		case OpTagListeners:
			tagged = true
		case OpModifyListener, OpModifyRule, OpDeleteRule, OpDeleteListener, OpCreateRule:
			if !tagged {
				t.Errorf("%s %s comes before the listeners are tagged:\n%s", ch.Op, ch.Target, render(t, p))
			}
		}
	}

	// Once applied, the next plan of this case is empty: TestSecondRound
	// (golden_apply_test.go) applies it with the apply package's executor.

	// Already tagged (created by this lbsg): nothing to add.
	for _, ls := range in.Stack.Observed.Listeners {
		for i := range ls {
			ls[i].Tags = maps.Clone(albListenerTags)
			for j := range ls[i].Rules {
				ls[i].Rules[j].Tags = maps.Clone(albListenerTags)
			}
		}
	}
	if got := changesOf(Stack(*in.Stack, in.Owner), OpTagListeners); len(got) != 0 {
		t.Errorf("tagged listeners tagged again: %+v", got)
	}
}

// A listener or rule that carries the cluster tag of another cluster (or another stack's
// tag) is not this stack's: lbsg neither retags, modifies nor deletes it, nor touches the
// listener's rules, and says so. lbsg never moves a resource to its cluster.
func TestStackLeavesAnotherClustersListenerAlone(t *testing.T) {
	in := readGoldenInput(t, filepath.Join("testdata", "alb-rules-change"))
	lbARN := in.Stack.Observed.LoadBalancers[0].ARN
	ls := in.Stack.Observed.Listeners[lbARN]
	ls[0].Tags = map[string]string{"elbv2.k8s.aws/cluster": "other"}
	foreign := []string{ls[0].ARN}
	for _, r := range ls[0].Rules {
		foreign = append(foreign, r.ARN)
	}
	p := Stack(*in.Stack, in.Owner)
	for _, c := range p.Changes {
		touched := slices.Contains(foreign, c.Target.ID) || slices.ContainsFunc(c.TagARNs, func(a string) bool { return slices.Contains(foreign, a) }) ||
			(c.Rule != nil && c.Rule.Listener.ID == ls[0].ARN)
		if touched {
			t.Errorf("%s %s touches another cluster's listener or its rules:\n%s", c.Op, c.Target, render(t, p))
		}
	}
	if !slices.ContainsFunc(p.Notices, func(n string) bool {
		return strings.Contains(n, "listener 80") && strings.Contains(n, "elbv2.k8s.aws/cluster=other") && strings.Contains(n, "left as they are")
	}) {
		t.Errorf("no notice about the foreign tag; notices: %q", p.Notices)
	}

	// A single rule of another stack on lbsg's listener: neither modified nor deleted.
	in = readGoldenInput(t, filepath.Join("testdata", "alb-rules-change"))
	ls = in.Stack.Observed.Listeners[lbARN]
	for i := range ls[0].Rules {
		ls[0].Rules[i].Tags = map[string]string{"elbv2.k8s.aws/cluster": "prod", "ingress.k8s.aws/stack": "someone-else"}
	}
	p = Stack(*in.Stack, in.Owner)
	for _, c := range p.Changes {
		if c.Op == OpModifyRule || c.Op == OpDeleteRule || (c.Op == OpTagListeners && len(c.TagARNs) != 1) {
			t.Errorf("%s %s on another stack's rule:\n%s", c.Op, c.Target, render(t, p))
		}
	}
	if n := len(slices.DeleteFunc(slices.Clone(p.Notices), func(n string) bool { return !strings.Contains(n, "ingress.k8s.aws/stack=someone-else") })); n != len(ls[0].Rules) {
		t.Errorf("%d notices about the other stack's rules, want %d: %q", n, len(ls[0].Rules), p.Notices)
	}
}

// Rules lbsg leaves as they are (actions or conditions it does not model) are not tagged:
// lbsg never writes to them.
func TestStackDoesNotTagUnmodelledRules(t *testing.T) {
	in := readGoldenInput(t, filepath.Join("testdata", "alb-rules-change"))
	lbARN := in.Stack.Observed.LoadBalancers[0].ARN
	ls := in.Stack.Observed.Listeners[lbARN]
	ls[0].Rules[0].Unmodelled = "redirect"
	skip := ls[0].Rules[0].ARN
	for _, c := range changesOf(Stack(*in.Stack, in.Owner), OpTagListeners) {
		if slices.Contains(c.TagARNs, skip) {
			t.Errorf("unmodelled rule %s is tagged", skip)
		}
	}
}

// A listener that has the cluster tag but not the stack tag is sent the stack tag alone:
// lbsg never sends the cluster tag to a resource that has it (the IAM policy forbids
// naming that key when retagging).
func TestStackSendsOnlyTheMissingListenerTags(t *testing.T) {
	in := readGoldenInput(t, filepath.Join("testdata", "alb-rules-change"))
	lbARN := in.Stack.Observed.LoadBalancers[0].ARN
	ls := in.Stack.Observed.Listeners[lbARN]
	ls[0].Tags = map[string]string{"elbv2.k8s.aws/cluster": "prod"}
	p := Stack(*in.Stack, in.Owner)
	var got []string
	for _, c := range changesOf(p, OpTagListeners) {
		if slices.Contains(c.TagARNs, ls[0].ARN) {
			got = append(got, naming.FormatTags(c.Tags, ", "))
		}
		if c.Tags["elbv2.k8s.aws/cluster"] != "" && slices.Contains(c.TagARNs, ls[0].ARN) {
			t.Errorf("the cluster tag is sent again to %s", ls[0].ARN)
		}
	}
	if diff := cmp.Diff([]string{"ingress.k8s.aws/stack=front"}, got); diff != "" {
		t.Errorf("tags sent to the listener (-want +got):\n%s\nplan:\n%s", diff, render(t, p))
	}
	if n := len(changesOf(p, OpTagListeners)); n != 2 {
		t.Errorf("%d tag-listeners changes, want 2 (the listener's stack tag; both tags on its rules)", n)
	}
}
