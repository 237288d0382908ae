package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/lbsg/lbsg/internal/app"
	"github.com/lbsg/lbsg/internal/cloud"
	"github.com/lbsg/lbsg/internal/controller"
	"github.com/lbsg/lbsg/internal/localenv"
	"github.com/lbsg/lbsg/internal/sgrules"
)

// startControllerServingMetrics runs lbsg as startController does, but with its metrics
// server on a free loopback port and its metrics in controller-runtime's registry (the
// one that server serves, as in the binary). It returns the /metrics URL.
// The audit lines go to auditLog, everything the manager and reconcilers log to log.
func (h *harness) startControllerServingMetrics(auditLog, log logr.Logger) string {
	h.t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		h.t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	// The metrics go to controller-runtime's registry, the one the metrics server serves.
	h.startControllerWith(app.RunOptions{Registry: metrics.Registry, Logger: log,
		Started: func(_ *controller.Engine, c *cloud.Clients) {
			// Before the manager starts: no call is in flight yet.
			c.Calls.SetAuditLog(auditLog)
		}}, "--metrics-bind-addr="+addr)
	url := "http://" + addr + "/metrics"
	h.eventually("metrics server up", 20*time.Second, func() string {
		if _, err := scrape(url); err != nil {
			return err.Error()
		}
		return ""
	})
	return url
}

// scrape reads /metrics: every sample line, "name{labels}" → value.
func scrape(url string) (map[string]float64, error) {
	client := http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("GET %s: %s: %s", url, resp.Status, b)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		out[line[:i]] = v
	}
	return out, sc.Err()
}

// sum adds the samples of metric name whose labels contain every one of labels
// (`op="authorize"`).
func sum(samples map[string]float64, name string, labels ...string) float64 {
	total := 0.0
	for k, v := range samples {
		if k != name && !strings.HasPrefix(k, name+"{") {
			continue
		}
		match := true
		for _, l := range labels {
			if !strings.Contains(k, l) {
				match = false
				break
			}
		}
		if match {
			total += v
		}
	}
	return total
}

func (h *harness) scrape(url string) map[string]float64 {
	h.t.Helper()
	s, err := scrape(url)
	if err != nil {
		h.t.Fatalf("scrape: %v", err)
	}
	return s
}

func TestMetricsEndpointShowsAWSCallsPlanChangesAndDriftRepairs(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	var audit, logs auditLines
	// funcr's default verbosity keeps V(0), the default --log-level=info.
	url := h.startControllerServingMetrics(funcr.New(audit.add, funcr.Options{}), funcr.New(logs.add, funcr.Options{}))
	before := h.scrape(url)

	h.create(webserver("webserver", nil))
	h.waitHostname("webserver")
	backend, ok := h.sgByName(wantBackendName(cluster))
	if !ok {
		t.Fatalf("no backend SG named %s", wantBackendName(cluster))
	}
	nodePort := h.service("webserver").Spec.Ports[0].NodePort
	wantNode := fmt.Sprintf("tcp %d from %s", nodePort, backend.ID)
	h.eventually("node SG rule", 30*time.Second, func() string {
		if got := lbsgRules(h.securityGroups()[h.world.NodeSGID]); len(got) != 1 || got[0] != wantNode {
			return fmt.Sprintf("node SG lbsg rules = %v, want [%s]", got, wantNode)
		}
		return ""
	})
	h.quiesce()

	// Upstream's AWS metrics, with upstream's names and labels, moved with the calls.
	after := h.scrape(url)
	for _, c := range []struct {
		name   string
		labels []string
	}{
		{"aws_api_calls_total", []string{`operation="CreateLoadBalancer"`, `service="Elastic Load Balancing v2"`, `status_code="200"`, `error_code=""`}},
		{"aws_api_calls_total", []string{`operation="AuthorizeSecurityGroupIngress"`, `service="EC2"`}},
		{"aws_api_call_duration_seconds_count", []string{`operation="CreateLoadBalancer"`}},
		{"aws_api_call_retries_count", []string{`operation="CreateLoadBalancer"`}},
		{"lbsg_plan_changes_total", []string{`op="create-lb"`, `outcome="ok"`}},
		{"lbsg_plan_changes_total", []string{`op="authorize"`, `outcome="ok"`}},
	} {
		if d := sum(after, c.name, c.labels...) - sum(before, c.name, c.labels...); d < 1 {
			t.Errorf("%s%v moved by %v while the Service was created, want at least 1", c.name, c.labels, d)
		}
	}
	if n := sum(after, "lbsg_target_sg_rules", `sg="`+h.world.NodeSGID+`"`); n < 1 {
		t.Errorf("lbsg_target_sg_rules{sg=%s} = %v, want the node rule counted", h.world.NodeSGID, n)
	}
	if sum(after, "controller_runtime_reconcile_total") == 0 {
		t.Error("controller-runtime's reconcile metrics are not served")
	}
	if d := sum(after, "lbsg_drift_repaired_total") - sum(before, "lbsg_drift_repaired_total"); d != 0 {
		t.Errorf("creating a Service counted %v drift repairs: they were asked for by Kubernetes", d)
	}

	// Let drift-check passes (every 2s) and a Service resync (every 10s) run with nothing
	// to change: they log nothing at info level. Then revoke the node rule behind lbsg's
	// back: the next pass puts it back, as a drift repair.
	if logs.count(`"msg"="applied plan"`) == 0 {
		t.Errorf("the reconcilers' log was not captured, or creating the Service logged no applied plan:\n%s", logs.String())
	}
	quiet := logs.len()
	time.Sleep(11 * time.Second)
	if extra := logs.since(quiet); len(extra) != 0 {
		t.Errorf("info lines logged by reconciles that changed nothing:\n%s", strings.Join(extra, "\n"))
	}
	mark := h.scrape(url)
	var ours []sgrules.Rule
	for _, r := range h.securityGroups()[h.world.NodeSGID].Rules {
		if r.Description == sgrules.OwnerDescription(cluster) {
			ours = append(ours, r)
		}
	}
	if _, err := h.ec2.RevokeSecurityGroupIngress(h.ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(h.world.NodeSGID),
		IpPermissions: cloud.RulesToSDK(ours)}); err != nil {
		t.Fatalf("revoke the node rule out of band: %v", err)
	}
	h.eventually("rule revoked", 10*time.Second, func() string {
		if got := lbsgRules(h.securityGroups()[h.world.NodeSGID]); len(got) != 0 {
			return fmt.Sprintf("node SG lbsg rules still %v", got)
		}
		return ""
	})
	h.eventually("drift repaired", 30*time.Second, func() string {
		now := h.scrape(url)
		found := sum(now, "lbsg_drift_found_total", `kind="authorize"`) - sum(mark, "lbsg_drift_found_total", `kind="authorize"`)
		repaired := sum(now, "lbsg_drift_repaired_total", `kind="authorize"`) - sum(mark, "lbsg_drift_repaired_total", `kind="authorize"`)
		if found < 1 || repaired < 1 {
			return fmt.Sprintf("lbsg_drift_found_total{kind=authorize} moved by %v, lbsg_drift_repaired_total by %v; want both at least 1", found, repaired)
		}
		return ""
	})
	if got := lbsgRules(h.securityGroups()[h.world.NodeSGID]); len(got) != 1 || got[0] != wantNode {
		t.Errorf("node SG lbsg rules after the repair = %v, want [%s]", got, wantNode)
	}

	// The audit log named every write, the Service it served and the outcome.
	if n := audit.count(`"action"="CreateLoadBalancer"`, `"resource"="arn:`, `"object"="Service default/webserver"`, `"outcome"="ok"`); n != 1 {
		t.Errorf("audit lines for CreateLoadBalancer of Service default/webserver: %d, want 1:\n%s", n, audit.String())
	}
	if n := audit.count(`"action"="AuthorizeSecurityGroupIngress"`, `"resource"="`+h.world.NodeSGID+`"`, `"object"="Service default/webserver"`, `"outcome"="ok"`); n != 2 {
		t.Errorf("audit lines for the node SG rule (authorized, then repaired): %d, want 2:\n%s", n, audit.String())
	}
	h.quiesce()
	if n, writes := audit.count(`"msg"="aws write"`), writeOperations(h.scrape(url)); n != writes {
		t.Errorf("%d audit lines for %v AWS write operations in aws_api_calls_total:\n%s", n, writes, audit.String())
	}

	svc := h.service("webserver")
	if err := h.k8s.Delete(h.ctx, svc); err != nil {
		t.Fatal(err)
	}
	h.waitNothingLeft()
}

// auditLines collects log lines (the audit log's, or everything logged).
type auditLines struct {
	mu    sync.Mutex
	lines []string
}

func (a *auditLines) add(_, args string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.lines = append(a.lines, args)
}

// count returns the number of lines that contain every one of parts.
func (a *auditLines) count(parts ...string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, l := range a.lines {
		match := true
		for _, p := range parts {
			if !strings.Contains(l, p) {
				match = false
				break
			}
		}
		if match {
			n++
		}
	}
	return n
}

func (a *auditLines) len() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.lines)
}

func (a *auditLines) since(i int) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.lines[i:]...)
}

func (a *auditLines) String() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return strings.Join(a.lines, "\n")
}

// writeOperations sums aws_api_calls_total over the operations that write.
func writeOperations(samples map[string]float64) int {
	n := 0.0
	for k, v := range samples {
		if !strings.HasPrefix(k, "aws_api_calls_total{") {
			continue
		}
		i := strings.Index(k, `operation="`)
		if i < 0 || cloud.IsReadOnlyAction(k[i+len(`operation="`):]) {
			continue
		}
		n += v
	}
	return int(n)
}

// The chart's Grafana dashboard queries only metrics that docs/metrics.md documents (and
// so that lbsg serves, see the test above).
func TestDashboardQueriesOnlyDocumentedMetrics(t *testing.T) {
	dash, err := os.ReadFile("../../charts/lbsg/dashboards/lbsg.json")
	if err != nil {
		t.Fatal(err)
	}
	var parsed map[string]any
	if err := json.Unmarshal(dash, &parsed); err != nil {
		t.Fatalf("dashboard is not JSON: %v", err)
	}
	docs, err := os.ReadFile("../../docs/metrics.md")
	if err != nil {
		t.Fatal(err)
	}
	names := regexp.MustCompile(`\b(?:aws|lbsg|controller_runtime)_[a-z0-9_]+`).FindAllString(string(dash), -1)
	if len(names) == 0 {
		t.Fatal("no metric found in the dashboard")
	}
	for _, n := range names {
		base := n
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			base = strings.TrimSuffix(base, suffix)
		}
		if !strings.Contains(string(docs), "`"+base+"`") {
			t.Errorf("the dashboard queries %s, which docs/metrics.md does not list", n)
		}
	}
}
