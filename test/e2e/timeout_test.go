package e2e

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lbsg/lbsg/internal/controller"
	"github.com/lbsg/lbsg/internal/localenv"
)

// TestHungAWSCallFailsWithinBound guards issue 6 case 13: nothing bounded an AWS call, so
// an endpoint that accepts a request and never answers stalled the reconcile (and, for the
// target-SG pass, the only worker) forever. With the Elastic Load Balancing endpoint hung,
// a new Service now gets a Warning Event saying which call got no answer, within seconds.
func TestHungAWSCallFailsWithinBound(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	release := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(hung.Close)
	t.Cleanup(func() { close(release) })
	h.startController("--aws-api-endpoints=Elastic Load Balancing v2="+hung.URL, "--aws-api-timeout=1s", "--aws-max-retries=0")
	start := time.Now()
	h.create(webserver("webserver", nil))
	h.eventually("a Warning Event about the hung call", 20*time.Second, func() string {
		for _, m := range h.events("webserver")[controller.EventFailedDeploy] {
			if strings.Contains(m, "no answer within 1s") {
				return ""
			}
		}
		return "events: " + strings.Join(h.events("webserver")[controller.EventFailedDeploy], " | ")
	})
	t.Logf("reported %s after the Service was created", time.Since(start).Round(100*time.Millisecond))
	if c := conditionMessage(h.service("webserver")); !strings.Contains(c, controller.ReasonAWSError) || !strings.Contains(c, "no answer within 1s") {
		t.Errorf("condition = %s", c)
	}
}
