package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/lbsg/lbsg/internal/iampolicy"
)

func newIAMPolicyCmd() *cobra.Command {
	var o iampolicy.Options
	cmd := &cobra.Command{
		Use:   "iam-policy",
		Short: "Print the IAM policy of the controller for one cluster",
		Long: `iam-policy prints the IAM policy the controller needs for the cluster of --cluster-name:
every write is allowed only on resources tagged elbv2.k8s.aws/cluster=<cluster-name> or
created with that tag, and rule writes only on security groups of the VPC of --vpc-id.
See docs/iam.md for what each statement allows and why. It reads nothing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out, err := iampolicy.JSON(o)
			if err != nil {
				return err
			}
			for _, w := range o.Warnings() {
				fmt.Fprintln(cmd.ErrOrStderr(), "warning:", w)
			}
			_, err = cmd.OutOrStdout().Write(out)
			return err
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
	// Accept the controller's spelling too, so that its arguments can be reused.
	fs.SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		switch strings.TrimPrefix(name, "aws-") {
		case "vpc-id", "region", "account-id":
			name = strings.TrimPrefix(name, "aws-")
		}
		return pflag.NormalizedName(name)
	})
	return cmd
}
