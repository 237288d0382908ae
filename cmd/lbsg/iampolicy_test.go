package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/lbsg/lbsg/internal/iampolicy"
)

func runIAMPolicy(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := newRoot()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append([]string{"iam-policy"}, args...))
	err = root.Execute()
	return out.String(), errOut.String(), err
}

// TestIAMPolicyCommandRendersThePolicyOfOneCluster runs `lbsg iam-policy` as a user would
// and reads its output as an IAM policy.
func TestIAMPolicyCommandRendersThePolicyOfOneCluster(t *testing.T) {
	stdout, stderr, err := runIAMPolicy(t, "--cluster-name=prod", "--partition=aws-us-gov",
		"--aws-region=us-gov-west-1", "--account-id=123456789012", "--aws-vpc-id=vpc-0123456789abcdef0")
	if err != nil {
		t.Fatalf("iam-policy: %v (stderr %q)", err, stderr)
	}
	if stderr != "" {
		t.Errorf("warnings with every option set: %q", stderr)
	}
	var doc iampolicy.Document
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("output is not a policy document: %v\n%s", err, stdout)
	}
	if doc.Version != "2012-10-17" || len(doc.Statement) == 0 {
		t.Fatalf("unexpected document: %+v", doc)
	}
	vpc := "arn:aws-us-gov:ec2:us-gov-west-1:123456789012:vpc/vpc-0123456789abcdef0"
	var ruleWrites, clusterConditions int
	for _, s := range doc.Statement {
		for _, r := range s.Resource {
			if r != "*" && !strings.HasPrefix(r, "arn:aws-us-gov:") {
				t.Errorf("%s: resource %s is not in the partition", s.Sid, r)
			}
		}
		if v := s.Condition["StringEquals"]; len(v["aws:ResourceTag/"+iampolicy.ClusterTagKey])+len(v["aws:RequestTag/"+iampolicy.ClusterTagKey]) > 0 {
			clusterConditions++
		}
		for _, a := range s.Action {
			if a == "ec2:AuthorizeSecurityGroupIngress" && s.Resource[0] != "arn:aws-us-gov:ec2:us-gov-west-1:123456789012:security-group-rule/*" {
				ruleWrites++
				if got := s.Condition["ArnEquals"]["ec2:Vpc"]; len(got) != 1 || got[0] != vpc {
					t.Errorf("%s: ec2:Vpc = %v, want %s", s.Sid, got, vpc)
				}
			}
		}
	}
	if ruleWrites != 1 || clusterConditions < 10 {
		t.Errorf("%d rule-write statements, %d statements on the cluster tag", ruleWrites, clusterConditions)
	}
	// Null "false" tests only that the cluster tag exists; Null "true" (the one-time
	// tagging of untagged listeners) limits a statement to resources without it.
	for _, s := range doc.Statement {
		for k, v := range s.Condition["Null"] {
			if len(v) != 1 || v[0] != "true" {
				t.Errorf("%s: Null %s = %v: the policy tests only that the cluster tag exists", s.Sid, k, v)
			}
		}
	}
}

func TestIAMPolicyCommandWarnsWithoutVPC(t *testing.T) {
	stdout, stderr, err := runIAMPolicy(t, "--cluster-name", iampolicy.DocClusterName)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, "--vpc-id") {
		t.Errorf("no warning recommending --vpc-id on stderr: %q", stderr)
	}
	// docs/iam-policy.json is this output (make iam-policy).
	committed, err := os.ReadFile("../../docs/iam-policy.json")
	if err != nil {
		t.Fatal(err)
	}
	if stdout != string(committed) {
		t.Errorf("docs/iam-policy.json differs from `lbsg iam-policy --cluster-name %s`: run make iam-policy", iampolicy.DocClusterName)
	}
}

func TestIAMPolicyCommandRefusesBadInput(t *testing.T) {
	for _, args := range [][]string{
		nil,
		{"--cluster-name="},
		{"--cluster-name=prod,eu"},
		{"--cluster-name=my cluster"},
		{"--cluster-name=c", "--partition=aws:cn"},
		{"--cluster-name=c", "--vpc-id=vpc-*"},
		{"--cluster-name=c", "extra"},
	} {
		stdout, _, err := runIAMPolicy(t, args...)
		if err == nil {
			t.Errorf("iam-policy %v succeeded", args)
		}
		if stdout != "" {
			t.Errorf("iam-policy %v printed a policy on error", args)
		}
	}
}
