package app

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lbsg/lbsg/internal/cloud"
)

// TestReadinessAsksAWSAtMostEvery30s guards issue 6 case 13's readiness part: /readyz says
// whether AWS answers, from one cheap call remembered for 30 s (5 s after a failure), not
// one AWS call per probe.
func TestReadinessAsksAWSAtMostEvery30s(t *testing.T) {
	fake := cloud.NewFakeEC2()
	now := time.Unix(1000, 0)
	p := newAWSProbe(fake, "vpc-1", func() time.Time { return now })
	req := httptest.NewRequest("GET", "/readyz", nil)
	calls := func() int { return fake.Calls()["DescribeVpcs"] }

	for i := 0; i < 10; i++ {
		if err := p.check(req); err != nil {
			t.Fatalf("probe %d: %v", i, err)
		}
		now = now.Add(time.Second)
	}
	if calls() != 1 {
		t.Fatalf("10 probes in 10 s made %d AWS calls, want 1", calls())
	}

	fake.Fail = func(string) error { return cloud.FakeAPIError("RequestLimitExceeded") }
	now = now.Add(AWSProbeInterval)
	err := p.check(req)
	if err == nil || !strings.Contains(err.Error(), "AWS is not reachable") {
		t.Fatalf("probe with AWS failing = %v, want not ready", err)
	}
	if p.check(req) == nil || calls() != 2 {
		t.Fatalf("a failure is remembered too: calls = %d, want 2", calls())
	}
	fake.Fail = nil
	now = now.Add(awsRetryInterval)
	if err := p.check(req); err != nil || calls() != 3 {
		t.Fatalf("after AWS came back: %v, calls = %d", err, calls())
	}
}
