package main

import (
	"flag"

	"github.com/spf13/cobra"
	"go.uber.org/zap/zapcore"
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
			if zapOpts.Level == nil {
				// --zap-log-level, when given, is more precise and wins; otherwise
				// upstream's --log-level decides.
				zapOpts.Level = zapLevel(cfg.EffectiveLogLevel())
			}
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

// zapLevel maps --log-level onto zap: debug shows V(1) lines (what each reconcile
// decided), info the default ones (the audit line of every AWS write), error only errors.
// An unknown value is info, as upstream; Run logs that it fell back.
func zapLevel(level string) zapcore.Level {
	switch level {
	case config.LogLevelDebug:
		return zapcore.DebugLevel
	case config.LogLevelError:
		return zapcore.ErrorLevel
	}
	return zapcore.InfoLevel
}
