//go:build linux

package localenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// setParentDeathSignal makes the kernel kill the child if this process dies without calling
// Close (a test binary killed by its timeout, for example), so no moto is left behind.
func setParentDeathSignal(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }

// listensOn reports whether process pid holds the listening socket on 127.0.0.1:port.
// Ports are picked by binding and releasing them, so two test binaries starting moto at
// once can pick the same one; the loser's moto exits, but its readiness probe may already
// have been answered by the winner's. Asking the kernel who owns the socket tells them apart.
// known is false when /proc cannot say (another OS, a restricted /proc): callers then trust
// the probe.
func listensOn(pid, port int) (owned, known bool) {
	inodes := listeningInodes(port)
	if inodes == nil {
		return false, false
	}
	fdDir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, err := os.ReadDir(fdDir)
	if err != nil {
		return false, false
	}
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join(fdDir, fd.Name()))
		if err != nil {
			continue
		}
		if inode, ok := strings.CutPrefix(target, "socket:["); ok && inodes[strings.TrimSuffix(inode, "]")] {
			return true, true
		}
	}
	return false, true
}

// listeningInodes returns the socket inodes listening on 127.0.0.1:port from /proc/net/tcp,
// or nil when the table cannot be read.
func listeningInodes(port int) map[string]bool {
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return nil
	}
	const listen = "0A"
	local := fmt.Sprintf("0100007F:%04X", port)
	inodes := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		// sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
		if len(f) >= 10 && f[1] == local && f[3] == listen {
			inodes[f[9]] = true
		}
	}
	return inodes
}
