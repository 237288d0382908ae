//go:build linux

package localenv

import "syscall"

// setParentDeathSignal makes the kernel kill the child if this process dies without calling
// Close (a test binary killed by its timeout, for example), so no moto is left behind.
func setParentDeathSignal(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }
