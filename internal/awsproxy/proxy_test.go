package awsproxy

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// backend answers the few calls the tests make with minimal valid documents; it stands
// for the emulator, whose answers do not matter here: the proxy's own are under test.
func backend(t *testing.T) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		w.Header().Set("Content-Type", "text/xml")
		switch a := r.Form.Get("Action"); a {
		case "DescribeLoadBalancers":
			_, _ = w.Write([]byte(`<DescribeLoadBalancersResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><DescribeLoadBalancersResult><LoadBalancers/></DescribeLoadBalancersResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeLoadBalancersResponse>`))
		case "DeleteLoadBalancer":
			_, _ = w.Write([]byte(`<DeleteLoadBalancerResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><DeleteLoadBalancerResult/><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DeleteLoadBalancerResponse>`))
		default:
			_, _ = w.Write([]byte(`<` + a + `Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><return>true</return></` + a + `Response>`))
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// clients returns SDK clients that go through a proxy to a backend and never retry, so
// that every injected error reaches the caller.
func clients(t *testing.T, f Faults) (*Proxy, *ec2.Client, *elbv2.Client) {
	t.Helper()
	p, err := Start(backend(t).URL, f)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	cfg := aws.Config{
		Region:       "us-west-2",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(p.URL),
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
	}
	return p, ec2.NewFromConfig(cfg), elbv2.NewFromConfig(cfg)
}

func describeSGs(e *ec2.Client) error {
	_, err := e.DescribeSecurityGroups(context.Background(), &ec2.DescribeSecurityGroupsInput{})
	return err
}

func describeLBs(l *elbv2.Client) error {
	_, err := l.DescribeLoadBalancers(context.Background(), &elbv2.DescribeLoadBalancersInput{})
	return err
}

func deleteSG(e *ec2.Client, id string) error {
	_, err := e.DeleteSecurityGroup(context.Background(), &ec2.DeleteSecurityGroupInput{GroupId: aws.String(id)})
	return err
}

// seen is an error as the SDK's caller and its retryer see it.
type seen struct {
	code      string
	status    int
	retryable bool
	throttle  bool
}

func classify(t *testing.T, err error) seen {
	t.Helper()
	if err == nil {
		t.Fatal("want an error, got none")
	}
	var api smithy.APIError
	if !errors.As(err, &api) {
		t.Fatalf("want an AWS API error, got %T: %v", err, err)
	}
	s := seen{code: api.ErrorCode()}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		s.status = re.HTTPStatusCode()
	}
	s.retryable = retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary
	s.throttle = retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) == aws.TrueTernary
	return s
}

func TestThrottlingReachesTheSDKInEachServicesShape(t *testing.T) {
	p, e, l := clients(t, Faults{Throttle: 1})
	if got, want := classify(t, describeSGs(e)), (seen{"RequestLimitExceeded", 503, true, true}); got != want {
		t.Errorf("EC2: got %+v, want %+v", got, want)
	}
	if got, want := classify(t, describeLBs(l)), (seen{"Throttling", 400, true, true}); got != want {
		t.Errorf("ELBv2: got %+v, want %+v", got, want)
	}
	s := p.Snapshot()
	want := Counts{{ServiceEC2, "DescribeSecurityGroups"}: 1, {ServiceELBV2, "DescribeLoadBalancers"}: 1}
	if s.Calls.String() != want.String() || s.Injected[FaultThrottle].String() != want.String() {
		t.Errorf("counts: calls\n%s injected throttles\n%s want both\n%s", s.Calls, s.Injected[FaultThrottle], want)
	}
}

func TestServerErrorsReachTheSDKAsRetryableNotThrottling(t *testing.T) {
	p, e, l := clients(t, Faults{ServerError: 1, Seed: 7})
	got := map[seen]int{}
	for i := 0; i < 40; i++ {
		got[classify(t, describeSGs(e))]++
		got[classify(t, describeLBs(l))]++
	}
	for _, want := range []seen{
		{"InternalError", 500, true, false},
		{"ServiceUnavailable", 503, true, false},
		{"InternalFailure", 500, true, false},
	} {
		if got[want] == 0 {
			t.Errorf("never saw %+v; saw %v", want, got)
		}
	}
	if len(got) != 3 {
		t.Errorf("want exactly those 3 kinds of error (ServiceUnavailable is both services'), saw %v", got)
	}
	s := p.Snapshot()
	if n := s.Injected[FaultInternalError].Total() + s.Injected[FaultServiceUnavailable].Total(); n != 80 || s.Calls.Total() != 80 {
		t.Errorf("want 80 calls, all injected server errors; got %d calls, %d injected", s.Calls.Total(), n)
	}
}

func TestDependencyViolationOnTheFirstDeletesOfEachSG(t *testing.T) {
	p, e, _ := clients(t, Faults{DependencyViolations: 2})
	for _, id := range []string{"sg-1", "sg-2"} {
		for i := 0; i < 2; i++ {
			err := deleteSG(e, id)
			if got, want := classify(t, err), (seen{"DependencyViolation", 400, false, false}); got != want {
				t.Fatalf("delete %d of %s: got %+v, want %+v", i+1, id, got, want)
			}
			if !strings.Contains(err.Error(), id) {
				t.Errorf("the error should name %s: %v", id, err)
			}
		}
		if err := deleteSG(e, id); err != nil {
			t.Fatalf("third delete of %s should reach the backend: %v", id, err)
		}
	}
	if err := describeSGs(e); err != nil {
		t.Fatalf("other actions must not fail: %v", err)
	}
	s := p.Snapshot()
	if got := s.Injected[FaultDependencyViolation][Key{ServiceEC2, "DeleteSecurityGroup"}]; got != 4 {
		t.Errorf("injected dependency violations: %d, want 4", got)
	}
	if got := s.Calls.Mutating(); got != 6 {
		t.Errorf("mutating calls: %d, want 6", got)
	}
}

func TestDependencyViolationsCountOnlyDeletesThatWerentThrottled(t *testing.T) {
	p, e, _ := clients(t, Faults{DependencyViolations: 1})
	// A throttled delete did not reach EC2, so it must not use up the violations.
	if err := p.SetFaults(Faults{DependencyViolations: 1, Throttle: 1}); err != nil {
		t.Fatal(err)
	}
	if got := classify(t, deleteSG(e, "sg-1")).code; got != "RequestLimitExceeded" {
		t.Fatalf("got %s, want RequestLimitExceeded", got)
	}
	p.mu.Lock()
	p.faults.Throttle = 0 // keep the per-SG count SetFaults would reset
	p.mu.Unlock()
	if got := classify(t, deleteSG(e, "sg-1")).code; got != "DependencyViolation" {
		t.Fatalf("got %s, want DependencyViolation", got)
	}
	if err := deleteSG(e, "sg-1"); err != nil {
		t.Fatal(err)
	}
}

func TestCountsByServiceActionAndMutating(t *testing.T) {
	p, e, l := clients(t, Faults{})
	for i := 0; i < 3; i++ {
		if err := describeSGs(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := describeLBs(l); err != nil {
		t.Fatal(err)
	}
	if _, err := l.DeleteLoadBalancer(context.Background(), &elbv2.DeleteLoadBalancerInput{LoadBalancerArn: aws.String("arn")}); err != nil {
		t.Fatal(err)
	}
	if err := deleteSG(e, "sg-1"); err != nil {
		t.Fatal(err)
	}
	before := p.Snapshot()
	want := Counts{
		{ServiceEC2, "DescribeSecurityGroups"}:  3,
		{ServiceEC2, "DeleteSecurityGroup"}:     1,
		{ServiceELBV2, "DescribeLoadBalancers"}: 1,
		{ServiceELBV2, "DeleteLoadBalancer"}:    1,
	}
	if before.Calls.String() != want.String() {
		t.Errorf("calls:\n%s want:\n%s", before.Calls, want)
	}
	if before.Calls.Mutating() != 2 || before.Calls.Total() != 6 || before.InjectedTotal() != 0 {
		t.Errorf("mutating %d total %d injected %d, want 2 6 0", before.Calls.Mutating(), before.Calls.Total(), before.InjectedTotal())
	}
	if got := before.Calls.Service(ServiceELBV2).Total(); got != 2 {
		t.Errorf("ELBv2 calls %d, want 2", got)
	}
	if err := describeSGs(e); err != nil {
		t.Fatal(err)
	}
	if d := p.Snapshot().Sub(before); d.Calls.String() != "EC2 DescribeSecurityGroups 1\n" {
		t.Errorf("difference: %q", d.Calls)
	}
	p.Reset()
	if s := p.Snapshot(); s.Calls.Total() != 0 || s.InjectedTotal() != 0 {
		t.Errorf("after Reset: %v", s)
	}
}

func TestEmulatorControlAPIIsNotCounted(t *testing.T) {
	p, _, _ := clients(t, Faults{Throttle: 1})
	resp, err := http.Post(p.URL+"/moto-api/reset", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("status %d, want the backend's 200", resp.StatusCode)
	}
	if n := p.Snapshot().Calls.Total(); n != 0 {
		t.Errorf("counted %d calls", n)
	}
}

// faultSequence returns, call by call, which of n calls of each of two actions failed.
func faultSequence(t *testing.T, f Faults, n int) string {
	t.Helper()
	_, e, l := clients(t, f)
	var b strings.Builder
	for i := 0; i < n; i++ {
		for _, err := range []error{describeSGs(e), describeLBs(l)} {
			var api smithy.APIError
			switch {
			case err == nil:
				b.WriteByte('.')
			case errors.As(err, &api):
				b.WriteString(api.ErrorCode()[:1])
			default:
				t.Fatal(err)
			}
		}
	}
	return b.String()
}

func TestSameSeedSameFaults(t *testing.T) {
	f := Faults{Seed: 42, Throttle: 0.25, ServerError: 0.05}
	a, b := faultSequence(t, f, 100), faultSequence(t, f, 100)
	if a != b {
		t.Fatalf("same seed, different faults:\n%s\n%s", a, b)
	}
	f.Seed = 43
	if c := faultSequence(t, f, 100); c == a {
		t.Errorf("another seed gave the same 200 outcomes: %s", c)
	}
	// The rates are respected over many calls: 25 % of 200 is 50; a draw this far off
	// would mean the fault draw is broken, not unlucky (the seed is fixed).
	if n := strings.Count(a, "R") + strings.Count(a, "T"); n < 30 || n > 70 {
		t.Errorf("%d throttles in 200 calls at 25 %%: %s", n, a)
	}
}

func TestStartListensOnLoopbackOnly(t *testing.T) {
	p, _, _ := clients(t, Faults{})
	u, err := url.Parse(p.URL)
	if err != nil {
		t.Fatal(err)
	}
	if u.Hostname() != "127.0.0.1" {
		t.Errorf("listening on %s", u.Host)
	}
}

func TestBadFaultsAreRefused(t *testing.T) {
	for _, f := range []Faults{{Throttle: -0.1}, {ServerError: 1.5}, {Throttle: 0.6, ServerError: 0.6}, {Latency: -1}, {DependencyViolations: -1}} {
		if _, err := New("http://127.0.0.1:1", f); err == nil {
			t.Errorf("%+v accepted", f)
		}
	}
	if _, err := New("127.0.0.1:1", Faults{}); err == nil {
		t.Error("a target without a scheme was accepted")
	}
}

// TestFaultsOfAnActionDoNotDependOnOtherActionsTiming: calls of different actions made
// concurrently see, action by action, the same faults as when made one after another.
func TestFaultsOfAnActionDoNotDependOnOtherActionsTiming(t *testing.T) {
	f := Faults{Seed: 3, Throttle: 0.3, ServerError: 0.1}
	seq := func(concurrent bool) [2]string {
		_, e, l := clients(t, f)
		var out [2]string
		calls := [2]func() error{func() error { return describeSGs(e) }, func() error { return describeLBs(l) }}
		run := func(i int) {
			var b strings.Builder
			for n := 0; n < 60; n++ {
				var api smithy.APIError
				if err := calls[i](); errors.As(err, &api) {
					b.WriteString(api.ErrorCode()[:1])
				} else if err != nil {
					b.WriteString("?") // not an AWS error: fails the comparison
				} else {
					b.WriteByte('.')
				}
			}
			out[i] = b.String()
		}
		if !concurrent {
			run(0)
			run(1)
			return out
		}
		done := make(chan struct{})
		go func() { run(1); close(done) }()
		run(0)
		<-done
		return out
	}
	if a, b := seq(false), seq(true); a != b {
		t.Errorf("sequential %v, concurrent %v", a, b)
	}
}
