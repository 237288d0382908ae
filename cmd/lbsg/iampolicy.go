package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/lbsg/lbsg/internal/iampolicy"
)

// Output formats of `lbsg iam-policy`.
const (
	formatManaged = "managed"
	formatInline  = "inline"
)

func newIAMPolicyCmd() *cobra.Command {
	var o iampolicy.Options
	var format, dir string
	cmd := &cobra.Command{
		Use:   "iam-policy",
		Short: "Print the IAM policy of the controller for one cluster",
		Long: `iam-policy prints the IAM policy the controller needs for the cluster of --cluster-name:
every write is allowed only on resources tagged elbv2.k8s.aws/cluster=<cluster-name> or
created with that tag, and rule writes only on security groups of the VPC of --vpc-id.
See docs/iam.md for what each statement allows and why. It reads nothing.

The policy is larger than one managed policy may be (6,144 characters without white
space), so --format managed (the default) gives as many documents as that takes, to be
attached to the role together: with --output-dir, files iam-policy-1.json, … (their names
are printed); without it, the document on stdout when there is only one. --format inline
gives one document for aws iam put-role-policy, when it fits the 10,240 characters all
inline policies of a role share.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			docs, err := renderIAM(o, format)
			if err != nil {
				return err
			}
			for _, w := range o.Warnings() {
				fmt.Fprintln(cmd.ErrOrStderr(), "warning:", w)
			}
			if dir != "" {
				files, err := writeIAM(dir, format, docs)
				if err != nil {
					return err
				}
				_, err = fmt.Fprintln(cmd.OutOrStdout(), strings.Join(files, "\n"))
				return err
			}
			if len(docs) > 1 {
				return fmt.Errorf("the policy for cluster %q takes %d managed policies (at most %d characters each): pass --output-dir DIR to write them as files, and attach all of them to the role",
					o.ClusterName, len(docs), iampolicy.ManagedPolicyMaxChars)
			}
			return writeDoc(cmd.OutOrStdout(), docs[0])
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.ClusterName, "cluster-name", "", "Kubernetes cluster name, as given to the controller (required)")
	fs.StringVar(&o.Partition, "partition", "aws", "ARN partition: aws, aws-cn, aws-us-gov, …")
	fs.StringVar(&o.Region, "region", "", "AWS region of the cluster; any region when empty")
	fs.StringVar(&o.AccountID, "account-id", "", "AWS account ID of the cluster; any account when empty")
	fs.StringVar(&o.VPCID, "vpc-id", "", "VPC of the cluster: rule writes are limited to its security groups (recommended)")
	fs.StringSliceVar(&o.LoadBalancerNamePatterns, "load-balancer-name-pattern", nil,
		"names of load balancers whose untagged listeners and rules (upstream's) may be tagged for the cluster once (wildcards * and ?), besides "+
			iampolicy.DefaultLoadBalancerNamePattern+": the names set with load-balancer-name annotations")
	fs.StringVar(&format, "format", formatManaged, "managed: managed policies of at most 6,144 characters each, as many as needed; inline: one inline policy (at most 10,240 characters)")
	fs.StringVar(&dir, "output-dir", "", "write the documents as files in this directory (iam-policy-N.json, or iam-policy.json for --format inline) and print their paths")
	// Accept the controller's spelling too, so that its arguments can be reused.
	fs.SetNormalizeFunc(normalizeAWSFlags)
	return cmd
}

// normalizeAWSFlags accepts the controller's --aws-vpc-id, --aws-region and
// --aws-account-id for --vpc-id, --region and --account-id.
func normalizeAWSFlags(_ *pflag.FlagSet, name string) pflag.NormalizedName {
	switch strings.TrimPrefix(name, "aws-") {
	case "vpc-id", "region", "account-id":
		name = strings.TrimPrefix(name, "aws-")
	}
	return pflag.NormalizedName(name)
}

// renderIAM renders the policy in the given format: several managed documents, or one
// inline document.
func renderIAM(o iampolicy.Options, format string) ([]iampolicy.Document, error) {
	switch format {
	case formatManaged:
		return iampolicy.Managed(o)
	case formatInline:
		d, err := iampolicy.Inline(o)
		if err != nil {
			return nil, err
		}
		return []iampolicy.Document{d}, nil
	}
	return nil, fmt.Errorf("invalid --format %q: want %s or %s", format, formatManaged, formatInline)
}

// iamFileNames names the files of the documents: iam-policy-1.json, … for managed
// policies, iam-policy.json for the inline one.
func iamFileNames(format string, n int) []string {
	if format == formatInline {
		return []string{"iam-policy.json"}
	}
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("iam-policy-%d.json", i+1)
	}
	return names
}

// writeIAM writes the documents into dir, removing managed-policy files a larger policy
// left there before, and returns their paths.
func writeIAM(dir, format string, docs []iampolicy.Document) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	stale, err := filepath.Glob(filepath.Join(dir, "iam-policy-*.json"))
	if err != nil {
		return nil, err
	}
	for _, f := range stale {
		if err := os.Remove(f); err != nil {
			return nil, fmt.Errorf("remove %s: %w", f, err)
		}
	}
	var paths []string
	for i, name := range iamFileNames(format, len(docs)) {
		raw, err := iampolicy.Encode(docs[i])
		if err != nil {
			return nil, err
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, raw, 0o644); err != nil {
			return nil, fmt.Errorf("write %s: %w", p, err)
		}
		paths = append(paths, p)
	}
	return paths, nil
}

func writeDoc(w io.Writer, d iampolicy.Document) error {
	raw, err := iampolicy.Encode(d)
	if err != nil {
		return err
	}
	_, err = w.Write(raw)
	return err
}
