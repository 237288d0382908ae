package cloud

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
)

// TestHungAWSCallTimesOut guards issue 6 case 13: an AWS endpoint that accepts the request
// and never answers must not stall the caller. Each attempt ends at the bound, the SDK
// retries it as a timeout, and the call fails with an error that says so.
func TestHungAWSCallTimesOut(t *testing.T) {
	var attempts atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		attempts.Add(1)
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)

	cfg := aws.Config{Region: "us-west-2", Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")}
	const bound = 300 * time.Millisecond
	c := NewFromConfig(cfg, Options{Endpoints: map[string]string{ServiceEC2: srv.URL}, MaxAttempts: 2, AttemptTimeout: bound})

	start := time.Now()
	_, err := c.EC2.DescribeVpcs(context.Background(), &ec2.DescribeVpcsInput{})
	took := time.Since(start)
	if err == nil {
		t.Fatal("DescribeVpcs on a hung endpoint succeeded")
	}
	var te *AttemptTimeoutError
	if !errors.As(err, &te) || te.Action != "DescribeVpcs" {
		t.Fatalf("error = %v, want an AttemptTimeoutError for DescribeVpcs", err)
	}
	// Two attempts of 300 ms, plus the retryer's backoff between them (at most 1 s here).
	if took > 3*time.Second {
		t.Errorf("the call took %s, want about 2 × %s", took, bound)
	}
	if n := attempts.Load(); n != 2 {
		t.Errorf("attempts = %d, want 2 (a timed-out attempt is retried)", n)
	}
	if got := c.Calls.Snapshot()[CallKey{Service: "EC2", Action: "DescribeVpcs", Outcome: OutcomeError}]; got != 2 {
		t.Errorf("counted %d timed-out attempts, want 2", got)
	}
}
