package cloud

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
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

// bucket is one of AWS's published request-rate token buckets.
type bucket struct{ refill, size float64 }

var (
	// EC2, "Request throttling for the Amazon EC2 API", request token bucket sizes and
	// refill rates.
	ec2NonMutating       = bucket{20, 100}
	ec2Mutating          = bucket{5, 50}
	ec2ResourceIntensive = bucket{5, 50}
	ec2Tags              = bucket{10, 100} // CreateTags and DeleteTags, uncategorized
	// ELBv2, "Request throttling for the Elastic Load Balancing API": every action also
	// draws on the account-level bucket, which has the non-mutating actions' size and rate.
	elbAccount           = bucket{10, 40}
	elbRegistration      = bucket{4, 20}
	elbResourceIntensive = bucket{0.2, 10}
	elbMutating          = bucket{3, 20}
)

// awsPublished lists every action lbsg calls with the buckets AWS charges it to.
var awsPublished = []struct {
	service string
	actions []string
	buckets []bucket
}{
	{ServiceEC2, []string{"DescribeSecurityGroups", "DescribeInstances", "DescribeNetworkInterfaces", "DescribeVpcs",
		"DescribeSubnets"}, []bucket{ec2NonMutating}},
	{ServiceEC2, []string{"CreateSecurityGroup", "DeleteSecurityGroup"}, []bucket{ec2Mutating}},
	{ServiceEC2, []string{"AuthorizeSecurityGroupIngress", "RevokeSecurityGroupIngress"}, []bucket{ec2ResourceIntensive}},
	{ServiceEC2, []string{"CreateTags", "DeleteTags"}, []bucket{ec2Tags}},
	{ServiceELBV2, []string{"DescribeLoadBalancers", "DescribeTargetGroups", "DescribeListeners", "DescribeListenerCertificates",
		"DescribeListenerAttributes", "DescribeTags", "DescribeTargetHealth", "DescribeRules", "DescribeLoadBalancerAttributes",
		"DescribeTargetGroupAttributes"}, []bucket{elbAccount}},
	{ServiceELBV2, []string{"RegisterTargets", "DeregisterTargets"}, []bucket{elbAccount, elbRegistration}},
	{ServiceELBV2, []string{"CreateLoadBalancer", "SetSubnets"}, []bucket{elbAccount, elbResourceIntensive}},
	{ServiceELBV2, []string{"AddListenerCertificates", "AddTags", "CreateListener", "CreateRule", "CreateTargetGroup",
		"DeleteListener", "DeleteLoadBalancer", "DeleteRule", "DeleteTargetGroup", "ModifyListener", "ModifyListenerAttributes",
		"ModifyLoadBalancerAttributes", "ModifyRule", "ModifyTargetGroup", "ModifyTargetGroupAttributes",
		"RemoveListenerCertificates", "RemoveTags", "SetIpAddressType", "SetRulePriorities", "SetSecurityGroups"},
		[]bucket{elbAccount, elbMutating}},
}

// TestDefaultThrottleIsAWSPublishedBuckets: each action lbsg calls takes a token from
// exactly the buckets AWS charges it to, each at AWS's size and refill rate: never below
// (which only slows lbsg down), never above or missing (which lets AWS throttle it).
func TestDefaultThrottleIsAWSPublishedBuckets(t *testing.T) {
	def := DefaultThrottle()
	// EC2 throttles each API on its own: no default rule may hold two EC2 actions.
	for _, r := range def {
		if r.Service != ServiceEC2 {
			continue
		}
		n := 0
		for _, b := range awsPublished {
			for _, a := range b.actions {
				if b.service == ServiceEC2 && r.Operation.MatchString(a) {
					n++
				}
			}
		}
		if n != 1 {
			t.Errorf("EC2 rule %s matches %d actions lbsg calls: AWS gives each EC2 API a bucket of its own", r, n)
		}
	}
	for _, b := range awsPublished {
		for _, a := range b.actions {
			var got []bucket
			for _, r := range def {
				if r.Service == b.service && r.Operation.MatchString(a) {
					got = append(got, bucket{r.Rate, float64(r.Burst)})
				}
			}
			if !reflect.DeepEqual(got, b.buckets) {
				t.Errorf("%s %s: default buckets %v, want AWS's %v", b.service, a, got, b.buckets)
			}
		}
	}
}

func TestThrottleBound(t *testing.T) {
	th := Throttle{
		throttleRule(ServiceEC2, "^Describe", 20, 100),
		throttleRule(ServiceEC2, "^(Authorize|Revoke)SecurityGroupIngress$", 5, 50),
		throttleRule(ServiceELBV2, ".*", 10, 40),
		throttleRule(ServiceELBV2, "^CreateLoadBalancer$", 0.2, 10),
	}
	ec2 := func(a string, n int) CallCount { return CallCount{Service: ServiceEC2, Action: a, N: n} }
	elb := func(a string, n int) CallCount { return CallCount{Service: ServiceELBV2, Action: a, N: n} }
	tests := []struct {
		name  string
		calls []CallCount
		want  time.Duration
		by    string // the rule that sets the bound, "" when none holds a call back
	}{
		{"no calls", nil, 0, ""},
		{"within every burst", []CallCount{ec2("DescribeVpcs", 100), elb("CreateLoadBalancer", 10)}, 0, ""},
		{"one over a burst waits one refill", []CallCount{ec2("DescribeVpcs", 101)}, 50 * time.Millisecond, "EC2:^Describe=20:100"},
		{"a bucket counts every action it matches", []CallCount{ec2("AuthorizeSecurityGroupIngress", 40), ec2("RevokeSecurityGroupIngress", 20)},
			2 * time.Second, "EC2:^(Authorize|Revoke)SecurityGroupIngress$=5:50"},
		{"calls no rule matches are free", []CallCount{ec2("CreateSecurityGroup", 1000)}, 0, ""},
		{"another service's rule never applies", []CallCount{{Service: ServiceELBV2, Action: "DescribeVpcs", N: 140}},
			10 * time.Second, "Elastic Load Balancing v2:.*=10:40"},
		{"a call waits on every rule it matches: the slowest bucket sets the bound",
			[]CallCount{elb("CreateLoadBalancer", 100), elb("CreateListener", 100), elb("DescribeLoadBalancers", 101)},
			450 * time.Second, "Elastic Load Balancing v2:^CreateLoadBalancer$=0.2:10"},
		{"the shared bucket can be the slowest", []CallCount{elb("CreateLoadBalancer", 10), elb("DescribeTags", 430)},
			40 * time.Second, "Elastic Load Balancing v2:.*=10:40"},
		{"zero and negative counts are nothing", []CallCount{ec2("DescribeVpcs", 0), ec2("DescribeVpcs", -5)}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, by, ok := th.Bound(tt.calls)
			if got != tt.want {
				t.Errorf("Bound = %s, want %s", got, tt.want)
			}
			gotBy := ""
			if ok {
				gotBy = by.Rule.String()
			}
			if gotBy != tt.by {
				t.Errorf("set by %q, want %q", gotBy, tt.by)
			}
		})
	}
}

// TestThrottleBuckets: each matched rule with its calls and time, in the rules' order.
func TestThrottleBuckets(t *testing.T) {
	th := Throttle{
		throttleRule(ServiceELBV2, ".*", 10, 40),
		throttleRule(ServiceELBV2, "^(RegisterTargets|DeregisterTargets)$", 4, 20),
		throttleRule(ServiceELBV2, "^Modify", 3, 20),
	}
	got := th.Buckets([]CallCount{
		{Service: ServiceELBV2, Action: "RegisterTargets", N: 30},
		{Service: ServiceELBV2, Action: "DeregisterTargets", N: 10},
		{Service: ServiceELBV2, Action: "DescribeTargetHealth", N: 20},
	})
	want := []string{"Elastic Load Balancing v2:.*=10:40 60 2s", "Elastic Load Balancing v2:^(RegisterTargets|DeregisterTargets)$=4:20 40 5s"}
	var s []string
	for _, b := range got {
		s = append(s, fmt.Sprintf("%s %d %s", b.Rule, b.Calls, b.Time))
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("Buckets =\n%v\nwant\n%v", s, want)
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
