package install

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/lbsg/lbsg/internal/iampolicy"
)

// IAM is the part of the IAM API Apply calls.
type IAM interface {
	GetPolicy(context.Context, *iam.GetPolicyInput, ...func(*iam.Options)) (*iam.GetPolicyOutput, error)
	GetPolicyVersion(context.Context, *iam.GetPolicyVersionInput, ...func(*iam.Options)) (*iam.GetPolicyVersionOutput, error)
	CreatePolicy(context.Context, *iam.CreatePolicyInput, ...func(*iam.Options)) (*iam.CreatePolicyOutput, error)
	CreatePolicyVersion(context.Context, *iam.CreatePolicyVersionInput, ...func(*iam.Options)) (*iam.CreatePolicyVersionOutput, error)
	ListPolicyVersions(context.Context, *iam.ListPolicyVersionsInput, ...func(*iam.Options)) (*iam.ListPolicyVersionsOutput, error)
	DeletePolicyVersion(context.Context, *iam.DeletePolicyVersionInput, ...func(*iam.Options)) (*iam.DeletePolicyVersionOutput, error)
	GetRole(context.Context, *iam.GetRoleInput, ...func(*iam.Options)) (*iam.GetRoleOutput, error)
	CreateRole(context.Context, *iam.CreateRoleInput, ...func(*iam.Options)) (*iam.CreateRoleOutput, error)
	GetOpenIDConnectProvider(context.Context, *iam.GetOpenIDConnectProviderInput, ...func(*iam.Options)) (*iam.GetOpenIDConnectProviderOutput, error)
	ListAttachedRolePolicies(context.Context, *iam.ListAttachedRolePoliciesInput, ...func(*iam.Options)) (*iam.ListAttachedRolePoliciesOutput, error)
	AttachRolePolicy(context.Context, *iam.AttachRolePolicyInput, ...func(*iam.Options)) (*iam.AttachRolePolicyOutput, error)
	DetachRolePolicy(context.Context, *iam.DetachRolePolicyInput, ...func(*iam.Options)) (*iam.DetachRolePolicyOutput, error)
}

// EKS is the part of the EKS API Apply calls: the cluster's OIDC issuer, for IRSA.
type EKS interface {
	DescribeCluster(context.Context, *eks.DescribeClusterInput, ...func(*eks.Options)) (*eks.DescribeClusterOutput, error)
}

var (
	_ IAM = (*iam.Client)(nil)
	_ EKS = (*eks.Client)(nil)
)

// maxPolicyVersions is how many versions IAM keeps of one managed policy.
const maxPolicyVersions = 5

// Apply makes the bundle's IAM part real, idempotently, and says on w what it did: each
// managed policy is created, or given a new default version when its document changed
// (deleting the oldest other version when the policy has IAM's 5); the role is created for
// IRSA when it does not exist (trusting the cluster's OIDC provider for the chart's
// ServiceAccount only); every policy is attached to it, and lbsg's policies of a larger
// earlier rendering (lbsg-<cluster>-N beyond the last) are detached. It never deletes a
// role or a policy, and never changes the trust policy of a role that exists.
func Apply(ctx context.Context, c IAM, e EKS, b *Bundle, w io.Writer) error {
	for _, p := range b.Policies {
		if err := applyPolicy(ctx, c, p, w); err != nil {
			return err
		}
	}
	if err := ensureRole(ctx, c, e, b, w); err != nil {
		return err
	}
	attached, err := attachedPolicies(ctx, c, b.Role.Name)
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, p := range b.Policies {
		want[p.ARN] = true
		if attached[p.ARN] {
			fmt.Fprintf(w, "policy %s is attached to role %s\n", p.Name, b.Role.Name)
			continue
		}
		if _, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(b.Role.Name), PolicyArn: aws.String(p.ARN)}); err != nil {
			return fmt.Errorf("attach policy %s to role %s: %w", p.Name, b.Role.Name, err)
		}
		fmt.Fprintf(w, "attached policy %s to role %s\n", p.Name, b.Role.Name)
	}
	prefix := fmt.Sprintf("arn:%s:iam::%s:policy/lbsg-%s-", b.Role.Partition, b.Role.Account, b.Options.ClusterName)
	for _, arn := range sortedKeys(attached) {
		n, err := strconv.Atoi(strings.TrimPrefix(arn, prefix))
		if !strings.HasPrefix(arn, prefix) || err != nil || want[arn] || n <= len(b.Policies) {
			continue
		}
		if _, err := c.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String(b.Role.Name), PolicyArn: aws.String(arn)}); err != nil {
			return fmt.Errorf("detach %s from role %s: %w", arn, b.Role.Name, err)
		}
		fmt.Fprintf(w, "detached %s from role %s: the policy now has %d documents (delete it with aws iam delete-policy --policy-arn %s)\n",
			arn, b.Role.Name, len(b.Policies), arn)
	}
	return nil
}

func applyPolicy(ctx context.Context, c IAM, p Policy, w io.Writer) error {
	doc, err := json.Marshal(p.Document)
	if err != nil {
		return err
	}
	got, err := c.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(p.ARN)})
	if isNoSuchEntity(err) {
		if _, err := c.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String(p.Name), PolicyDocument: aws.String(string(doc)),
			Description: aws.String("Permissions of lbsg (lbsg iam-policy), " + p.Name)}); err != nil {
			return fmt.Errorf("create policy %s: %w", p.Name, err)
		}
		fmt.Fprintf(w, "created policy %s\n", p.ARN)
		return nil
	}
	if err != nil {
		return fmt.Errorf("read policy %s: %w", p.ARN, err)
	}
	version, err := c.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String(p.ARN), VersionId: got.Policy.DefaultVersionId})
	if err != nil {
		return fmt.Errorf("read policy %s version %s: %w", p.ARN, aws.ToString(got.Policy.DefaultVersionId), err)
	}
	if sameDocument(aws.ToString(version.PolicyVersion.Document), p.Document) {
		fmt.Fprintf(w, "policy %s is up to date\n", p.ARN)
		return nil
	}
	versions, err := c.ListPolicyVersions(ctx, &iam.ListPolicyVersionsInput{PolicyArn: aws.String(p.ARN)})
	if err != nil {
		return fmt.Errorf("list versions of policy %s: %w", p.ARN, err)
	}
	if len(versions.Versions) >= maxPolicyVersions {
		oldest := oldestNonDefault(versions.Versions)
		if oldest == "" {
			return fmt.Errorf("policy %s has %d versions and none to delete", p.ARN, len(versions.Versions))
		}
		if _, err := c.DeletePolicyVersion(ctx, &iam.DeletePolicyVersionInput{PolicyArn: aws.String(p.ARN), VersionId: aws.String(oldest)}); err != nil {
			return fmt.Errorf("delete version %s of policy %s (IAM keeps %d): %w", oldest, p.ARN, maxPolicyVersions, err)
		}
		fmt.Fprintf(w, "deleted version %s of policy %s: IAM keeps %d versions\n", oldest, p.ARN, maxPolicyVersions)
	}
	out, err := c.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: aws.String(p.ARN), PolicyDocument: aws.String(string(doc)), SetAsDefault: true})
	if err != nil {
		return fmt.Errorf("update policy %s: %w", p.ARN, err)
	}
	fmt.Fprintf(w, "updated policy %s (default version %s)\n", p.ARN, aws.ToString(out.PolicyVersion.VersionId))
	return nil
}

// sameDocument compares a stored policy document (IAM returns it URL-encoded) with d.
func sameDocument(stored string, d iampolicy.Document) bool {
	if s, err := url.QueryUnescape(stored); err == nil {
		stored = s
	}
	var got iampolicy.Document
	if err := json.Unmarshal([]byte(stored), &got); err != nil {
		// Not in lbsg's shape (written by something else): not lbsg's document.
		return false
	}
	for i := range got.Statement {
		if len(got.Statement[i].Condition) == 0 {
			got.Statement[i].Condition = nil
		}
	}
	want := d
	want.Statement = append([]iampolicy.Statement(nil), d.Statement...)
	for i := range want.Statement {
		if len(want.Statement[i].Condition) == 0 {
			want.Statement[i].Condition = nil
		}
	}
	return reflect.DeepEqual(got, want)
}

func oldestNonDefault(vs []iamtypes.PolicyVersion) string {
	var candidates []iamtypes.PolicyVersion
	for _, v := range vs {
		if !v.IsDefaultVersion {
			candidates = append(candidates, v)
		}
	}
	sort.Slice(candidates, func(i, j int) bool {
		a, b := candidates[i].CreateDate, candidates[j].CreateDate
		if a != nil && b != nil && !a.Equal(*b) {
			return a.Before(*b)
		}
		return aws.ToString(candidates[i].VersionId) < aws.ToString(candidates[j].VersionId)
	})
	if len(candidates) == 0 {
		return ""
	}
	return aws.ToString(candidates[0].VersionId)
}

// ensureRole creates the role for IRSA when it does not exist: trusted by the cluster's
// OIDC provider for the chart's ServiceAccount, and nothing else.
func ensureRole(ctx context.Context, c IAM, e EKS, b *Bundle, w io.Writer) error {
	_, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(b.Role.Name)})
	if err == nil {
		fmt.Fprintf(w, "role %s exists; its trust policy is left as it is (it must let system:serviceaccount:%s:%s assume it)\n",
			b.Role.Name, b.Options.Namespace, b.ServiceAccount)
		return nil
	}
	if !isNoSuchEntity(err) {
		return fmt.Errorf("read role %s: %w", b.Role.Name, err)
	}
	cluster, err := e.DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String(b.Options.ClusterName)})
	if err != nil {
		return fmt.Errorf("describe EKS cluster %s, for its OIDC issuer: %w", b.Options.ClusterName, err)
	}
	var issuer string
	if id := cluster.Cluster.Identity; id != nil && id.Oidc != nil {
		issuer = strings.TrimPrefix(aws.ToString(id.Oidc.Issuer), "https://")
	}
	if issuer == "" {
		return fmt.Errorf("EKS cluster %s has no OIDC issuer: IRSA needs one", b.Options.ClusterName)
	}
	provider := fmt.Sprintf("arn:%s:iam::%s:oidc-provider/%s", b.Role.Partition, b.Role.Account, issuer)
	if _, err := c.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(provider)}); err != nil {
		if isNoSuchEntity(err) {
			return fmt.Errorf("the cluster's OIDC provider %s is not registered in IAM: run eksctl utils associate-iam-oidc-provider --cluster %s --region %s --approve once, then run this again",
				provider, b.Options.ClusterName, b.Options.Region)
		}
		return fmt.Errorf("read OIDC provider %s: %w", provider, err)
	}
	trust, err := json.Marshal(map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{map[string]any{
			"Effect":    "Allow",
			"Principal": map[string]string{"Federated": provider},
			"Action":    "sts:AssumeRoleWithWebIdentity",
			"Condition": map[string]any{"StringEquals": map[string]string{
				issuer + ":sub": fmt.Sprintf("system:serviceaccount:%s:%s", b.Options.Namespace, b.ServiceAccount),
				issuer + ":aud": "sts.amazonaws.com",
			}},
		}},
	})
	if err != nil {
		return err
	}
	if _, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(b.Role.Name), Path: aws.String(b.Role.Path),
		AssumeRolePolicyDocument: aws.String(string(trust)),
		Description:              aws.String(fmt.Sprintf("lbsg of cluster %s (IRSA, %s/%s)", b.Options.ClusterName, b.Options.Namespace, b.ServiceAccount))}); err != nil {
		return fmt.Errorf("create role %s: %w", b.Role.Name, err)
	}
	fmt.Fprintf(w, "created role %s, assumable by system:serviceaccount:%s:%s through %s\n", b.Role.ARN, b.Options.Namespace, b.ServiceAccount, provider)
	return nil
}

func attachedPolicies(ctx context.Context, c IAM, role string) (map[string]bool, error) {
	out := map[string]bool{}
	p := iam.NewListAttachedRolePoliciesPaginator(c, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(role)})
	for pages := 0; p.HasMorePages() && pages < 100; pages++ {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list the policies attached to role %s: %w", role, err)
		}
		for _, ap := range page.AttachedPolicies {
			out[aws.ToString(ap.PolicyArn)] = true
		}
	}
	return out, nil
}

func isNoSuchEntity(err error) bool {
	var nse *iamtypes.NoSuchEntityException
	return errors.As(err, &nse)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
