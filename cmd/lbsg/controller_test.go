package main

import (
	"testing"

	"go.uber.org/zap/zapcore"
)

func TestLogLevelMapsOntoZap(t *testing.T) {
	for in, want := range map[string]zapcore.Level{
		"info": zapcore.InfoLevel, "debug": zapcore.DebugLevel, "error": zapcore.ErrorLevel, "": zapcore.InfoLevel,
	} {
		if got := zapLevel(in); got != want {
			t.Errorf("zapLevel(%q) = %v, want %v", in, got, want)
		}
	}
}
