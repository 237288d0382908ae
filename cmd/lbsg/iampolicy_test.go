package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
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
	dir := t.TempDir()
	stdout, stderr, err := runIAMPolicy(t, "--cluster-name=prod", "--partition=aws-us-gov",
		"--aws-region=us-gov-west-1", "--account-id=123456789012", "--aws-vpc-id=vpc-0123456789abcdef0", "--output-dir="+dir)
	if err != nil {
		t.Fatalf("iam-policy: %v (stderr %q)", err, stderr)
	}
	if stderr != "" {
		t.Errorf("warnings with every option set: %q", stderr)
	}
	docs := readPolicyFiles(t, strings.Fields(stdout))
	if len(docs) < 2 {
		t.Fatalf("%d documents: the policy no longer needs splitting, so this test checks less than it says", len(docs))
	}
	doc := iampolicy.Merge(docs)
	if len(doc.Statement) == 0 {
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

// readPolicyFiles reads the policy documents iam-policy wrote, each within AWS's managed
// policy size.
func readPolicyFiles(t *testing.T, paths []string) []iampolicy.Document {
	t.Helper()
	var docs []iampolicy.Document
	for i, p := range paths {
		if want := fmt.Sprintf("iam-policy-%d.json", i+1); filepath.Base(p) != want {
			t.Errorf("file %s, want %s", p, want)
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var d iampolicy.Document
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatalf("%s is not a policy document: %v", p, err)
		}
		if d.Version != "2012-10-17" || len(d.Statement) == 0 || iampolicy.Size(d) > iampolicy.ManagedPolicyMaxChars {
			t.Errorf("%s: version %q, %d statements, %d characters", p, d.Version, len(d.Statement), iampolicy.Size(d))
		}
		docs = append(docs, d)
	}
	return docs
}

func TestIAMPolicyCommandWarnsWithoutVPC(t *testing.T) {
	dir := t.TempDir()
	// A file of a larger policy rendered before is removed.
	if err := os.WriteFile(filepath.Join(dir, "iam-policy-9.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, err := runIAMPolicy(t, "--cluster-name", iampolicy.DocClusterName, "--output-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, "--vpc-id") {
		t.Errorf("no warning recommending --vpc-id on stderr: %q", stderr)
	}
	// docs/iam-policy-N.json are this output (make iam-policy).
	paths := strings.Fields(stdout)
	written, _ := filepath.Glob(filepath.Join(dir, "*"))
	if len(written) != len(paths) {
		t.Errorf("the directory holds %v, iam-policy printed %v", written, paths)
	}
	for _, p := range paths {
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		committed, err := os.ReadFile(filepath.Join("../../docs", filepath.Base(p)))
		if err != nil || !bytes.Equal(got, committed) {
			t.Errorf("docs/%s differs from `lbsg iam-policy --cluster-name %s` (%v): run make iam-policy", filepath.Base(p), iampolicy.DocClusterName, err)
		}
	}
}

// TestIAMPolicyCommandStdoutAndInline: on stdout only one document can be read as a
// policy; a policy of several asks for --output-dir, and --format inline prints one
// document where it fits the inline limit, and refuses where it does not.
func TestIAMPolicyCommandStdoutAndInline(t *testing.T) {
	stdout, _, err := runIAMPolicy(t, "--cluster-name=my-cluster", "--vpc-id=vpc-0123456789abcdef0")
	if err == nil || !strings.Contains(err.Error(), "--output-dir") || stdout != "" {
		t.Errorf("several documents on stdout: err %v, stdout %d bytes; want a request for --output-dir", err, len(stdout))
	}
	stdout, _, err = runIAMPolicy(t, "--cluster-name=my-cluster", "--vpc-id=vpc-0123456789abcdef0", "--format=inline")
	if err != nil {
		t.Fatal(err)
	}
	var d iampolicy.Document
	if err := json.Unmarshal([]byte(stdout), &d); err != nil || iampolicy.Size(d) > iampolicy.InlinePolicyMaxChars {
		t.Errorf("inline: %v, %d characters", err, iampolicy.Size(d))
	}
	_, _, err = runIAMPolicy(t, "--cluster-name="+strings.Repeat("c", 100), "--vpc-id=vpc-0123456789abcdef0", "--format=inline")
	if err == nil || !strings.Contains(err.Error(), "managed") {
		t.Errorf("inline for a 100-character name: %v, want a refusal pointing to managed policies", err)
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
		{"--cluster-name=c", "--format=xml"},
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
