// Command lbsg provisions AWS load balancers for Kubernetes Services and manages every
// security group around them. See the README for the subcommands.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	// The image has no /etc/ssl: without these roots, TLS to AWS would fail there.
	_ "golang.org/x/crypto/x509roots/fallback"
)

// optionalCommands are added by files built only with a build tag (the demo, with
// -tags demo), so the controller's binary does not carry what they import.
var optionalCommands []func() *cobra.Command

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
	root.AddCommand(newControllerCmd(), newPlanCmd(), newIAMPolicyCmd(), newInstallCmd(), newPreflightCmd(), newVersionCmd())
	root.AddCommand(newExplainCmd())
	for _, c := range optionalCommands {
		root.AddCommand(c())
	}
	return root
}
