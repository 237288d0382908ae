package e2e

import (
	"context"
	"time"

	"github.com/lbsg/lbsg/internal/awsproxy"
)

// throughFaultProxy puts a fault-injecting, counting proxy between the controller and
// moto and returns it, with the flag that sends the controller's EC2 and ELBv2 calls
// through it (pass it to startController). The test's own clients (h.ec2, h.elb) still
// talk to moto directly, so what the test checks is never faulted.
func (h *harness) throughFaultProxy(f awsproxy.Faults) (*awsproxy.Proxy, string) {
	h.t.Helper()
	p, err := awsproxy.Start(moto.Endpoint, f)
	if err != nil {
		h.t.Fatalf("start the fault proxy: %v", err)
	}
	// Registered after newHarness's cleanup, so it runs before it: the controller may
	// still be calling through the proxy until the harness stops it, and a closed proxy
	// only makes those calls fail.
	h.t.Cleanup(func() { _ = p.Close() })
	return p, "--aws-api-endpoints=" + p.EndpointsFlag()
}

// extendDeadline gives the test (and the controller it starts afterwards) d instead of
// newHarness's 4 minutes: work under injected faults takes longer.
func (h *harness) extendDeadline(d time.Duration) {
	// Not cancelled in a cleanup: newHarness's cleanup, which runs after any registered
	// here, still needs it.
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(d, cancel)
	h.ctx = ctx
}
