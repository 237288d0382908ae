package cloud

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/prometheus/client_golang/prometheus"
)

func testConfig(endpoint string) aws.Config {
	return aws.Config{
		Region:       "us-west-2",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(endpoint),
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
	}
}

func throttleRule(service, op string, r float64, burst int) ThrottleRule {
	return ThrottleRule{Service: service, Operation: regexp.MustCompile(op), Rate: r, Burst: burst}
}

// TestThrottleLetsExactlyBurstCallsThroughAtOnce: with a rate so low that no token comes
// back within the calls' deadline, n immediate calls see exactly burst of them made; the
// others end at once, as throttling, without reaching AWS and without waiting past the
// deadline. Calls no rule matches are not held.
func TestThrottleLetsExactlyBurstCallsThroughAtOnce(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := NewFromConfig(testConfig(fakeEC2(t).URL), Options{Registerer: reg,
		Throttle: Throttle{throttleRule(ServiceEC2, "^DescribeVpcs$", 0.001, 3)}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	made, held := 0, 0
	for i := 0; i < 7; i++ {
		_, err := c.EC2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{})
		var wait *ThrottleWaitError
		switch {
		case err == nil:
			made++
		case errors.As(err, &wait) && IsThrottling(err):
			held++
		default:
			t.Fatalf("call %d: %v", i, err)
		}
		if _, err := c.EC2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("g"), Description: aws.String("d")}); err != nil {
			t.Fatalf("a call no rule matches was held: %v", err)
		}
	}
	if made != 3 || held != 4 {
		t.Errorf("made %d, held %d; want 3 and 4", made, held)
	}
	want := Counts{
		{Service: ServiceEC2, Action: "DescribeVpcs", Outcome: OutcomeOK}:        3,
		{Service: ServiceEC2, Action: "CreateSecurityGroup", Outcome: OutcomeOK}: 7,
	}
	if got := c.Calls.Snapshot(); got.String() != want.String() {
		t.Errorf("AWS calls:\n%s want\n%s", got, want)
	}
	if got := labelled(t, reg, "lbsg_aws_api_throttled_total", "action", "reason")["DescribeVpcs|client_limit"][0]; got != 4 {
		t.Errorf("lbsg_aws_api_throttled_total{reason=client_limit} = %v, want 4", got)
	}
}

// TestThrottleWaitsForEveryMatchingRule: a call takes a token from each rule it matches,
// so the smallest bucket decides, and each rule's bucket is shared by every call it
// matches.
func TestThrottleWaitsForEveryMatchingRule(t *testing.T) {
	c := NewFromConfig(testConfig(fakeEC2(t).URL), Options{Throttle: Throttle{
		throttleRule(ServiceEC2, "^Describe", 0.001, 3),
		throttleRule(ServiceEC2, "Vpcs$", 0.001, 2),
		throttleRule(ServiceELBV2, ".*", 0.001, 1), // another service's rule never applies
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	made := 0
	for i := 0; i < 5; i++ {
		if _, err := c.EC2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{}); err == nil {
			made++
		} else if !IsThrottling(err) {
			t.Fatal(err)
		}
	}
	if made != 2 {
		t.Errorf("made %d DescribeVpcs calls, want 2 (the smaller bucket)", made)
	}
}

// TestThrottleWaitEndsWithTheContext: a call waiting for a token ends when its context
// does, with a throttling error.
func TestThrottleWaitEndsWithTheContext(t *testing.T) {
	th := newThrottler(Throttle{throttleRule(ServiceEC2, ".", 0.001, 1)})
	if err := th.wait(context.Background(), ServiceEC2, "DescribeVpcs"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := th.wait(ctx, ServiceEC2, "DescribeVpcs")
	if err == nil || !IsThrottling(err) {
		t.Fatalf("got %v, want a throttling error", err)
	}
}

// awsPublished are the request-rate buckets AWS documents per account and Region for the
// actions lbsg calls (EC2: "Request throttling for the Amazon EC2 API"; ELBv2: "Request
// throttling for the Elastic Load Balancing API").
var awsPublished = []struct {
	service       string
	actions       []string
	refill, burst float64
}{
	{ServiceEC2, []string{"DescribeSecurityGroups", "DescribeInstances", "DescribeNetworkInterfaces", "DescribeVpcs", "DescribeSubnets", "DescribeSecurityGroupRules"}, 20, 100},
	{ServiceEC2, []string{"AuthorizeSecurityGroupIngress", "RevokeSecurityGroupIngress", "CreateSecurityGroup", "DeleteSecurityGroup", "CreateTags", "DeleteTags", "ModifyNetworkInterfaceAttribute"}, 5, 200},
	{ServiceELBV2, []string{"DescribeLoadBalancers", "DescribeTargetGroups", "DescribeListeners", "DescribeTags", "DescribeTargetHealth", "DescribeRules", "DescribeLoadBalancerAttributes"}, 10, 40},
}

func TestDefaultThrottleStaysBelowAWSPublishedLimits(t *testing.T) {
	def := DefaultThrottle()
	for _, b := range awsPublished {
		for _, a := range b.actions {
			matched := false
			for _, r := range def {
				if r.Service != b.service || !r.Operation.MatchString(a) {
					continue
				}
				matched = true
				if r.Rate > 0.8*b.refill || float64(r.Burst) > 0.8*b.burst {
					t.Errorf("%s %s: default %s is above 80 %% of AWS's %v/s, bucket %v", b.service, a, r, b.refill, b.burst)
				}
			}
			if !matched {
				t.Errorf("%s %s: no default limit", b.service, a)
			}
		}
	}
	// Upstream's limits on target registration stay.
	for _, a := range []string{"RegisterTargets", "DeregisterTargets"} {
		n := 0
		for _, r := range def {
			if r.Service == ServiceELBV2 && r.Operation.MatchString(a) {
				n++
				if r.Rate > 4 || r.Burst > 20 {
					t.Errorf("%s: %s is above upstream's 4:20", a, r)
				}
			}
		}
		if n == 0 {
			t.Errorf("%s: no default limit", a)
		}
	}
}

// alwaysFailing answers every call with HTTP 500 InternalError, which the SDK retries.
func alwaysFailing(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`<Response><Errors><Error><Code>InternalError</Code><Message>oops</Message></Error></Errors><RequestID>x</RequestID></Response>`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestRetryQuotaExhaustedCountsAsThrottling: when the SDK stops retrying because its retry
// budget is used up, lbsg classifies the call as throttled (so it is requeued with
// back-off like a throttled call) and counts it in lbsg_aws_api_throttled_total; a 5xx
// that was merely not retried is not throttling.
func TestRetryQuotaExhaustedCountsAsThrottling(t *testing.T) {
	reg := prometheus.NewRegistry()
	cfg := testConfig(alwaysFailing(t).URL)
	cfg.Retryer = func() aws.Retryer {
		return retryerWithoutBackoff(retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 5
			// A budget of one retry: the second failure finds it empty.
			o.RateLimiter = ratelimit.NewTokenRateLimit(5)
			o.RetryCost = 5
		}))
	}
	c := NewFromConfig(cfg, Options{Registerer: reg})
	_, err := c.EC2.DescribeVpcs(context.Background(), &ec2.DescribeVpcsInput{})
	if err == nil {
		t.Fatal("want an error")
	}
	if !IsRetryQuotaExceeded(err) || !IsThrottling(err) {
		t.Errorf("IsRetryQuotaExceeded=%v IsThrottling=%v for %v; want both true", IsRetryQuotaExceeded(err), IsThrottling(err), err)
	}
	if got := ErrorCode(err); got != "InternalError" {
		t.Errorf("ErrorCode = %q; the last attempt's AWS code must stay readable", got)
	}
	if got := c.Calls.Snapshot()[CallKey{ServiceEC2, "DescribeVpcs", "InternalError"}]; got != 2 {
		t.Errorf("attempts counted: %d, want 2 (one try, one retry)", got)
	}
	if got := labelled(t, reg, "lbsg_aws_api_throttled_total", "action", "reason")["DescribeVpcs|retry_quota"][0]; got != 1 {
		t.Errorf("lbsg_aws_api_throttled_total{reason=retry_quota} = %v, want 1", got)
	}

	plain := NewFromConfig(testConfig(alwaysFailing(t).URL), Options{})
	_, err = plain.EC2.DescribeVpcs(context.Background(), &ec2.DescribeVpcsInput{})
	if err == nil || IsThrottling(err) || IsRetryQuotaExceeded(err) {
		t.Errorf("a 500 without retries: %v classified as throttling", err)
	}
}
