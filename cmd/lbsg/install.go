package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/spf13/cobra"

	"github.com/lbsg/lbsg/internal/iampolicy"
	"github.com/lbsg/lbsg/internal/install"
)

func newInstallCmd() *cobra.Command {
	var o install.Options
	var dryRun, apply bool
	var endpoints string
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Write everything a cluster needs for lbsg (chart values, IAM policies) and print the commands that remain",
		Long: `install renders, from the cluster's name, region and VPC, the IAM role lbsg is to run as and
the image you pushed, everything lbsg needs on that cluster, into --dir (lbsg-<cluster>):

  values.yaml          the values of lbsg's chart (charts/lbsg)
  iam-policy-N.json    the IAM managed policies (lbsg iam-policy), to attach to the role

and prints the commands that remain. --dry-run prints the files instead of writing them.
--apply also makes the IAM part real with the AWS SDK and the caller's AWS credentials, so
that neither the aws CLI nor eksctl is needed: it creates each policy lbsg-<cluster>-N, or
gives it a new default version when its document changed; creates the role for IRSA when
it does not exist (trusted by the cluster's OIDC provider for lbsg's ServiceAccount only);
attaches the policies to it. It never deletes a role or a policy. The chart is then
installed with helm, as printed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dryRun && apply {
				return fmt.Errorf("--dry-run and --apply exclude each other")
			}
			b, err := install.Render(o)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if dryRun {
				return printBundle(out, b)
			}
			if err := writeBundle(b); err != nil {
				return err
			}
			fmt.Fprintf(out, "wrote %s and %s\n", b.ValuesFile, policyFiles(b))
			step := 1
			if apply {
				fmt.Fprintf(out, "\n# %d. IAM (applied):\n", step)
				iamClient, eksClient, err := installClients(cmd.Context(), o.Region, endpoints)
				if err != nil {
					return err
				}
				if err := install.Apply(cmd.Context(), iamClient, eksClient, b, out); err != nil {
					return err
				}
			} else {
				fmt.Fprintf(out, "\n# %d. IAM: the policies, and the role with them attached (or run this again with --apply):\n", step)
				printCommands(out, b.IAMCommands())
			}
			step++
			fmt.Fprintf(out, "\n# %d. The chart, and a check that lbsg runs and has what it needs:\n", step)
			printCommands(out, b.ChartCommands())
			return nil
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.ClusterName, "cluster-name", "", "the cluster's EKS name (required)")
	fs.StringVar(&o.Region, "region", "", "the cluster's AWS region (required)")
	fs.StringVar(&o.VPCID, "vpc-id", "", "the cluster's VPC (required)")
	fs.StringVar(&o.RoleARN, "role-arn", "", "the IAM role lbsg runs as, arn:aws:iam::ACCOUNT:role/NAME; --apply creates it when it does not exist (required)")
	fs.StringVar(&o.Image, "image", "", "where you pushed lbsg's image, REPOSITORY:TAG; empty keeps the chart's default")
	fs.StringVar(&o.Namespace, "namespace", install.DefaultNamespace, "namespace of lbsg's chart")
	fs.StringVar(&o.Release, "release", install.DefaultRelease, "Helm release name of lbsg's chart")
	fs.StringVar(&o.Dir, "dir", "", "directory of the files (default lbsg-<cluster-name>)")
	fs.BoolVar(&dryRun, "dry-run", false, "print the files and commands; write and change nothing")
	fs.BoolVar(&apply, "apply", false, "also create or update the IAM policies and the role with the AWS SDK")
	fs.StringVar(&endpoints, "aws-api-endpoints", "", "custom endpoints for --apply, serviceID=URL,…: IAM=…,EKS=…")
	// Accept the controller's spellings too.
	fs.SetNormalizeFunc(normalizeAWSFlags)
	for _, f := range []string{"cluster-name", "region", "vpc-id", "role-arn"} {
		_ = cmd.MarkFlagRequired(f)
	}
	return cmd
}

func policyFiles(b *install.Bundle) string {
	var files []string
	for _, p := range b.Policies {
		files = append(files, p.File)
	}
	return strings.Join(files, ", ")
}

func printCommands(w io.Writer, cmds []string) {
	for _, c := range cmds {
		fmt.Fprintln(w, c)
	}
}

// printBundle is --dry-run: each file, then every command.
func printBundle(w io.Writer, b *install.Bundle) error {
	fmt.Fprintf(w, "# --- %s\n%s", b.ValuesFile, b.Values)
	for _, p := range b.Policies {
		raw, err := iampolicy.Encode(p.Document)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "# --- %s (%d of %d characters)\n%s", p.File, iampolicy.Size(p.Document), iampolicy.ManagedPolicyMaxChars, raw)
	}
	fmt.Fprintln(w, "\n# 1. IAM: the policies, and the role with them attached (or run lbsg install with --apply):")
	printCommands(w, b.IAMCommands())
	fmt.Fprintln(w, "\n# 2. The chart, and a check that lbsg runs and has what it needs:")
	printCommands(w, b.ChartCommands())
	return nil
}

// writeBundle writes the values file and the policies into the bundle's directory,
// removing policy files a larger earlier rendering left there.
func writeBundle(b *install.Bundle) error {
	dir := filepath.Dir(b.ValuesFile)
	docs := make([]iampolicy.Document, 0, len(b.Policies))
	for _, p := range b.Policies {
		docs = append(docs, p.Document)
	}
	if _, err := writeIAM(dir, formatManaged, docs); err != nil {
		return err
	}
	if err := os.WriteFile(b.ValuesFile, b.Values, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", b.ValuesFile, err)
	}
	return nil
}

// installClients are IAM and EKS clients with the caller's credentials (the AWS SDK's
// default chain), IAM's global endpoint and the cluster's region for EKS.
func installClients(ctx context.Context, region, endpoints string) (*iam.Client, *eks.Client, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(region))
	if err != nil {
		return nil, nil, fmt.Errorf("load AWS credentials: %w", err)
	}
	urls := map[string]string{}
	for _, kv := range strings.Split(endpoints, ",") {
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok || (!strings.EqualFold(k, "IAM") && !strings.EqualFold(k, "EKS")) {
			return nil, nil, fmt.Errorf("invalid --aws-api-endpoints entry %q: want IAM=URL or EKS=URL", kv)
		}
		urls[strings.ToUpper(k)] = v
	}
	iamClient := iam.NewFromConfig(cfg, func(o *iam.Options) {
		if u := urls["IAM"]; u != "" {
			o.BaseEndpoint = aws.String(u)
		}
	})
	eksClient := eks.NewFromConfig(cfg, func(o *eks.Options) {
		if u := urls["EKS"]; u != "" {
			o.BaseEndpoint = aws.String(u)
		}
	})
	return iamClient, eksClient, nil
}
