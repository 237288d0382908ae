package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	ekstypes "github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/spf13/pflag"

	"github.com/lbsg/lbsg/internal/config"
	"github.com/lbsg/lbsg/internal/iampolicy"
	"github.com/lbsg/lbsg/internal/localenv"
	"github.com/lbsg/lbsg/test/chart"
)

func runInstall(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRoot()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append([]string{"install"}, args...))
	err := root.Execute()
	return out.String() + errOut.String(), err
}

// commandLines are the printed lines that are commands (not comments or blank).
func commandLines(out string) []string {
	var cmds []string
	for _, l := range strings.Split(out, "\n") {
		for _, tool := range []string{"aws ", "eksctl ", "helm ", "kubectl ", "lbsg "} {
			if strings.HasPrefix(l, tool) {
				cmds = append(cmds, l)
			}
		}
	}
	return cmds
}

// TestInstallWritesWhatItPrints guards issue 16 §1.7 (about 9 commands and 5 tools to
// install): `lbsg install` writes the chart's values and the IAM policies and prints the
// commands that remain. Everything it prints is checked: the files exist; the policies are
// lbsg iam-policy's documents for the role's account, within AWS's size; the commands
// create exactly those policies and attach all of them; and the values file, rendered with
// the chart as helm would, runs lbsg for the cluster, region and VPC with the image and
// the role. --dry-run prints the same files and commands and writes nothing.
func TestInstallWritesWhatItPrints(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	args := []string{"--cluster-name=my-cluster", "--region=us-west-2", "--aws-vpc-id=vpc-0123456789abcdef0",
		"--role-arn=arn:aws:iam::111122223333:role/lbsg-my-cluster", "--image=registry.example.com/lbsg:v0.1.0", "--dir=" + dir}
	out, err := runInstall(t, args...)
	if err != nil {
		t.Fatalf("install: %v\n%s", err, out)
	}
	cmds := commandLines(out)
	want, err := iampolicy.Managed(iampolicy.Options{ClusterName: "my-cluster", Region: "us-west-2", AccountID: "111122223333",
		VPCID: "vpc-0123456789abcdef0"})
	if err != nil {
		t.Fatal(err)
	}
	var created []string
	for i, d := range want {
		file := filepath.Join(dir, "iam-policy-"+string(rune('1'+i))+".json")
		got, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("policy %d: %v", i+1, err)
		}
		if w, _ := iampolicy.Encode(d); !bytes.Equal(got, w) || iampolicy.Size(d) > iampolicy.ManagedPolicyMaxChars {
			t.Errorf("%s is not lbsg iam-policy's document %d", file, i+1)
		}
		name := "lbsg-my-cluster-" + string(rune('1'+i))
		created = append(created, name)
		if !slices.Contains(cmds, "aws iam create-policy --policy-name "+name+" --policy-document file://"+file) {
			t.Errorf("no command creates %s from %s:\n%s", name, file, out)
		}
	}
	var eksctl string
	for _, c := range cmds {
		if strings.HasPrefix(c, "eksctl create iamserviceaccount") {
			eksctl = c
		}
	}
	for _, name := range created {
		if !strings.Contains(eksctl, "--attach-policy-arn=arn:aws:iam::111122223333:policy/"+name) {
			t.Errorf("the role command does not attach %s: %s", name, eksctl)
		}
	}
	if !strings.Contains(eksctl, "--namespace=kube-system --name=lbsg --role-name=lbsg-my-cluster") {
		t.Errorf("the role is not for the chart's ServiceAccount: %s", eksctl)
	}
	valuesFile := filepath.Join(dir, "values.yaml")
	if !slices.Contains(cmds, "helm install lbsg charts/lbsg -n kube-system -f "+valuesFile) {
		t.Errorf("no helm install with %s:\n%s", valuesFile, out)
	}
	if len(cmds) > 2+len(want)+2 {
		t.Errorf("%d commands printed", len(cmds))
	}

	values, err := chart.ReadValues(valuesFile)
	if err != nil {
		t.Fatal(err)
	}
	rel, err := chart.Render("lbsg", "kube-system", values)
	if err != nil {
		t.Fatalf("the values file does not install the chart: %v", err)
	}
	c, err := rel.Container()
	if err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{}
	fs := pflag.NewFlagSet("lbsg", pflag.ContinueOnError)
	cfg.AddFlags(fs)
	if err := fs.Parse(c.Args); err != nil || cfg.Validate() != nil {
		t.Fatalf("lbsg refuses the rendered arguments %q: %v %v", c.Args, err, cfg.Validate())
	}
	if cfg.ClusterName != "my-cluster" || cfg.AWSRegion != "us-west-2" || cfg.AWSVPCID != "vpc-0123456789abcdef0" || c.Image != "registry.example.com/lbsg:v0.1.0" {
		t.Errorf("rendered %s with %+v", c.Image, c.Args)
	}
	sa := rel.Find("ServiceAccount", "lbsg")
	if sa == nil || sa.GetAnnotations()["eks.amazonaws.com/role-arn"] != "arn:aws:iam::111122223333:role/lbsg-my-cluster" {
		t.Errorf("the ServiceAccount lbsg does not carry the role: %v", sa)
	}

	dry := filepath.Join(t.TempDir(), "dry")
	out2, err := runInstall(t, append(args[:len(args)-1], "--dir="+dry, "--dry-run")...)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dry); !os.IsNotExist(err) {
		t.Errorf("--dry-run wrote %s", dry)
	}
	if !strings.Contains(out2, "clusterName: my-cluster") || !strings.Contains(out2, `"Sid": "DescribeEC2"`) ||
		len(commandLines(out2)) != len(cmds) {
		t.Errorf("--dry-run does not print the files and the commands:\n%s", out2)
	}
}

// TestInstallApplyCreatesPoliciesAndRoleInIAM runs `lbsg install --apply` against the AWS
// emulator's IAM and EKS: the policies are created with lbsg iam-policy's documents, the
// role is created for IRSA (trusted by the cluster's OIDC provider for kube-system/lbsg
// only) with all of them attached. Applying again changes nothing; a changed policy gets a
// new default version, the oldest going when IAM's 5 are there; a policy of a larger
// earlier rendering is detached; a missing OIDC provider is named with its fix.
func TestInstallApplyCreatesPoliciesAndRoleInIAM(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	moto, err := localenv.StartMoto(ctx)
	if err != nil {
		t.Fatalf("the AWS emulator is required: %v", err)
	}
	t.Cleanup(func() { _ = moto.Close() })
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_EC2_METADATA_DISABLED": "true"} {
		t.Setenv(k, v)
	}
	awsCfg, _ := moto.AWSConfig(ctx)
	iamc, eksc := iam.NewFromConfig(awsCfg), eks.NewFromConfig(awsCfg)
	const account = "123456789012" // the emulator's
	cl, err := eksc.CreateCluster(ctx, &eks.CreateClusterInput{Name: aws.String("my-cluster"), RoleArn: aws.String("arn:aws:iam::" + account + ":role/eks"),
		ResourcesVpcConfig: &ekstypes.VpcConfigRequest{SubnetIds: []string{"subnet-0123abcd"}}})
	if err != nil {
		t.Fatal(err)
	}
	issuer := aws.ToString(cl.Cluster.Identity.Oidc.Issuer)

	dir := t.TempDir()
	args := []string{"--cluster-name=my-cluster", "--region=" + localenv.Region, "--vpc-id=vpc-0123456789abcdef0",
		"--role-arn=arn:aws:iam::" + account + ":role/lbsg-my-cluster", "--dir=" + dir, "--apply",
		"--aws-api-endpoints=IAM=" + moto.Endpoint + ",EKS=" + moto.Endpoint}

	out, err := runInstall(t, args...)
	if err == nil || !strings.Contains(err.Error(), "eksctl utils associate-iam-oidc-provider") {
		t.Fatalf("without the cluster's OIDC provider: %v, want the fix named\n%s", err, out)
	}
	if _, err := iamc.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String(issuer),
		ClientIDList: []string{"sts.amazonaws.com"}, ThumbprintList: []string{strings.Repeat("a", 40)}}); err != nil {
		t.Fatal(err)
	}
	if out, err = runInstall(t, args...); err != nil {
		t.Fatalf("install --apply: %v\n%s", err, out)
	}
	want, _ := iampolicy.Managed(iampolicy.Options{ClusterName: "my-cluster", Region: localenv.Region, AccountID: account, VPCID: "vpc-0123456789abcdef0"})
	policyARN := func(i int) string {
		return "arn:aws:iam::" + account + ":policy/lbsg-my-cluster-" + string(rune('1'+i))
	}
	document := func(arn string) (iampolicy.Document, string) {
		p, err := iamc.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(arn)})
		if err != nil {
			t.Fatalf("policy %s: %v", arn, err)
		}
		v, err := iamc.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: p.Policy.DefaultVersionId})
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := url.QueryUnescape(aws.ToString(v.PolicyVersion.Document))
		var d iampolicy.Document
		if err := json.Unmarshal([]byte(raw), &d); err != nil {
			t.Fatal(err)
		}
		return d, aws.ToString(p.Policy.DefaultVersionId)
	}
	for i, d := range want {
		got, _ := document(policyARN(i))
		if a, b := mustJSON(t, got), mustJSON(t, d); a != b {
			t.Errorf("policy %d in IAM differs from lbsg iam-policy's", i+1)
		}
	}
	role, err := iamc.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("lbsg-my-cluster")})
	if err != nil {
		t.Fatalf("the role: %v", err)
	}
	trust, _ := url.QueryUnescape(aws.ToString(role.Role.AssumeRolePolicyDocument))
	host := strings.TrimPrefix(issuer, "https://")
	for _, w := range []string{`"Federated":"arn:aws:iam::` + account + `:oidc-provider/` + host + `"`, `"sts:AssumeRoleWithWebIdentity"`,
		`"` + host + `:sub":"system:serviceaccount:kube-system:lbsg"`, `"` + host + `:aud":"sts.amazonaws.com"`} {
		if !strings.Contains(strings.ReplaceAll(trust, " ", ""), w) {
			t.Errorf("trust policy lacks %s: %s", w, trust)
		}
	}
	attached := func() []string {
		out, err := iamc.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String("lbsg-my-cluster")})
		if err != nil {
			t.Fatal(err)
		}
		var arns []string
		for _, p := range out.AttachedPolicies {
			arns = append(arns, aws.ToString(p.PolicyArn))
		}
		slices.Sort(arns)
		return arns
	}
	var wantAttached []string
	for i := range want {
		wantAttached = append(wantAttached, policyARN(i))
	}
	if got := attached(); !slices.Equal(got, wantAttached) {
		t.Errorf("attached %v, want %v", got, wantAttached)
	}

	// Again: nothing changes.
	if out, err = runInstall(t, args...); err != nil || strings.Contains(out, "created") || strings.Contains(out, "updated") {
		t.Errorf("a second --apply changed something (%v):\n%s", err, out)
	}

	// A policy of a larger earlier rendering is detached; a changed document is a new
	// default version, the oldest going once IAM's 5 are there.
	stale, err := iamc.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("lbsg-my-cluster-9"), PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:DescribeVpcs","Resource":"*"}]}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := iamc.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("lbsg-my-cluster"), PolicyArn: stale.Policy.Arn}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		if _, err := iamc.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: aws.String(policyARN(0)),
			PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:DescribeVpcs","Resource":"*"}]}`), SetAsDefault: true}); err != nil {
			t.Fatal(err)
		}
	}
	if out, err = runInstall(t, args...); err != nil {
		t.Fatalf("install --apply: %v\n%s", err, out)
	}
	if got, _ := document(policyARN(0)); mustJSON(t, got) != mustJSON(t, want[0]) || !strings.Contains(out, "deleted version v1") {
		t.Errorf("policy 1 not restored with its oldest version deleted:\n%s", out)
	}
	if got := attached(); !slices.Equal(got, wantAttached) {
		t.Errorf("attached %v, want %v (lbsg-my-cluster-9 detached)", got, wantAttached)
	}
}

func mustJSON(t *testing.T, d iampolicy.Document) string {
	t.Helper()
	for i := range d.Statement {
		if len(d.Statement[i].Condition) == 0 {
			d.Statement[i].Condition = nil
		}
	}
	raw, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}
