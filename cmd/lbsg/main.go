// Command lbsg provisions AWS load balancers for Kubernetes Services and manages every
// security group around them. See the README for the subcommands.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	if err := newRoot().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "lbsg",
		Short:         "AWS load balancers and their security groups for Kubernetes",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newControllerCmd(), newPlanCmd(), newDemoCmd(), newIAMPolicyCmd(), newVersionCmd())
	return root
}
