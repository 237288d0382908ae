package app

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

// SignalContext returns a context that SIGTERM or SIGINT cancels, which starts a graceful
// shutdown of Run. A second signal ends the process at once, with code 1.
func SignalContext(parent context.Context) context.Context {
	ctx, cancel := context.WithCancel(parent)
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-ch
		cancel()
		<-ch
		os.Exit(1)
	}()
	return ctx
}
