package iampolicy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// unconditioned lists the write statements that cannot test the cluster tag, and why;
// every other write statement must.
var unconditioned = map[string]string{
	"CreateSecurityGroupsInClusterVPC":   "the VPC half of CreateSecurityGroup: the SG half is tag-conditioned",
	"RuleWritesInClusterVPC":             "node and pod SGs are not lbsg's and carry no cluster tag: limited to the VPC instead",
	"CreateELBServiceLinkedRole":         "conditioned on the ELB service name instead",
	"RegisterTargetsInBoundTargetGroups": "TargetGroupBindings name target groups made outside Kubernetes, without the cluster tag: limited to untagged ones",
	"TagBoundTargetGroups":               "the same target groups: limited to untagged ones, and to tag keys that name the cluster",
}

// TestBoundTargetGroupsAllowOnlyTheClusterClaimTags: lbsg may write, on target groups made
// outside Kubernetes, only the two tags that record a binding's claim and seal for this
// cluster; never the cluster tag, never another cluster's keys.
func TestBoundTargetGroupsAllowOnlyTheClusterClaimTags(t *testing.T) {
	s := find(render(t, Options{ClusterName: "prod"}), "TagBoundTargetGroups")
	if s == nil {
		t.Fatal("no TagBoundTargetGroups statement")
	}
	if got := strings.Join(s.Action, ","); got != "elasticloadbalancing:AddTags,elasticloadbalancing:RemoveTags" {
		t.Errorf("actions %s", got)
	}
	keys := s.Condition["ForAllValues:StringEquals"]["aws:TagKeys"]
	if strings.Join(keys, ",") != "lbsg.k8s.aws/bound-by/prod,lbsg.k8s.aws/registered/prod" {
		t.Errorf("tag keys %v, want the cluster's claim and seal keys only", keys)
	}
	if v := s.Condition["Null"]["aws:ResourceTag/"+ClusterTagKey]; len(v) != 1 || v[0] != "true" || len(s.Condition) != 2 {
		t.Errorf("condition %v, want untagged target groups only", s.Condition)
	}
}

// TestBoundTargetGroupsAllowOnlyTargetWritesOnUntaggedTargetGroups: the statement that lets
// TargetGroupBindings register targets in target groups made outside Kubernetes allows
// nothing else, and nothing on a target group tagged for any cluster.
func TestBoundTargetGroupsAllowOnlyTargetWritesOnUntaggedTargetGroups(t *testing.T) {
	s := find(render(t, Options{ClusterName: "prod"}), "RegisterTargetsInBoundTargetGroups")
	if s == nil {
		t.Fatal("no RegisterTargetsInBoundTargetGroups statement")
	}
	if got := strings.Join(s.Action, ","); got != "elasticloadbalancing:DeregisterTargets,elasticloadbalancing:RegisterTargets" {
		t.Errorf("actions %s, want only RegisterTargets and DeregisterTargets", got)
	}
	if v := s.Condition["Null"]["aws:ResourceTag/"+ClusterTagKey]; len(v) != 1 || v[0] != "true" || len(s.Condition) != 1 {
		t.Errorf("condition %v, want only untagged target groups", s.Condition)
	}
}

func render(t *testing.T, o Options) Document {
	t.Helper()
	doc, err := Render(o)
	if err != nil {
		t.Fatalf("Render(%+v): %v", o, err)
	}
	return doc
}

func isRead(action string) bool {
	_, op, _ := strings.Cut(action, ":")
	return strings.HasPrefix(op, "Describe") || strings.HasPrefix(op, "List")
}

// TestEveryWriteIsConditionedOnTheClusterTagValue guards issue 6 §1 case 11: the old policy
// tested only that elbv2.k8s.aws/cluster existed (Null), so one cluster's role could delete
// another cluster's resources.
func TestEveryWriteIsConditionedOnTheClusterTagValue(t *testing.T) {
	checkWritesConditioned(t, render(t, Options{ClusterName: "prod"}), "prod")
}

// TestCommittedPolicyConditionsEveryWriteOnTheClusterTagValue reads docs/iam-policy-N.json,
// the files users are told to apply, and checks them together as above: the policy
// committed before (Null conditions, Authorize and Revoke on every SG) fails it.
func TestCommittedPolicyConditionsEveryWriteOnTheClusterTagValue(t *testing.T) {
	var docs []Document
	for _, raw := range committedPolicies(t) {
		docs = append(docs, parseIAM(t, raw))
	}
	doc := Merge(docs)
	checkWritesConditioned(t, doc, DocClusterName)
	s := find(doc, "RuleWritesInClusterVPC")
	if s == nil || len(s.Condition["ArnLike"]["ec2:Vpc"]) != 1 {
		t.Errorf("docs/iam-policy-N.json do not limit rule writes to a VPC")
	}
}

// committedPolicies reads docs/iam-policy-1.json, docs/iam-policy-2.json, … in order.
func committedPolicies(t *testing.T) [][]byte {
	t.Helper()
	var out [][]byte
	for i := 1; ; i++ {
		raw, err := os.ReadFile(filepath.Join(moduleRoot(t), "docs", fmt.Sprintf("iam-policy-%d.json", i)))
		if os.IsNotExist(err) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, raw)
	}
	if len(out) == 0 {
		t.Fatal("no docs/iam-policy-1.json")
	}
	return out
}

// checkWritesConditioned: reads are account-wide and listed one by one; every write
// statement not in unconditioned tests the cluster tag's value with StringEquals on named
// resources; no condition is inexact (Null, StringLike, …IfExists).
func checkWritesConditioned(t *testing.T, doc Document, cluster string) {
	t.Helper()
	for _, s := range doc.Statement {
		if len(s.Action) == 0 {
			t.Errorf("%s: no action", s.Sid)
			continue
		}
		writes := !isRead(s.Action[0])
		for _, a := range s.Action {
			if isRead(a) == writes {
				t.Errorf("%s mixes reads and writes: %v", s.Sid, s.Action)
			}
			if strings.ContainsAny(a, "*?") {
				t.Errorf("%s: action %s is a wildcard", s.Sid, a)
			}
		}
		for op, kv := range s.Condition {
			for k, v := range kv {
				// Null "true" on the resource's cluster tag narrows (to untagged resources);
				// Null "false" (the tag exists, whatever its value) is what case 11 found.
				untaggedOnly := op == "Null" && k == "aws:ResourceTag/"+ClusterTagKey && len(v) == 1 && v[0] == "true"
				if (op == "Null" && !untaggedOnly) || strings.HasPrefix(op, "StringLike") || strings.Contains(op, "IfExists") {
					t.Errorf("%s: condition %s on %s is not an exact test", s.Sid, op, k)
				}
			}
		}
		if !writes {
			if len(s.Resource) != 1 || s.Resource[0] != "*" || s.Condition != nil {
				t.Errorf("%s: reads are account-wide (Describe* has no resource-level permissions), got %v %v", s.Sid, s.Resource, s.Condition)
			}
			continue
		}
		for _, r := range s.Resource {
			if r == "*" {
				t.Errorf("%s: %v on every resource", s.Sid, s.Action)
			}
		}
		if _, ok := unconditioned[s.Sid]; ok {
			continue
		}
		eq := s.Condition["StringEquals"]
		req, res := eq["aws:RequestTag/"+ClusterTagKey], eq["aws:ResourceTag/"+ClusterTagKey]
		ok := len(req)+len(res) > 0
		for _, vs := range []Values{req, res} {
			if len(vs) > 1 || (len(vs) == 1 && vs[0] != cluster) {
				ok = false
			}
		}
		if !ok {
			t.Errorf("%s (%v) is not conditioned on %s=%s by StringEquals: %v", s.Sid, s.Action, ClusterTagKey, cluster, s.Condition)
		}
	}
	for sid := range unconditioned {
		if find(doc, sid) == nil {
			t.Errorf("unconditioned lists %s, which the policy does not have", sid)
		}
	}
}

// TestRuleWritesAreLimitedToTheClusterVPC guards the other half of case 11: Authorize and
// Revoke were allowed on every SG of the account.
func TestRuleWritesAreLimitedToTheClusterVPC(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    Options
		op   string
		want string
	}{
		{"vpc, region and account", Options{ClusterName: "c", VPCID: "vpc-0123456789abcdef0", Region: "eu-west-1", AccountID: "123456789012"},
			"ArnEquals", "arn:aws:ec2:eu-west-1:123456789012:vpc/vpc-0123456789abcdef0"},
		{"vpc only", Options{ClusterName: "c", VPCID: "vpc-0123abcd"}, "ArnLike", "arn:aws:ec2:*:*:vpc/vpc-0123abcd"},
		{"nothing", Options{ClusterName: "c"}, "ArnLike", "arn:aws:ec2:*:*:vpc/*"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := render(t, tc.o)
			for _, sid := range []string{"RuleWritesInClusterVPC", "DeleteClusterSecurityGroups"} {
				s := find(doc, sid)
				if s == nil {
					t.Fatalf("no statement %s", sid)
				}
				if got := s.Condition[tc.op]["ec2:Vpc"]; len(got) != 1 || got[0] != tc.want {
					t.Errorf("%s: %s ec2:Vpc = %v, want %s", sid, tc.op, got, tc.want)
				}
			}
			if got := find(doc, "CreateSecurityGroupsInClusterVPC").Resource; len(got) != 1 || got[0] != tc.want {
				t.Errorf("CreateSecurityGroup VPC resource = %v, want %s", got, tc.want)
			}
			if warned := len(tc.o.Warnings()) > 0; warned != (tc.o.VPCID == "") {
				t.Errorf("Warnings() = %v with VPC %q", tc.o.Warnings(), tc.o.VPCID)
			}
		})
	}
}

// TestTwoClustersRenderDifferentConditions: a role rendered for one cluster allows nothing
// on the other's resources.
func TestTwoClustersRenderDifferentConditions(t *testing.T) {
	a := render(t, Options{ClusterName: "prod"})
	b := render(t, Options{ClusterName: "prod-eu"})
	if len(a.Statement) != len(b.Statement) {
		t.Fatalf("statement counts differ: %d and %d", len(a.Statement), len(b.Statement))
	}
	differ := 0
	for i := range a.Statement {
		ja, _ := json.Marshal(a.Statement[i].Condition)
		jb, _ := json.Marshal(b.Statement[i].Condition)
		if strings.Contains(string(ja), "prod-eu") {
			t.Errorf("%s of prod mentions prod-eu: %s", a.Statement[i].Sid, ja)
		}
		if _, ok := unconditioned[a.Statement[i].Sid]; ok {
			continue
		}
		if !bytes.Equal(ja, jb) {
			differ++
		}
	}
	// The unconditioned read statements: EC2, ELB and ACM (certificate discovery).
	if want := len(a.Statement) - 3 - len(unconditioned); differ != want {
		t.Errorf("%d statements differ between the clusters, want every tag-conditioned one (%d)", differ, want)
	}
}

// TestClusterNamesThatWouldChangeThePolicyAreRefused: the name goes into condition values,
// where a wildcard, a policy variable or a separator would widen what it matches.
func TestClusterNamesThatWouldChangeThePolicyAreRefused(t *testing.T) {
	for _, name := range []string{"", "prod,eu", "my cluster", "prod*", "pr?d", "${aws:username}", `a"b`, "a\\b",
		"-lead", ".lead", "prod=x", "a/b", "é", strings.Repeat("a", 101)} {
		if _, err := Render(Options{ClusterName: name}); err == nil {
			t.Errorf("Render accepted cluster name %q", name)
		} else if !strings.Contains(err.Error(), "cluster-name") && !strings.Contains(err.Error(), "cluster name") {
			t.Errorf("error for %q does not name the flag: %v", name, err)
		}
	}
	for _, name := range []string{"prod", "my-cluster", "my_cluster", "k8s.example.com", "A1", strings.Repeat("a", 100)} {
		if _, err := Render(Options{ClusterName: name}); err != nil {
			t.Errorf("Render refused cluster name %q: %v", name, err)
		}
	}
}

func TestOtherOptionsAreValidated(t *testing.T) {
	for _, o := range []Options{
		{ClusterName: "c", Partition: "gcp"},
		{ClusterName: "c", Partition: "aws:x"},
		{ClusterName: "c", Region: "*"},
		{ClusterName: "c", Region: "us-west-2:1"},
		{ClusterName: "c", AccountID: "12345"},
		{ClusterName: "c", AccountID: "*"},
		{ClusterName: "c", VPCID: "vpc-*"},
		{ClusterName: "c", VPCID: "subnet-0123abcd"},
		{ClusterName: "c", LoadBalancerNamePatterns: []string{"k8s-*/x"}},
		{ClusterName: "c", LoadBalancerNamePatterns: []string{""}},
		{ClusterName: "c", LoadBalancerNamePatterns: []string{strings.Repeat("a", 33)}},
	} {
		if _, err := Render(o); err == nil {
			t.Errorf("Render accepted %+v", o)
		}
	}
}

// TestPartitionChangesEveryARN: a policy for aws-cn with aws ARNs would allow nothing.
func TestPartitionChangesEveryARN(t *testing.T) {
	doc := render(t, Options{ClusterName: "c", Partition: "aws-cn", VPCID: "vpc-0123abcd"})
	arns := 0
	for _, s := range doc.Statement {
		values := append([]string(nil), s.Resource...)
		for _, kv := range s.Condition {
			for _, v := range kv {
				values = append(values, v...)
			}
		}
		for _, v := range values {
			if !strings.HasPrefix(v, "arn:") {
				continue
			}
			arns++
			if !strings.HasPrefix(v, "arn:aws-cn:") {
				t.Errorf("%s: %s is not in partition aws-cn", s.Sid, v)
			}
		}
	}
	if arns < 10 {
		t.Errorf("only %d ARNs checked", arns)
	}
	raw, err := Encode(render(t, Options{ClusterName: "c", Partition: "aws-cn"}))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "arn:aws:") {
		t.Errorf("aws-cn policy still has an arn:aws: ARN:\n%s", raw)
	}
}

// TestListenerAndRuleWritesAreConditionedOnTheClusterTag guards the listener part of case
// 11: listeners and rules were created untagged, so their writes were allowed on every
// load balancer named k8s-*, another cluster's included. Now lbsg creates them with the
// cluster tag and every write on them tests its value.
func TestListenerAndRuleWritesAreConditionedOnTheClusterTag(t *testing.T) {
	doc := render(t, Options{ClusterName: "c"})
	res, req := "aws:ResourceTag/"+ClusterTagKey, "aws:RequestTag/"+ClusterTagKey
	listenerWrites := map[string]bool{}
	for _, a := range []string{"AddListenerCertificates", "RemoveListenerCertificates", "ModifyListener", "DeleteListener",
		"CreateRule", "ModifyRule", "DeleteRule"} {
		listenerWrites["elasticloadbalancing:"+a] = true
	}
	seen := map[string]bool{}
	for _, s := range doc.Statement {
		for _, a := range s.Action {
			if !listenerWrites[a] {
				continue
			}
			seen[a] = true
			eq := s.Condition["StringEquals"]
			if len(eq[res]) != 1 && len(eq[req]) != 1 {
				t.Errorf("%s: %s is not conditioned on the cluster tag: %v", s.Sid, a, s.Condition)
			}
		}
	}
	for a := range listenerWrites {
		if !seen[a] {
			t.Errorf("%s is not in the policy", a)
		}
	}
	// Creating a listener or a rule needs the parent's cluster tag and the tag in the
	// request.
	for _, sid := range []string{"CreateListenersOnClusterLoadBalancers", "CreateRulesOnClusterListeners"} {
		eq := find(doc, sid).Condition["StringEquals"]
		if len(eq[res]) != 1 || eq[res][0] != "c" || len(eq[req]) != 1 || eq[req][0] != "c" {
			t.Errorf("%s: want the parent's cluster tag and the cluster tag in the request: %v", sid, eq)
		}
	}
	if eq := find(doc, "TagListenersAndRulesOnCreate").Condition["StringEquals"]; strings.Join(eq["elasticloadbalancing:CreateAction"], ",") != "CreateListener,CreateRule" {
		t.Errorf("TagListenersAndRulesOnCreate: CreateAction %v", eq["elasticloadbalancing:CreateAction"])
	}
}

// TestUntaggedListenersAreTaggedOnlyOnNamedLoadBalancers: the one-time tagging of
// listeners and rules that exist without tags is the residual IAM cannot tie to the
// cluster. It is limited to load balancers named k8s-* (or a given pattern), to
// resources without a cluster tag, to the cluster's value and to lbsg's keys.
func TestUntaggedListenersAreTaggedOnlyOnNamedLoadBalancers(t *testing.T) {
	doc := render(t, Options{ClusterName: "c", LoadBalancerNamePatterns: []string{"shop-alb", "k8s-*"}})
	s := find(doc, "TagUntaggedListenersAndRulesForCluster")
	want := []string{
		"arn:aws:elasticloadbalancing:*:*:listener/app/k8s-*/*/*", "arn:aws:elasticloadbalancing:*:*:listener/net/k8s-*/*/*",
		"arn:aws:elasticloadbalancing:*:*:listener/app/shop-alb/*/*", "arn:aws:elasticloadbalancing:*:*:listener/net/shop-alb/*/*",
		"arn:aws:elasticloadbalancing:*:*:listener-rule/app/k8s-*/*/*/*", "arn:aws:elasticloadbalancing:*:*:listener-rule/app/shop-alb/*/*/*",
	}
	if strings.Join(s.Action, " ") != "elasticloadbalancing:AddTags" {
		t.Errorf("actions %v, want AddTags only", s.Action)
	}
	if strings.Join(s.Resource, " ") != strings.Join(want, " ") {
		t.Errorf("resources = %v, want %v", s.Resource, want)
	}
	if v := s.Condition["Null"]["aws:ResourceTag/"+ClusterTagKey]; len(v) != 1 || v[0] != "true" {
		t.Errorf("not limited to resources without a cluster tag: %v", s.Condition)
	}
	if v := s.Condition["StringEquals"]["aws:RequestTag/"+ClusterTagKey]; len(v) != 1 || v[0] != "c" {
		t.Errorf("not limited to the cluster's value: %v", s.Condition)
	}
	keys := s.Condition["ForAllValues:StringEquals"]["aws:TagKeys"]
	if strings.Join(keys, ",") != "elbv2.k8s.aws/cluster,service.k8s.aws/stack,ingress.k8s.aws/stack" {
		t.Errorf("tag keys %v, want lbsg's cluster and stack keys only", keys)
	}
	// Every other listener or rule statement is on any name: the cluster tag limits them.
	for _, st := range doc.Statement {
		if st.Sid == s.Sid {
			continue
		}
		for _, r := range st.Resource {
			if strings.Contains(r, "shop-alb") {
				t.Errorf("%s: %s uses a name pattern", st.Sid, r)
			}
		}
	}
}

// TestTagWritesCannotMoveAResourceBetweenClusters: retagging an owned resource may neither
// set nor remove the cluster tag, and tagging on create needs the cluster's value.
func TestTagWritesCannotMoveAResourceBetweenClusters(t *testing.T) {
	doc := render(t, Options{ClusterName: "c"})
	for _, sid := range []string{"RetagClusterSecurityGroups", "RetagClusterLoadBalancersAndTargetGroups", "RetagClusterListenersAndRules"} {
		s := find(doc, sid)
		if got := s.Condition["ForAllValues:StringNotEquals"]["aws:TagKeys"]; len(got) != 1 || got[0] != ClusterTagKey {
			t.Errorf("%s may change the cluster tag: %v", sid, s.Condition)
		}
	}
	for _, sid := range []string{"TagSecurityGroupsOnCreate", "TagRulesOnAuthorize", "TagLoadBalancersAndTargetGroupsOnCreate", "TagListenersAndRulesOnCreate"} {
		s := find(doc, sid)
		eq := s.Condition["StringEquals"]
		if len(eq["aws:RequestTag/"+ClusterTagKey]) != 1 || (len(eq["ec2:CreateAction"]) == 0 && len(eq["elasticloadbalancing:CreateAction"]) == 0) {
			t.Errorf("%s does not require creation with the cluster tag: %v", sid, s.Condition)
		}
	}
}

// TestRenderingIsStableValidIAM: same options, same bytes; sorted actions; unique Sids.
func TestRenderingIsStableValidIAM(t *testing.T) {
	o := Options{ClusterName: "c", VPCID: "vpc-0123abcd", LoadBalancerNamePatterns: []string{"b-*", "a-*"}}
	first, err := Encode(render(t, o))
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		again, _ := Encode(render(t, o))
		if !bytes.Equal(first, again) {
			t.Fatal("two renderings differ")
		}
	}
	var doc Document
	if err := json.Unmarshal(first, &doc); err != nil {
		t.Fatalf("output is not JSON: %v", err)
	}
	if doc.Version != "2012-10-17" {
		t.Errorf("Version = %q", doc.Version)
	}
	sids := map[string]bool{}
	for _, s := range doc.Statement {
		if s.Sid == "" || strings.IndexFunc(s.Sid, func(r rune) bool { return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') }) >= 0 {
			t.Errorf("Sid %q: IAM wants letters and digits", s.Sid)
		}
		if sids[s.Sid] {
			t.Errorf("Sid %s twice", s.Sid)
		}
		sids[s.Sid] = true
		if s.Effect != "Allow" || len(s.Action) == 0 || len(s.Resource) == 0 {
			t.Errorf("%s: incomplete statement %+v", s.Sid, s)
		}
		for i := 1; i < len(s.Action); i++ {
			if s.Action[i-1] >= s.Action[i] {
				t.Errorf("%s: actions not sorted: %v", s.Sid, s.Action)
			}
		}
	}
}

// TestCommittedPolicyIsGenerated: docs/iam-policy-N.json are what `make iam-policy`
// renders.
func TestCommittedPolicyIsGenerated(t *testing.T) {
	docs, err := Managed(Options{ClusterName: DocClusterName})
	if err != nil {
		t.Fatal(err)
	}
	got := committedPolicies(t)
	if len(got) != len(docs) {
		t.Fatalf("docs has %d iam-policy-N.json, the policy renders as %d documents: run `make iam-policy` and commit them", len(got), len(docs))
	}
	for i, d := range docs {
		want, err := Encode(d)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got[i], want) {
			t.Errorf("docs/iam-policy-%d.json differs from the rendered policy: run `make iam-policy` and commit it", i+1)
		}
	}
}

// parseIAM reads any IAM policy document, where Action and Resource may be a string or a
// list.
func parseIAM(t *testing.T, raw []byte) Document {
	t.Helper()
	var loose struct {
		Version   string
		Statement []struct {
			Sid, Effect      string
			Action, Resource Values
			Condition        Condition
		}
	}
	if err := json.Unmarshal(raw, &loose); err != nil {
		t.Fatalf("not an IAM policy document: %v", err)
	}
	doc := Document{Version: loose.Version}
	for _, s := range loose.Statement {
		doc.Statement = append(doc.Statement, Statement{Sid: s.Sid, Effect: s.Effect, Action: s.Action, Resource: s.Resource, Condition: s.Condition})
	}
	return doc
}

func find(doc Document, sid string) *Statement {
	for i := range doc.Statement {
		if doc.Statement[i].Sid == sid {
			return &doc.Statement[i]
		}
	}
	return nil
}
