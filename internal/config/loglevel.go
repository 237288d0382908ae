package config

import (
	"fmt"
	"slices"

	"github.com/spf13/pflag"
)

// FlagLogLevel is upstream's --log-level.
const FlagLogLevel = "log-level"

// Log levels lbsg acts on: upstream's info and debug, and error, which keeps only errors
// (the audit lines of AWS writes are info, so error hides them).
const (
	LogLevelInfo  = "info"
	LogLevelDebug = "debug"
	LogLevelError = "error"
)

var logLevels = []string{LogLevelInfo, LogLevelDebug, LogLevelError}

func (c *Config) addLogLevelFlag(fs *pflag.FlagSet) {
	fs.StringVar(&c.LogLevel, FlagLogLevel, LogLevelInfo,
		"Log level: info (default: one line per AWS write and per applied plan), debug (also what each reconcile decided), or error; any other value is info, as upstream")
}

// EffectiveLogLevel is the level lbsg logs at: --log-level when it is one lbsg knows, else
// info. Upstream starts with any value and logs at info for those it does not know
// (warn, trace, …), so an upstream argument list never stops lbsg on its log level.
func (c *Config) EffectiveLogLevel() string {
	if slices.Contains(logLevels, c.LogLevel) {
		return c.LogLevel
	}
	return LogLevelInfo
}

// LogLevelWarning says, when --log-level is a value lbsg does not know, that it logs at
// info instead; empty otherwise. Log it once at start-up.
func (c *Config) LogLevelWarning() string {
	if c.EffectiveLogLevel() == c.LogLevel {
		return ""
	}
	return fmt.Sprintf("--%s=%q is not one of %v: logging at %s, as upstream does", FlagLogLevel, c.LogLevel, logLevels, LogLevelInfo)
}
