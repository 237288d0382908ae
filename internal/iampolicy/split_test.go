package iampolicy

import (
	"bytes"
	"encoding/json"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/lbsg/lbsg/internal/naming"
)

// longestClusterName is the longest name --cluster-name accepts (naming.ValidateClusterName).
var longestClusterName = "a" + strings.Repeat("b", 98) + "z"

// bySid indexes a document's statements: IAM evaluates the statements of a role's
// policies as one set, whatever their order and document.
func bySid(d Document) map[string]Statement {
	out := map[string]Statement{}
	for _, s := range d.Statement {
		out[s.Sid] = s
	}
	return out
}

// realistic are the options of a cluster with the longest name in a partition with long
// ARNs, with its VPC, region and account, and two load balancer names set by annotation.
func realistic(name string) Options {
	return Options{ClusterName: name, Partition: "aws-us-gov", Region: "us-gov-west-1", AccountID: "123456789012",
		VPCID: "vpc-0123456789abcdef0", LoadBalancerNamePatterns: []string{"shop-*", "checkout-internal"}}
}

// iamSize counts as IAM does, independently of Size: the characters of the rendered file
// without white space.
func iamSize(t *testing.T, d Document) int {
	t.Helper()
	raw, err := Encode(d)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		t.Fatal(err)
	}
	return utf8.RuneCount(buf.Bytes())
}

var sidPattern = regexp.MustCompile(`^[A-Za-z0-9]+$`)

// conditionOperators are the IAM condition operators the policy may use.
var conditionOperators = map[string]bool{"StringEquals": true, "ArnEquals": true, "ArnLike": true, "Null": true,
	"ForAllValues:StringEquals": true, "ForAllValues:StringNotEquals": true}

// checkAWSRules checks the documents against IAM's rules for a role's managed policies:
// each within the managed policy size, no more than a role may have attached, Sids of
// letters and digits and unique (across the documents too, so that a statement keeps
// one name), the policy language version, and complete statements with known condition
// operators and non-empty values.
func checkAWSRules(t *testing.T, docs []Document) {
	t.Helper()
	if len(docs) == 0 || len(docs) > MaxManagedPoliciesPerRole {
		t.Fatalf("%d documents, want 1 to %d", len(docs), MaxManagedPoliciesPerRole)
	}
	sids := map[string]bool{}
	for i, d := range docs {
		if n := iamSize(t, d); n > ManagedPolicyMaxChars || n != Size(d) {
			t.Errorf("document %d has %d characters without white space (Size says %d); a managed policy may have %d", i+1, n, Size(d), ManagedPolicyMaxChars)
		}
		if d.Version != "2012-10-17" {
			t.Errorf("document %d: Version %q", i+1, d.Version)
		}
		for _, s := range d.Statement {
			if !sidPattern.MatchString(s.Sid) || sids[s.Sid] {
				t.Errorf("document %d: Sid %q is not letters and digits, or not unique", i+1, s.Sid)
			}
			sids[s.Sid] = true
			if s.Effect != "Allow" || len(s.Action) == 0 || len(s.Resource) == 0 {
				t.Errorf("%s: incomplete statement %+v", s.Sid, s)
			}
			for op, kv := range s.Condition {
				if !conditionOperators[op] || len(kv) == 0 {
					t.Errorf("%s: condition operator %s", s.Sid, op)
				}
				for k, v := range kv {
					if len(v) == 0 || slicesHasEmpty(v) {
						t.Errorf("%s: %s %s has an empty value", s.Sid, op, k)
					}
				}
			}
		}
	}
}

func slicesHasEmpty(v Values) bool {
	for _, s := range v {
		if s == "" {
			return true
		}
	}
	return false
}

// TestManagedDocumentsFitAWSLimitsForTheLongestClusterName guards issue 16 §1.1: the policy
// for my-cluster was 9,073 characters in one document, and AWS accepts 6,144 for a managed
// policy, so `aws iam create-policy` failed. For the longest cluster name lbsg accepts and a
// realistic VPC, every document fits, and together they are the whole policy: the same
// statements, conditions and all, in the same order.
func TestManagedDocumentsFitAWSLimitsForTheLongestClusterName(t *testing.T) {
	if err := naming.ValidateClusterName(longestClusterName); err != nil || naming.ValidateClusterName(longestClusterName+"x") == nil {
		t.Fatalf("%d characters is not the longest cluster name lbsg accepts", len(longestClusterName))
	}
	for _, name := range []string{longestClusterName, "my-cluster"} {
		t.Run(name[:min(len(name), 12)], func(t *testing.T) {
			o := realistic(name)
			whole := render(t, o)
			if name == longestClusterName && Size(whole) <= ManagedPolicyMaxChars {
				t.Fatalf("the whole policy has %d characters: this test no longer needs a split", Size(whole))
			}
			docs, err := Managed(o)
			if err != nil {
				t.Fatal(err)
			}
			checkAWSRules(t, docs)
			if got, want := bySid(Merge(docs)), bySid(whole); !reflect.DeepEqual(got, want) {
				t.Errorf("the documents together are not the policy: statements %v, want %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
			}
			checkWritesConditioned(t, Merge(docs), name)
		})
	}
}

// TestInlineOnlyWhereItFits: one inline policy for a cluster whose policy fits the
// 10,240 characters a role's inline policies share, and a clear refusal otherwise.
func TestInlineOnlyWhereItFits(t *testing.T) {
	o := Options{ClusterName: "my-cluster", VPCID: "vpc-0123456789abcdef0"}
	d, err := Inline(o)
	if err != nil {
		t.Fatalf("Inline(my-cluster): %v", err)
	}
	if n := iamSize(t, d); n > InlinePolicyMaxChars || n <= ManagedPolicyMaxChars {
		t.Errorf("inline policy of %d characters, want more than a managed policy holds and at most %d", n, InlinePolicyMaxChars)
	}
	if !reflect.DeepEqual(d, render(t, o)) {
		t.Error("the inline policy is not the whole policy")
	}
	_, err = Inline(realistic(longestClusterName))
	if err == nil || !strings.Contains(err.Error(), "10240") || !strings.Contains(err.Error(), "--format managed") {
		t.Errorf("Inline(longest name) = %v, want a refusal naming the limit and the managed format", err)
	}
}

// TestStatementTooLargeForOneDocumentIsSplitByResources: with many load balancer name
// patterns, the one-time tagging statement alone exceeds a managed policy; it is split
// into statements with the same actions and conditions whose resources together are the
// original's. Beyond what a role may have attached, Managed refuses.
func TestStatementTooLargeForOneDocumentIsSplitByResources(t *testing.T) {
	o := realistic(longestClusterName)
	for i := range 40 {
		o.LoadBalancerNamePatterns = append(o.LoadBalancerNamePatterns, "team-"+strings.Repeat("x", 20)+string(rune('a'+i%26))+string(rune('a'+i/26))+"-*")
	}
	whole := find(render(t, o), "TagUntaggedListenersAndRulesForCluster")
	if Size(Document{Version: "2012-10-17", Statement: []Statement{*whole}}) <= ManagedPolicyMaxChars {
		t.Fatal("the statement fits one document: the test needs more patterns")
	}
	docs, err := Managed(o)
	if err != nil {
		t.Fatal(err)
	}
	checkAWSRules(t, docs)
	var resources []string
	for _, s := range Merge(docs).Statement {
		if !strings.HasPrefix(s.Sid, whole.Sid) {
			continue
		}
		if !strings.HasPrefix(s.Sid, whole.Sid+"Part") || !reflect.DeepEqual(s.Condition, whole.Condition) || !reflect.DeepEqual(s.Action, whole.Action) {
			t.Errorf("%s: %v %v, want the actions and conditions of %s", s.Sid, s.Action, s.Condition, whole.Sid)
		}
		resources = append(resources, s.Resource...)
	}
	if !reflect.DeepEqual(resources, whole.Resource) {
		t.Errorf("the parts' resources are not the statement's")
	}

	for i := range 400 {
		o.LoadBalancerNamePatterns = append(o.LoadBalancerNamePatterns, "many-"+strings.Repeat("y", 20)+string(rune('a'+i%26))+string(rune('a'+i/26%26)))
	}
	if _, err := Managed(o); err == nil || !strings.Contains(err.Error(), "managed policies") {
		t.Errorf("Managed with 440 patterns = %v, want a refusal: more than a role may have attached", err)
	}
}
