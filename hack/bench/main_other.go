//go:build !linux

// Command bench measures lbsg's AWS calls, memory and CPU; it reads the controller's
// figures from /proc, so it runs on Linux only.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "bench: runs on Linux only (it reads the controller's memory and CPU time from /proc)")
	os.Exit(1)
}
