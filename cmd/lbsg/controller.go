package main

import (
	"flag"

	"github.com/spf13/cobra"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/lbsg/lbsg/internal/app"
	"github.com/lbsg/lbsg/internal/config"
)

func newControllerCmd() *cobra.Command {
	cfg := &config.Config{}
	zapOpts := zap.Options{}
	cmd := &cobra.Command{
		Use:   "controller",
		Short: "Run the controller (flags as the upstream AWS Load Balancer Controller)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
			// cobra's context never ends: shutdown comes from SIGTERM (a Pod being
			// stopped) or SIGINT.
			return app.Run(app.SignalContext(cmd.Context()), cfg, app.RunOptions{})
		},
	}
	app.AddFlags(cmd.Flags(), cfg)
	zfs := flag.NewFlagSet("zap", flag.ContinueOnError)
	zapOpts.BindFlags(zfs)
	cmd.Flags().AddGoFlagSet(zfs)
	return cmd
}
