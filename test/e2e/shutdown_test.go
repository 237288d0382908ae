package e2e

import (
	"bytes"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbsg/lbsg/internal/localenv"
)

// outputBuffer collects a child's output while the test reads it.
type outputBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *outputBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *outputBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// lbsgBinary compiles the lbsg binary into a temporary directory.
func lbsgBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "lbsg")
	cmd := exec.Command("go", "build", "-o", bin, "../../cmd/lbsg")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func probeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestSIGTERMStopsGracefullyAndReleasesLease guards issue 6 case 7: the binary passed
// cobra's context, which never ends, so SIGTERM killed lbsg mid-apply and left the leader
// lease held until it expired. The built binary, leading and reconciling a Service, must
// exit with code 0 within 30 s of SIGTERM and leave the Lease without a holder.
func TestSIGTERMStopsGracefullyAndReleasesLease(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	bin := lbsgBinary(t)
	probe := probeAddr(t)
	const leaseName = "lbsg-shutdown-test"
	cmd := exec.Command(bin, "controller", "--kubeconfig="+plane.Kubeconfig,
		"--cluster-name="+h.world.Cluster, "--aws-region="+localenv.Region, "--aws-vpc-id="+h.world.VPCID,
		"--aws-api-endpoints=EC2="+moto.Endpoint+",Elastic Load Balancing v2="+moto.Endpoint,
		"--enable-leader-election=true", "--leader-election-id="+leaseName, "--leader-election-namespace=default",
		"--metrics-bind-addr=0", "--health-probe-bind-addr="+probe, "--aws-max-retries=1")
	cmd.Env = os.Environ()
	logs := &outputBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	defer func() {
		if !stopped {
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("lbsg output:\n%s", tailOf(logs.String(), 60))
		}
	}()

	lease := &coordinationv1.Lease{}
	holder := func() string {
		if err := h.k8s.Get(h.ctx, client.ObjectKey{Namespace: "default", Name: leaseName}, lease); err != nil {
			return ""
		}
		if lease.Spec.HolderIdentity == nil {
			return ""
		}
		return *lease.Spec.HolderIdentity
	}
	h.eventually("lbsg to lead", 60*time.Second, func() string {
		select {
		case err := <-exited:
			stopped = true
			t.Fatalf("lbsg exited: %v", err)
		default:
		}
		if holder() == "" {
			return "no holder yet"
		}
		return ""
	})
	h.eventually("/readyz", 30*time.Second, func() string {
		resp, err := http.Get("http://" + probe + "/readyz")
		if err != nil {
			return err.Error()
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return resp.Status
		}
		return ""
	})
	// It is at work when the signal comes.
	h.create(webserver("webserver", nil))
	h.waitHostname("webserver")

	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		stopped = true
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			t.Fatalf("lbsg exited with code %d after SIGTERM, want 0", exit.ExitCode())
		} else if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("lbsg did not exit within 30 s of SIGTERM")
	}
	t.Logf("exited %s after SIGTERM", time.Since(start).Round(100*time.Millisecond))
	if got := holder(); got != "" {
		t.Errorf("the Lease is still held by %q after lbsg exited: leader election must release it on shutdown", got)
	}
	if _, err := http.Get("http://" + probe + "/healthz"); err == nil {
		t.Error("the probe server still answers after exit")
	}
}

func tailOf(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
