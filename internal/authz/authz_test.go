package authz

import (
	"strings"
	"testing"

	"github.com/lbsg/lbsg/internal/naming"
)

const cluster = "prod"

func TestClassify(t *testing.T) {
	c := Classifier{Cluster: cluster, Self: StackTag{Key: naming.ServiceStackTag, Value: "team-a/web"},
		GroupNamespaces: map[string][]string{"shop": {"team-a"}}}
	tests := []struct {
		name string
		tags map[string]string
		want Owner
	}{
		{"own service stack", map[string]string{naming.TagCluster: cluster, naming.ServiceStackTag: "team-a/web"},
			Owner{Class: Own, Stack: "Service team-a/web", Namespaces: []string{"team-a"}}},
		{"another service, same namespace", map[string]string{naming.TagCluster: cluster, naming.ServiceStackTag: "team-a/db"},
			Owner{Class: Stack, Stack: "Service team-a/db", Namespaces: []string{"team-a"}}},
		{"another namespace's service", map[string]string{naming.TagCluster: cluster, naming.ServiceStackTag: "team-b/web"},
			Owner{Class: Stack, Stack: "Service team-b/web", Namespaces: []string{"team-b"}}},
		{"implicit ingress group", map[string]string{naming.TagCluster: cluster, naming.IngressStackTag: "team-b/front"},
			Owner{Class: Stack, Stack: "Ingress group team-b/front", Namespaces: []string{"team-b"}}},
		{"explicit ingress group", map[string]string{naming.TagCluster: cluster, naming.IngressStackTag: "shop"},
			Owner{Class: Stack, Stack: "Ingress group shop", Namespaces: []string{"team-a"}}},
		{"explicit group with no member", map[string]string{naming.TagCluster: cluster, naming.IngressStackTag: "gone"},
			Owner{Class: Stack, Stack: "Ingress group gone"}},
		{"gateway", map[string]string{naming.TagCluster: cluster, naming.GatewayALBStackTag: "team-c/gw"},
			Owner{Class: Stack, Stack: "Gateway team-c/gw", Namespaces: []string{"team-c"}}},
		{"another cluster's stack", map[string]string{naming.TagCluster: "dev", naming.ServiceStackTag: "team-a/web"},
			Owner{Class: OtherCluster, Stack: "cluster dev's Service team-a/web"}},
		{"backend SG", map[string]string{naming.TagCluster: cluster, naming.TagResource: naming.BackendSGResourceValue},
			Owner{Class: BackendSG}},
		{"another cluster's backend SG", map[string]string{naming.TagCluster: "dev", naming.TagResource: naming.BackendSGResourceValue},
			Owner{Class: OtherCluster, Stack: "cluster dev's backend security group"}},
		{"cluster tag alone", map[string]string{naming.TagCluster: cluster}, Owner{Class: Unattributed}},
		{"another cluster tag alone", map[string]string{naming.TagCluster: "dev"}, Owner{Class: OtherCluster, Stack: "cluster dev"}},
		{"a tracking tag without cluster", map[string]string{naming.IngressResourceTag: "x"}, Owner{Class: Unattributed}},
		{"node SG", map[string]string{naming.NodeSGClusterTagPrefix + cluster: "owned", "Name": "nodes"}, Owner{Class: External}},
		{"user SG", map[string]string{"Name": "corp-only", "aws:cloudformation:stack-name": "x"}, Owner{Class: External}},
		{"untagged", nil, Owner{Class: External}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.Classify(tt.tags)
			if got.Class != tt.want.Class || got.Stack != tt.want.Stack || strings.Join(got.Namespaces, ",") != strings.Join(tt.want.Namespaces, ",") {
				t.Errorf("Classify(%v) = %+v, want %+v", tt.tags, got, tt.want)
			}
		})
	}
}

// A bound target group carries its binding's claim: to a binding it is its own or another
// binding's (one binding per target group); to every other subject it is still what it
// was, made outside Kubernetes.
func TestClassifyBoundTargetGroups(t *testing.T) {
	key := naming.BoundByTagKey(cluster)
	binding := Classifier{Cluster: cluster, Self: StackTag{Key: key, Value: "team-a/web"}}
	service := Classifier{Cluster: cluster, Self: StackTag{Key: naming.ServiceStackTag, Value: "team-a/web"}}
	tests := []struct {
		name string
		c    Classifier
		tags map[string]string
		want Owner
	}{
		{"unclaimed", binding, map[string]string{"Name": "terraform"}, Owner{Class: External}},
		{"claimed by the binding", binding, map[string]string{key: "team-a/web"}, Owner{Class: Own, Stack: "TargetGroupBinding team-a/web", Namespaces: []string{"team-a"}}},
		{"claimed by another namespace's binding", binding, map[string]string{key: "team-b/web"}, Owner{Class: Stack, Stack: "TargetGroupBinding team-b/web", Namespaces: []string{"team-b"}}},
		{"claimed by another binding of the namespace", binding, map[string]string{key: "team-a/other"}, Owner{Class: Stack, Stack: "TargetGroupBinding team-a/other", Namespaces: []string{"team-a"}}},
		{"claimed by another cluster's binding", binding, map[string]string{naming.BoundByTagKey("dev"): "team-a/web"}, Owner{Class: External}},
		{"a stack's target group, claimed", binding, map[string]string{naming.ServiceStackTag: "team-a/web", key: "team-a/web"}, Owner{Class: Stack, Stack: "Service team-a/web", Namespaces: []string{"team-a"}}},
		{"a bound target group, to a Service", service, map[string]string{key: "team-b/web"}, Owner{Class: External}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.c.Classify(tt.tags)
			if got.Class != tt.want.Class || got.Stack != tt.want.Stack || strings.Join(got.Namespaces, ",") != strings.Join(tt.want.Namespaces, ",") {
				t.Errorf("Classify(%v) = %+v, want %+v", tt.tags, got, tt.want)
			}
			d := Policy{}.Decide(Reference{From: Subject{Kind: "TargetGroupBinding", Namespace: "team-a", Name: "web"}, Kind: TargetGroup, ID: "arn", Owner: got})
			if allow := got.Class == Own || got.Class == External; d.Allowed != allow {
				t.Errorf("Decide = %+v, want allowed=%t", d, allow)
			}
		})
	}
}

// TestDecideEveryKindOwnerAndPolicy walks every kind of reference against every class of
// owner and both group policies: only an object's own resources, what nothing in
// Kubernetes owns, and (for groups) consented namespaces are allowed.
func TestDecideEveryKindOwnerAndPolicy(t *testing.T) {
	svcA := Subject{Kind: "Service", Namespace: "team-a", Name: "web"}
	ingB := Subject{Kind: "Ingress", Namespace: "team-b", Name: "evil"}
	ingA := Subject{Kind: "Ingress", Namespace: "team-a", Name: "shop"}
	groupAB := Subject{Kind: "IngressGroup", Name: "shop", Namespaces: []string{"team-a", "team-b"}}
	owners := map[Class]Owner{
		Own:          {Class: Own, Stack: "Service team-a/web", Namespaces: []string{"team-a"}},
		Stack:        {Class: Stack, Stack: "Service team-b/api", Namespaces: []string{"team-b"}},
		BackendSG:    {Class: BackendSG},
		OtherCluster: {Class: OtherCluster, Stack: "cluster dev's Service team-a/web"},
		Unattributed: {Class: Unattributed},
		External:     {Class: External},
	}
	same, anyNS := Policy{}, Policy{Groups: GroupAnyNamespace}
	grant := Policy{Grants: []Grant{{Namespace: "team-a",
		From: []GrantFrom{{Group: "networking.k8s.io", Kind: "Ingress", Namespace: "team-b"}},
		To:   []GrantTo{{Group: GrantGroup, Kind: GrantKindIngressGroup, Name: "shop"}}}}}
	wrongGrant := Policy{Grants: []Grant{{Namespace: "team-a",
		From: []GrantFrom{{Group: "networking.k8s.io", Kind: "Ingress", Namespace: "team-b"}},
		To:   []GrantTo{{Group: GrantGroup, Kind: GrantKindIngressGroup, Name: "other"}}}}}
	grantElsewhere := Policy{Grants: []Grant{{Namespace: "team-b", // team-b cannot consent for team-a
		From: []GrantFrom{{Group: "networking.k8s.io", Kind: "Ingress", Namespace: "team-b"}},
		To:   []GrantTo{{Group: GrantGroup, Kind: GrantKindIngressGroup}}}}}

	type tc struct {
		name   string
		policy Policy
		ref    Reference
		allow  bool
	}
	var tests []tc
	// Security groups and target groups: the same rule under every policy.
	for _, kind := range []Kind{SecurityGroup, TargetGroup} {
		for class, owner := range owners {
			allow := class == Own || class == External
			for pname, p := range map[string]Policy{"same": same, "any": anyNS, "grant": grant} {
				tests = append(tests, tc{string(kind) + "/" + string(class) + "/" + pname, p,
					Reference{From: svcA, Kind: kind, Value: "x", ID: "x", Owner: owner}, allow})
			}
		}
	}
	// A binding's source security group: its own namespace's load balancers, the backend
	// SG and what no stack made; nothing of another namespace or cluster.
	tgbA := Subject{Kind: "TargetGroupBinding", Namespace: "team-a", Name: "web"}
	for class, owner := range owners {
		allow := class == Own || class == External || class == BackendSG
		for pname, p := range map[string]Policy{"same": same, "any": anyNS, "grant": grant} {
			tests = append(tests, tc{"source/" + string(class) + "/" + pname, p,
				Reference{From: tgbA, Kind: SourceSecurityGroup, Value: "sg-1", ID: "sg-1", Owner: owner}, allow})
		}
	}
	tests = append(tests,
		tc{"source: a Service of the same namespace", same, Reference{From: tgbA, Kind: SourceSecurityGroup, ID: "sg-1",
			Owner: Owner{Class: Stack, Stack: "Service team-a/api", Namespaces: []string{"team-a"}}}, true},
		tc{"source: a group the namespace is a member of", same, Reference{From: tgbA, Kind: SourceSecurityGroup, ID: "sg-1",
			Owner: Owner{Class: Stack, Stack: "Ingress group shop", Namespaces: []string{"team-b", "team-a"}}}, true},
		tc{"source: a group of no known member", same, Reference{From: tgbA, Kind: SourceSecurityGroup, ID: "sg-1",
			Owner: Owner{Class: Stack, Stack: "Ingress group shop"}}, false})
	// Prefix lists are AWS's.
	tests = append(tests, tc{"prefix list", same, Reference{From: svcA, Kind: PrefixList, Value: "pl-1", Owner: owners[External]}, true})
	// Pods: the subject's namespace only, whatever the policy.
	podA := Owner{Class: Stack, Stack: "Pod team-a/p", Namespaces: []string{"team-a"}}
	podB := Owner{Class: Stack, Stack: "Pod team-b/p", Namespaces: []string{"team-b"}}
	for pname, p := range map[string]Policy{"same": same, "any": anyNS} {
		tests = append(tests,
			tc{"pod same namespace/" + pname, p, Reference{From: svcA, Kind: Pod, ID: "10.0.0.1", Owner: podA}, true},
			tc{"pod other namespace/" + pname, p, Reference{From: svcA, Kind: Pod, ID: "10.0.0.1", Owner: podB}, false},
			tc{"pod of a group's namespace/" + pname, p, Reference{From: groupAB, Kind: Pod, ID: "10.0.0.1", Owner: podB}, true},
			tc{"pod of no namespace/" + pname, p, Reference{From: svcA, Kind: Pod, ID: "10.0.0.1"}, false})
	}
	// Ingress groups.
	shopOfA := Owner{Class: Stack, Stack: "Ingress group shop", Namespaces: []string{"team-a"}}
	tests = append(tests,
		tc{"group: owner's namespace joins", same, Reference{From: ingA, Kind: IngressGroup, Value: "shop", Owner: shopOfA}, true},
		tc{"group: new group", same, Reference{From: ingB, Kind: IngressGroup, Value: "shop", Owner: Owner{Class: Stack}}, true},
		tc{"group: other namespace refused", same, Reference{From: ingB, Kind: IngressGroup, Value: "shop", Owner: shopOfA}, false},
		tc{"group: other namespace with any", anyNS, Reference{From: ingB, Kind: IngressGroup, Value: "shop", Owner: shopOfA}, true},
		tc{"group: pinned by IngressClassParams", same, Reference{From: ingB, Kind: IngressGroup, Value: "shop", Owner: shopOfA, Pinned: true}, true},
		tc{"group: ReferenceGrant from the owner", grant, Reference{From: ingB, Kind: IngressGroup, Value: "shop", Owner: shopOfA}, true},
		tc{"group: ReferenceGrant for another group", wrongGrant, Reference{From: ingB, Kind: IngressGroup, Value: "shop", Owner: shopOfA}, false},
		tc{"group: ReferenceGrant in the joiner's namespace", grantElsewhere, Reference{From: ingB, Kind: IngressGroup, Value: "shop", Owner: shopOfA}, false},
		tc{"unknown kind", anyNS, Reference{From: ingB, Kind: "Secret", Value: "x", Owner: owners[External]}, false},
	)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.policy.Decide(tt.ref)
			if d.Allowed != tt.allow {
				t.Fatalf("Decide(%+v) = %+v, want allowed=%t", tt.ref, d, tt.allow)
			}
			if !d.Allowed && (d.Reason == "" || d.Fix == "") {
				t.Errorf("a denial must say why and what to do: %+v", d)
			}
		})
	}
}

func TestDenialMessageNamesKeyValueOwnerAndFix(t *testing.T) {
	r := Reference{From: Subject{Kind: "Service", Namespace: "team-b", Name: "x"}, Kind: SecurityGroup,
		Key: "service.beta.kubernetes.io/aws-load-balancer-security-groups", Value: "corp-only", ID: "sg-1",
		Owner: Owner{Class: Stack, Stack: "Service team-a/web", Namespaces: []string{"team-a"}}}
	msg := Denial{Reference: r, Decision: Policy{}.Decide(r)}.Error()
	for _, want := range []string{r.Key, `"corp-only"`, "sg-1", "Service team-a/web", "namespace team-a", "name a security group of your own"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
}

func TestSourceDenialNamesTheSGItsOwnerAndTheFix(t *testing.T) {
	r := Reference{From: Subject{Kind: "TargetGroupBinding", Namespace: "team-b", Name: "x"}, Kind: SourceSecurityGroup,
		Key: "spec.networking.ingress[0].from[0].securityGroup.groupID", Value: "sg-1", ID: "sg-1",
		Owner: Owner{Class: Stack, Stack: "Service team-a/web", Namespaces: []string{"team-a"}}}
	msg := Denial{Reference: r, Decision: Policy{}.Decide(r)}.Error()
	for _, want := range []string{r.Key, `"sg-1"`, "Service team-a/web", "namespace team-a", "name the security group of the load balancer"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
}

func TestParseGroupScope(t *testing.T) {
	for _, v := range []string{"same", "any"} {
		if s, err := ParseGroupScope(v); err != nil || string(s) != v {
			t.Errorf("ParseGroupScope(%q) = %q, %v", v, s, err)
		}
	}
	for _, v := range []string{"", "Same", "all", "none"} {
		if _, err := ParseGroupScope(v); err == nil {
			t.Errorf("ParseGroupScope(%q) must fail", v)
		}
	}
}
