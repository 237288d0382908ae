// Package install turns what a platform engineer knows of a cluster (its name, region,
// VPC, the IAM role lbsg is to run as, and where lbsg's image is) into everything lbsg
// needs there: the values file of lbsg's chart, the IAM managed policies, and the commands
// that remain. Render is pure; Apply (apply.go) makes the IAM part real with the AWS SDK.
package install

import (
	"fmt"
	"regexp"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/lbsg/lbsg/internal/iampolicy"
	"github.com/lbsg/lbsg/internal/naming"
)

// Defaults of where the chart installs lbsg: the README's release in kube-system, whose
// ServiceAccount the chart names after the release.
const (
	DefaultNamespace = "kube-system"
	DefaultRelease   = "lbsg"
)

// Options are the values a user has.
type Options struct {
	ClusterName, Region, VPCID string
	// RoleARN is the IAM role lbsg runs as (IRSA), existing or to be created:
	// arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME.
	RoleARN string
	// Image is where lbsg's image was pushed, REPOSITORY:TAG; empty keeps the chart's
	// default.
	Image string
	// Namespace and Release of lbsg's chart; empty: DefaultNamespace, DefaultRelease.
	Namespace, Release string
	// Dir is the directory the files are written to, as the printed commands name it.
	Dir string
}

// Role is an IAM role ARN, parsed.
type Role struct {
	ARN, Partition, Account, Path, Name string
}

var (
	roleARNPattern = regexp.MustCompile(`^arn:(aws(?:-[a-z]+)*):iam::([0-9]{12}):role(/(?:[\x21-\x7e]+/)?)?([\w+=,.@-]{1,64})$`)
	regionPattern  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	vpcPattern     = regexp.MustCompile(`^vpc-([0-9a-f]{8}|[0-9a-f]{17})$`)
	imagePattern   = regexp.MustCompile(`^[a-z0-9][a-z0-9._/:-]*:[\w][\w.-]{0,127}$`)
	k8sNamePattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
)

// ParseRole reads a role ARN; IAM role names are at most 64 characters.
func ParseRole(arn string) (Role, error) {
	m := roleARNPattern.FindStringSubmatch(arn)
	if m == nil {
		return Role{}, fmt.Errorf("invalid --role-arn %q: want arn:aws:iam::ACCOUNT:role/NAME, the role lbsg runs as (a role name has at most 64 letters, digits and +=,.@_-)", arn)
	}
	path := m[3]
	if path == "" {
		path = "/"
	}
	return Role{ARN: arn, Partition: m[1], Account: m[2], Path: path, Name: m[4]}, nil
}

func (o Options) withDefaults() Options {
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if o.Release == "" {
		o.Release = DefaultRelease
	}
	if o.Dir == "" {
		o.Dir = "lbsg-" + o.ClusterName
	}
	return o
}

// Validate checks every option, naming the flag and what it wants.
func (o Options) Validate() error {
	if err := naming.ValidateClusterName(o.ClusterName); err != nil {
		return err
	}
	if !regionPattern.MatchString(o.Region) {
		return fmt.Errorf("invalid --region %q: want the cluster's region, such as us-west-2", o.Region)
	}
	if !vpcPattern.MatchString(o.VPCID) {
		return fmt.Errorf("invalid --vpc-id %q: want the cluster's VPC, such as vpc-0123456789abcdef0", o.VPCID)
	}
	if _, err := ParseRole(o.RoleARN); err != nil {
		return err
	}
	if o.Image != "" && !imagePattern.MatchString(o.Image) {
		return fmt.Errorf("invalid --image %q: want REPOSITORY:TAG where you pushed lbsg's image (make image), such as registry.example.com/lbsg:v0.1.0", o.Image)
	}
	for flag, v := range map[string]string{"--namespace": o.Namespace, "--release": o.Release} {
		if v != "" && !k8sNamePattern.MatchString(v) {
			return fmt.Errorf("invalid %s %q: want a Kubernetes name", flag, v)
		}
	}
	return nil
}

// Policy is one IAM managed policy of the bundle.
type Policy struct {
	// Name is lbsg-<cluster>-<n> (IAM allows 128 characters; a cluster name has at most 100).
	Name string
	// ARN is the policy's ARN in the role's account.
	ARN string
	// File is where the document is written, under Options.Dir.
	File     string
	Document iampolicy.Document
}

// Bundle is everything Render gives: the files and the commands.
type Bundle struct {
	Options Options
	Role    Role
	// ServiceAccount is the chart's ServiceAccount (and Deployment) lbsg runs as: the
	// release's full name.
	ServiceAccount string
	ValuesFile     string
	Values         []byte
	Policies       []Policy
}

// Render computes the bundle for o.
func Render(o Options) (*Bundle, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o = o.withDefaults()
	role, _ := ParseRole(o.RoleARN)
	docs, err := iampolicy.Managed(iampolicy.Options{ClusterName: o.ClusterName, Partition: role.Partition, Region: o.Region,
		AccountID: role.Account, VPCID: o.VPCID})
	if err != nil {
		return nil, err
	}
	b := &Bundle{Options: o, Role: role, ServiceAccount: fullname(o.Release), ValuesFile: o.Dir + "/values.yaml"}
	for i, d := range docs {
		name := fmt.Sprintf("lbsg-%s-%d", o.ClusterName, i+1)
		b.Policies = append(b.Policies, Policy{Name: name, Document: d,
			ARN:  fmt.Sprintf("arn:%s:iam::%s:policy/%s", role.Partition, role.Account, name),
			File: fmt.Sprintf("%s/iam-policy-%d.json", o.Dir, i+1)})
	}
	if b.Values, err = values(o); err != nil {
		return nil, err
	}
	return b, nil
}

// values is the chart's values file: the cluster, region and VPC as flags, the image, and
// the role on the ServiceAccount for IRSA. Everything else keeps the chart's defaults.
func values(o Options) ([]byte, error) {
	v := map[string]any{
		"clusterName": o.ClusterName,
		"region":      o.Region,
		"vpcId":       o.VPCID,
		"serviceAccount": map[string]any{
			"annotations": map[string]any{"eks.amazonaws.com/role-arn": o.RoleARN},
		},
	}
	if o.Image != "" {
		repo, tag := splitImage(o.Image)
		v["image"] = map[string]any{"repository": repo, "tag": tag}
	}
	raw, err := yaml.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode the values: %w", err)
	}
	head := fmt.Sprintf("# Values of lbsg's chart (charts/lbsg) for cluster %s, written by lbsg install.\n"+
		"# Every other key keeps the chart's default: docs/helm.md.\n", o.ClusterName)
	return append([]byte(head), raw...), nil
}

// splitImage splits REPOSITORY:TAG at the last colon (a registry's port comes before a '/').
func splitImage(image string) (repo, tag string) {
	i := strings.LastIndex(image, ":")
	return image[:i], image[i+1:]
}

// fullname is the chart's name for the release's objects (lbsg.fullname): the release
// name when it contains "lbsg", else <release>-lbsg.
func fullname(release string) string {
	name := release
	if !strings.Contains(release, "lbsg") {
		name = release + "-lbsg"
	}
	if len(name) > 63 {
		name = strings.TrimRight(name[:63], "-")
	}
	return name
}

// IAMCommands are the commands that make the IAM part real without lbsg install --apply:
// the AWS CLI for the policies, eksctl for the IRSA role with them attached.
func (b *Bundle) IAMCommands() []string {
	var out []string
	for _, p := range b.Policies {
		out = append(out, fmt.Sprintf("aws iam create-policy --policy-name %s --policy-document file://%s", p.Name, p.File))
	}
	attach := make([]string, 0, len(b.Policies))
	for _, p := range b.Policies {
		attach = append(attach, "--attach-policy-arn="+p.ARN)
	}
	out = append(out, fmt.Sprintf("eksctl create iamserviceaccount --cluster=%s --region=%s --namespace=%s --name=%s --role-name=%s --role-only --approve %s",
		b.Options.ClusterName, b.Options.Region, b.Options.Namespace, b.ServiceAccount, b.Role.Name, strings.Join(attach, " ")))
	return out
}

// ChartCommands install lbsg's chart with the values file and check the result.
func (b *Bundle) ChartCommands() []string {
	o := b.Options
	return []string{
		fmt.Sprintf("helm install %s charts/lbsg -n %s -f %s", o.Release, o.Namespace, b.ValuesFile),
		fmt.Sprintf("kubectl -n %s rollout status deployment/%s", o.Namespace, b.ServiceAccount),
		fmt.Sprintf("lbsg preflight --cluster-name=%s --aws-region=%s --aws-vpc-id=%s --rbac-as=system:serviceaccount:%s:%s --lbsg-release=%s/%s",
			o.ClusterName, o.Region, o.VPCID, o.Namespace, b.ServiceAccount, o.Namespace, o.Release),
	}
}
