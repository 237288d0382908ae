package config

import (
	"fmt"
	"slices"

	"github.com/spf13/pflag"
)

// FlagLogLevel is upstream's --log-level.
const FlagLogLevel = "log-level"

// Log levels --log-level accepts: upstream's info and debug, and error, which keeps only
// errors (the audit lines of AWS writes are info, so error hides them).
const (
	LogLevelInfo  = "info"
	LogLevelDebug = "debug"
	LogLevelError = "error"
)

var logLevels = []string{LogLevelInfo, LogLevelDebug, LogLevelError}

func (c *Config) addLogLevelFlag(fs *pflag.FlagSet) {
	fs.StringVar(&c.LogLevel, FlagLogLevel, LogLevelInfo,
		"Log level: info (default: one line per AWS write and per applied plan), debug (also what each reconcile decided), or error")
}

func (c *Config) validateLogLevel() error {
	if !slices.Contains(logLevels, c.LogLevel) {
		return fmt.Errorf("invalid --%s %q: use one of %v", FlagLogLevel, c.LogLevel, logLevels)
	}
	return nil
}
