package cloud

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
)

func TestCounts(t *testing.T) {
	k := func(action, outcome string) CallKey { return CallKey{Service: "EC2", Action: action, Outcome: outcome} }
	before := Counts{k("DescribeSecurityGroups", "ok"): 2, k("CreateTags", "ok"): 1}
	after := Counts{
		k("DescribeSecurityGroups", "ok"):                                         5,
		k("CreateTags", "ok"):                                                     1,
		k("AuthorizeSecurityGroupIngress", "InvalidPermission.Duplicate"):         1,
		k("AuthorizeSecurityGroupIngress", "ok"):                                  2,
		{Service: "Elastic Load Balancing v2", Action: "ListTags", Outcome: "ok"}: 1,
	}
	d := after.Sub(before)
	want := Counts{
		k("DescribeSecurityGroups", "ok"):                                         3,
		k("AuthorizeSecurityGroupIngress", "InvalidPermission.Duplicate"):         1,
		k("AuthorizeSecurityGroupIngress", "ok"):                                  2,
		{Service: "Elastic Load Balancing v2", Action: "ListTags", Outcome: "ok"}: 1,
	}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Errorf("Sub (-want +got):\n%s", diff)
	}
	if got := d.Total(); got != 7 {
		t.Errorf("Total = %d, want 7", got)
	}
	if diff := cmp.Diff(map[string]int{"AuthorizeSecurityGroupIngress": 3}, d.Mutating()); diff != "" {
		t.Errorf("Mutating (-want +got):\n%s", diff)
	}
	wantStr := "EC2 AuthorizeSecurityGroupIngress InvalidPermission.Duplicate 1\n" +
		"EC2 AuthorizeSecurityGroupIngress ok 2\n" +
		"EC2 DescribeSecurityGroups ok 3\n" +
		"Elastic Load Balancing v2 ListTags ok 1\n"
	if got := d.String(); got != wantStr {
		t.Errorf("String =\n%s\nwant\n%s", got, wantStr)
	}
	if len(Counts{}.Sub(Counts{})) != 0 || (Counts{}).Total() != 0 {
		t.Error("empty counts")
	}
}

func TestIsReadOnlyAction(t *testing.T) {
	for a, want := range map[string]bool{
		"DescribeSecurityGroups": true, "GetSecurityGroupsForVpc": true, "ListTags": true,
		"CreateTags": false, "AuthorizeSecurityGroupIngress": false, "DeleteSecurityGroup": false,
		"RevokeSecurityGroupIngress": false, "SetSecurityGroups": false, "ModifyListener": false,
	} {
		if got := IsReadOnlyAction(a); got != want {
			t.Errorf("IsReadOnlyAction(%q) = %v, want %v", a, got, want)
		}
	}
}

// TestCallsMiddleware drives a real EC2 client against a local HTTP server and checks that
// each attempt is counted with its outcome, in memory and in Prometheus.
func TestCallsMiddleware(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		switch r.Form.Get("Action") {
		case "DescribeVpcs":
			w.Header().Set("Content-Type", "text/xml")
			_, _ = w.Write([]byte(`<DescribeVpcsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><vpcSet/></DescribeVpcsResponse>`))
		case "DeleteSecurityGroup":
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`<Response><Errors><Error><Code>InvalidGroup.NotFound</Code><Message>nope</Message></Error></Errors><RequestID>x</RequestID></Response>`))
		default: // throttled
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>slow down</Message></Error></Errors><RequestID>x</RequestID></Response>`))
		}
	}))
	defer srv.Close()

	reg := prometheus.NewPedanticRegistry()
	cfg := aws.Config{Region: "us-west-2", Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")}
	c := NewFromConfig(cfg, Options{Endpoints: map[string]string{ServiceEC2: srv.URL}, MaxAttempts: 2, Registerer: reg})
	// A second Clients on the same registry reuses the collectors instead of failing.
	_ = NewFromConfig(cfg, Options{Registerer: reg})

	ctx := context.Background()
	if _, err := c.EC2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{}); err != nil {
		t.Fatal(err)
	}
	_, err := c.EC2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String("sg-1")})
	if !IsNotFound(err) {
		t.Fatalf("DeleteSecurityGroup: %v, want InvalidGroup.NotFound", err)
	}
	_, err = c.EC2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{"sg-1"}, Tags: sdkTags(map[string]string{"a": "b"})}, func(o *ec2.Options) {
		o.Retryer = retryerWithoutBackoff(o.Retryer)
	})
	if !IsThrottling(err) {
		t.Fatalf("CreateTags: %v, want throttling", err)
	}
	want := Counts{
		{Service: "EC2", Action: "DescribeVpcs", Outcome: "ok"}:                           1,
		{Service: "EC2", Action: "DeleteSecurityGroup", Outcome: "InvalidGroup.NotFound"}: 1,
		{Service: "EC2", Action: "CreateTags", Outcome: "RequestLimitExceeded"}:           2, // two attempts
	}
	if diff := cmp.Diff(want, c.Calls.Snapshot()); diff != "" {
		t.Errorf("Snapshot (-want +got):\n%s", diff)
	}
	gathered := gatherCounters(t, reg, "lbsg_aws_api_calls_total")
	wantProm := map[string]float64{
		"EC2 CreateTags RequestLimitExceeded":           2,
		"EC2 DeleteSecurityGroup InvalidGroup.NotFound": 1,
		"EC2 DescribeVpcs ok":                           1,
	}
	if diff := cmp.Diff(wantProm, gathered); diff != "" {
		t.Errorf("lbsg_aws_api_calls_total (-want +got):\n%s", diff)
	}
	if n := len(gatherCounters(t, reg, "lbsg_aws_api_call_duration_seconds")); n != 3 {
		t.Errorf("lbsg_aws_api_call_duration_seconds has %d series, want 3", n)
	}
}

// retryerWithoutBackoff keeps r's attempts and retry decisions but does not sleep.
func retryerWithoutBackoff(r aws.Retryer) aws.Retryer { return noDelay{r} }

type noDelay struct{ aws.Retryer }

func (noDelay) RetryDelay(int, error) (time.Duration, error) { return 0, nil }

func TestNewValidatesEndpoints(t *testing.T) {
	_, err := New(context.Background(), Options{Region: "us-west-2", Endpoints: map[string]string{ServiceEC2: "localhost:5000"}})
	if err == nil || !strings.Contains(err.Error(), "not an http(s) URL") {
		t.Errorf("New with a bad endpoint: %v", err)
	}
	c, err := New(context.Background(), Options{
		Region: "eu-west-1", VPCID: "vpc-1",
		Credentials: credentials.NewStaticCredentialsProvider("a", "b", ""),
		Endpoints:   map[string]string{ServiceEC2: "http://127.0.0.1:1", ServiceELBV2: "http://127.0.0.1:2", "ACM": "http://127.0.0.1:3"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Region != "eu-west-1" || c.VPCID != "vpc-1" || c.EC2 == nil || c.ELBV2 == nil || c.Calls == nil {
		t.Errorf("clients = %+v", c)
	}
	if got := aws.ToString(c.EC2.Options().BaseEndpoint); got != "http://127.0.0.1:1" {
		t.Errorf("EC2 endpoint = %q", got)
	}
	if got := aws.ToString(c.ELBV2.Options().BaseEndpoint); got != "http://127.0.0.1:2" {
		t.Errorf("ELBv2 endpoint = %q", got)
	}
}

// gatherCounters returns the values of one metric family in reg, keyed by its label values
// in label-name order joined with spaces (for a histogram, the sample count).
func gatherCounters(t *testing.T, reg prometheus.Gatherer, name string) map[string]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			byName := map[string]string{}
			for _, l := range m.GetLabel() {
				byName[l.GetName()] = l.GetValue()
			}
			var key []string
			for _, n := range []string{"service", "cache", "action", "outcome", "result"} {
				if v, ok := byName[n]; ok {
					key = append(key, v)
				}
			}
			v := m.GetCounter().GetValue()
			if h := m.GetHistogram(); h != nil {
				v = float64(h.GetSampleCount())
			}
			out[strings.Join(key, " ")] = v
		}
	}
	return out
}
