package localenv

import (
	"bytes"
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
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

const (
	// Region is the AWS region every local environment uses.
	Region = "us-west-2"
	// MotoMaxAttempts is the number of attempts (first try included) the SDK config from
	// Moto.AWSConfig makes per call: moto answers unimplemented calls with HTTP 500, and
	// those must surface, not be retried for seconds.
	MotoMaxAttempts = 2

	motoInstallHint = `install moto's server for python3: pip install 'moto[server]'`
	// MotoStartTimeout bounds how long StartMoto waits for moto to answer HTTP.
	MotoStartTimeout = 30 * time.Second
	motoStopTimeout  = 5 * time.Second
)

// PythonEnv names the environment variable that overrides the Python interpreter used to run
// moto (default "python3").
const PythonEnv = "LBSG_PYTHON"

// Moto is a moto server (AWS emulator) running as a child process on a loopback port.
type Moto struct {
	// Endpoint is the base URL of the server, http://127.0.0.1:PORT. EC2 and ELBv2 are both
	// served there.
	Endpoint string
	// LogPath is the file holding the server's stdout and stderr. It is removed by Close.
	LogPath string

	cmd     *exec.Cmd
	logFile *os.File
	tmpDir  string
	port    int
	exited  chan struct{} // closed when the process has exited
	waitErr error         // set before exited is closed

	closeOnce sync.Once
	closeErr  error
}

func pythonBin() string {
	if p := os.Getenv(PythonEnv); p != "" {
		return p
	}
	return "python3"
}

// CheckMoto reports whether moto's server can be run by the machine's python3, with an error
// that says how to install it when it cannot.
func CheckMoto(ctx context.Context) error {
	py := pythonBin()
	if _, err := exec.LookPath(py); err != nil {
		return fmt.Errorf("moto needs %s, which is not on PATH (%v): install Python 3, then %s", py, err, motoInstallHint)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, py, "-c", "import moto, flask").CombinedOutput()
	if err != nil {
		return fmt.Errorf("moto is not usable (%s -c 'import moto, flask': %v: %s): %s",
			py, err, strings.TrimSpace(lastLines(string(out), 5)), motoInstallHint)
	}
	return nil
}

// StartMoto starts moto's server on a free loopback port and waits until it answers HTTP.
// Call Close to stop it.
func StartMoto(ctx context.Context) (*Moto, error) {
	if err := CheckMoto(ctx); err != nil {
		return nil, err
	}
	var lastErr error
	// A free port is picked by binding and releasing it; another process can take it
	// before moto binds, so try a few ports.
	for attempt := 0; attempt < 3; attempt++ {
		m, err := startMotoOnce(ctx)
		if err == nil {
			return m, nil
		}
		lastErr = err
		if ctx.Err() != nil || !errors.Is(err, errMotoExited) {
			break
		}
	}
	return nil, lastErr
}

var errMotoExited = errors.New("moto exited before it was ready")

func startMotoOnce(ctx context.Context) (*Moto, error) {
	port, err := freeLoopbackPort()
	if err != nil {
		return nil, fmt.Errorf("finding a free loopback port for moto: %w", err)
	}
	tmpDir, err := os.MkdirTemp("", "lbsg-moto-")
	if err != nil {
		return nil, fmt.Errorf("creating moto's temp dir: %w", err)
	}
	logPath := filepath.Join(tmpDir, "moto.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		_ = os.RemoveAll(tmpDir)
		return nil, fmt.Errorf("creating moto's log file: %w", err)
	}

	// Not exec.CommandContext: the server outlives ctx, which only bounds start-up.
	cmd := exec.Command(pythonBin(), "-m", "moto.server", "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Dir = tmpDir
	cmd.Env = append(os.Environ(), "PYTHONUNBUFFERED=1")
	setProcessGroup(cmd)
	m := &Moto{
		Endpoint: "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		port:     port,
		LogPath:  logPath,
		cmd:      cmd,
		logFile:  logFile,
		tmpDir:   tmpDir,
		exited:   make(chan struct{}),
	}
	// Start and wait on one locked OS thread: on Linux the child gets SIGKILL when the
	// thread that started it exits (Pdeathsig), so that thread must live as long as moto.
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		m.waitErr = cmd.Wait()
		close(m.exited)
	}()
	if err := <-started; err != nil {
		_ = logFile.Close()
		_ = os.RemoveAll(tmpDir)
		return nil, fmt.Errorf("starting moto (%s): %w: %s", strings.Join(cmd.Args, " "), err, motoInstallHint)
	}

	if err := m.waitReady(ctx, MotoStartTimeout); err != nil {
		tail := m.logTail()
		_ = m.Close()
		return nil, fmt.Errorf("%w\nmoto log (%s) ends with:\n%s", err, strings.Join(cmd.Args, " "), tail)
	}
	return m, nil
}

func freeLoopbackPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (m *Moto) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hc := &http.Client{Timeout: 2 * time.Second}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.Endpoint+"/moto-api/config", nil)
		if err != nil {
			return err
		}
		resp, err := hc.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode < 500 && m.ownsPort() {
				return nil
			}
		}
		select {
		case <-m.exited:
			return fmt.Errorf("%w (%v)", errMotoExited, m.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("moto did not answer on %s within %s: %w", m.Endpoint, timeout, ctx.Err())
		case <-tick.C:
		}
	}
}

// ownsPort reports whether the server answering on m.Endpoint is this moto process and not
// another test binary's that picked the same port (see listensOn).
func (m *Moto) ownsPort() bool {
	if m.cmd.Process == nil {
		return false
	}
	owned, known := listensOn(m.cmd.Process.Pid, m.port)
	return owned || !known
}

// Reset drops every resource moto holds (POST /moto-api/reset).
func (m *Moto) Reset(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.Endpoint+"/moto-api/reset", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("resetting moto: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("resetting moto: HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(body))
	}
	return nil
}

// AWSConfig returns an SDK config for this server: region us-west-2, static credentials
// test/test, BaseEndpoint = m.Endpoint (for EC2 and ELBv2 alike) and at most
// MotoMaxAttempts attempts per call. It reads no environment variables or shared config
// files, so a developer's AWS settings never leak into tests.
func (m *Moto) AWSConfig(ctx context.Context) (aws.Config, error) {
	return StaticAWSConfig(m.Endpoint), nil
}

// StaticAWSConfig is the config AWSConfig returns, for any endpoint (a fault-injecting proxy
// in front of moto, for example).
func StaticAWSConfig(endpoint string) aws.Config {
	cfg := aws.NewConfig()
	cfg.Region = Region
	cfg.Credentials = aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider("test", "test", ""))
	cfg.BaseEndpoint = aws.String(endpoint)
	cfg.RetryMaxAttempts = MotoMaxAttempts
	cfg.Retryer = func() aws.Retryer {
		return retry.AddWithMaxAttempts(retry.NewStandard(), MotoMaxAttempts)
	}
	return *cfg
}

// Close stops the server (its whole process group) and removes its temp dir. It is safe to
// call more than once.
func (m *Moto) Close() error {
	m.closeOnce.Do(func() {
		m.closeErr = m.stop()
		if err := m.logFile.Close(); err != nil && m.closeErr == nil {
			m.closeErr = err
		}
		if err := os.RemoveAll(m.tmpDir); err != nil && m.closeErr == nil {
			m.closeErr = err
		}
	})
	return m.closeErr
}

func (m *Moto) stop() error {
	select {
	case <-m.exited:
		return nil
	default:
	}
	if err := terminate(m.cmd); err != nil {
		return fmt.Errorf("stopping moto (pid %d): %w", m.cmd.Process.Pid, err)
	}
	select {
	case <-m.exited:
		return nil
	case <-time.After(motoStopTimeout):
	}
	if err := kill(m.cmd); err != nil {
		return fmt.Errorf("killing moto (pid %d): %w", m.cmd.Process.Pid, err)
	}
	select {
	case <-m.exited:
		return nil
	case <-time.After(motoStopTimeout):
		return fmt.Errorf("moto (pid %d) did not exit after SIGKILL", m.cmd.Process.Pid)
	}
}

// logTail returns the last lines of the server's log.
func (m *Moto) logTail() string {
	b, err := os.ReadFile(m.LogPath)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", m.LogPath, err)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return "(empty)"
	}
	return lastLines(string(b), 20)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
