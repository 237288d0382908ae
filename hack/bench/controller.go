//go:build linux

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/lbsg/lbsg/internal/localenv"
)

// controllerProc is one `lbsg controller` subprocess, so that its memory and CPU are its own.
type controllerProc struct {
	cmd        *exec.Cmd
	pid        int
	metricsURL string // http://127.0.0.1:PORT/metrics
	logPath    string
	exited     chan struct{}
	waitErr    error
}

// controllerStartTimeout bounds how long the controller may take to report ready.
const controllerStartTimeout = 90 * time.Second

// buildController compiles lbsg into dir, as `make build` does.
func buildController(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "lbsg")
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, "./cmd/lbsg")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building lbsg (go build ./cmd/lbsg, run from the repository root): %w\n%s", err, out)
	}
	return bin, nil
}

// startController runs `lbsg controller` against the control plane's kubeconfig and the AWS
// endpoint, with upstream's default flags except those a local run needs (no leader election,
// loopback ports, the VPC, the endpoint), and waits until /readyz answers 200.
func startController(ctx context.Context, bin, kubeconfig, endpoint, vpcID, logPath string, extra ...string) (*controllerProc, error) {
	metricsPort, err := freePort()
	if err != nil {
		return nil, err
	}
	healthPort, err := freePort()
	if err != nil {
		return nil, err
	}
	args := []string{"controller",
		"--kubeconfig=" + kubeconfig,
		"--cluster-name=" + benchCluster,
		"--aws-region=" + localenv.Region,
		"--aws-vpc-id=" + vpcID,
		"--aws-api-endpoints=EC2=" + endpoint + ",Elastic Load Balancing v2=" + endpoint,
		"--enable-leader-election=false",
		"--metrics-bind-addr=127.0.0.1:" + strconv.Itoa(metricsPort),
		"--health-probe-bind-addr=127.0.0.1:" + strconv.Itoa(healthPort),
	}
	args = append(args, extra...)
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("creating the controller's log file: %w", err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Nothing of the developer's AWS setup may reach the controller.
	cmd.Env = append(minimalEnv(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"AWS_REGION="+localenv.Region, "AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	p := &controllerProc{cmd: cmd, logPath: logPath, exited: make(chan struct{}),
		metricsURL: fmt.Sprintf("http://127.0.0.1:%d/metrics", metricsPort)}
	// Pdeathsig fires when the thread that started the child ends: keep it for the child's life.
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.waitErr = cmd.Wait()
		_ = logFile.Close()
		close(p.exited)
	}()
	if err := <-started; err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	p.pid = cmd.Process.Pid
	if err := p.waitReady(ctx, fmt.Sprintf("http://127.0.0.1:%d/readyz", healthPort)); err != nil {
		stopErr := p.stop()
		return nil, errors.Join(err, stopErr, fmt.Errorf("controller log %s ends with:\n%s", logPath, tail(logPath, 15)))
	}
	return p, nil
}

func minimalEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

func (p *controllerProc) waitReady(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, controllerStartTimeout)
	defer cancel()
	hc := &http.Client{Timeout: 2 * time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := hc.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.exited:
			return fmt.Errorf("the controller exited before it was ready: %v", p.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("the controller was not ready within %s: %w", controllerStartTimeout, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// alive reports an error when the controller has exited.
func (p *controllerProc) alive() error {
	select {
	case <-p.exited:
		return fmt.Errorf("the controller exited: %v; its log %s ends with:\n%s", p.waitErr, p.logPath, tail(p.logPath, 15))
	default:
		return nil
	}
}

// stop sends SIGTERM to the controller (its PID only), then SIGKILL after 30 s.
func (p *controllerProc) stop() error {
	if p == nil || p.pid <= 0 {
		return nil
	}
	for _, step := range []struct {
		sig  syscall.Signal
		wait time.Duration
	}{{syscall.SIGTERM, 30 * time.Second}, {syscall.SIGKILL, 10 * time.Second}} {
		select {
		case <-p.exited:
			return nil
		default:
		}
		if err := syscall.Kill(p.pid, step.sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("signalling the controller (pid %d): %w", p.pid, err)
		}
		select {
		case <-p.exited:
			return nil
		case <-time.After(step.wait):
		}
	}
	return fmt.Errorf("the controller (pid %d) did not exit after SIGKILL", p.pid)
}

// usage is what the kernel says the controller used so far.
type usage struct {
	PeakRSS    int64   // bytes, VmHWM
	RSS        int64   // bytes, VmRSS
	CPUSeconds float64 // utime + stime
}

func (p *controllerProc) usage() (usage, error) {
	var u usage
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", p.pid))
	if err != nil {
		return u, fmt.Errorf("reading the controller's memory: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		kb, _ := strconv.ParseInt(fields[1], 10, 64)
		switch fields[0] {
		case "VmHWM:":
			u.PeakRSS = kb * 1024
		case "VmRSS:":
			u.RSS = kb * 1024
		}
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.pid))
	if err != nil {
		return u, fmt.Errorf("reading the controller's CPU time: %w", err)
	}
	// The command name (field 2) may hold spaces; the fields after its ")" are fixed.
	s := string(stat)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return u, fmt.Errorf("/proc/%d/stat has %d fields after the name, want at least 13", p.pid, len(fields))
	}
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	u.CPUSeconds = (utime + stime) / clockTicks
	return u, nil
}

// clockTicks is USER_HZ, 100 on every Linux architecture Go supports.
const clockTicks = 100

// metrics reads the controller's /metrics: its own count of AWS calls
// (lbsg_aws_api_calls_total), to set beside what the proxy saw, and its target-SG pass.
func (p *controllerProc) metrics(ctx context.Context) (controllerMetrics, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.metricsURL, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return controllerMetrics{}, fmt.Errorf("reading the controller's metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return controllerMetrics{}, fmt.Errorf("reading the controller's metrics: HTTP %d", resp.StatusCode)
	}
	return parseMetrics(resp.Body)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free loopback port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
