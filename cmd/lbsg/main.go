// Command lbsg provisions AWS load balancers for Kubernetes Services and manages every
// security group around them. See the README for the subcommands.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	if err := newRoot().Execute(); err != nil {
		var code exitCode
		if errors.As(err, &code) {
			os.Exit(int(code))
		}
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

// exitCode is returned by a command whose outcome is an exit status, not a failure to
// report (`lbsg plan --detailed-exitcode` exits 2 when something would change).
type exitCode int

func (c exitCode) Error() string { return fmt.Sprintf("exit status %d", int(c)) }

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "lbsg",
		Short:         "AWS load balancers and their security groups for Kubernetes",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newControllerCmd(), newPlanCmd(), newDemoCmd(), newIAMPolicyCmd(), newPreflightCmd(), newVersionCmd())
	return root
}
