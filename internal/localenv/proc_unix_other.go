//go:build unix && !linux

package localenv

import "syscall"

func setParentDeathSignal(*syscall.SysProcAttr) {}
