package cloud

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/go-logr/logr/funcr"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/lbsg/lbsg/internal/audit"
)

// fakeEC2 answers DescribeVpcs and CreateSecurityGroup, refuses DeleteSecurityGroup with
// InvalidGroup.NotFound and throttles everything else.
func fakeEC2(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		w.Header().Set("Content-Type", "text/xml")
		switch r.Form.Get("Action") {
		case "DescribeVpcs":
			_, _ = w.Write([]byte(`<DescribeVpcsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><vpcSet/></DescribeVpcsResponse>`))
		case "CreateSecurityGroup":
			_, _ = w.Write([]byte(`<CreateSecurityGroupResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><groupId>sg-new</groupId></CreateSecurityGroupResponse>`))
		case "DeleteSecurityGroup":
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`<Response><Errors><Error><Code>InvalidGroup.NotFound</Code><Message>nope</Message></Error></Errors><RequestID>x</RequestID></Response>`))
		default:
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>slow down</Message></Error></Errors><RequestID>x</RequestID></Response>`))
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// labelled gathers the series of one metric family, keyed by the values of labels
// (joined by "|"): the counter's value, or a histogram's sample count and sum.
func labelled(t *testing.T, reg prometheus.Gatherer, name string, labels ...string) map[string][2]float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][2]float64{}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			out[seriesKey(m, labels)] = seriesValue(m)
		}
	}
	return out
}

func seriesKey(m *dto.Metric, labels []string) string {
	byName := map[string]string{}
	for _, l := range m.GetLabel() {
		byName[l.GetName()] = l.GetValue()
	}
	vals := make([]string, len(labels))
	for i, n := range labels {
		vals[i] = byName[n]
	}
	return strings.Join(vals, "|")
}

func seriesValue(m *dto.Metric) [2]float64 {
	if h := m.GetHistogram(); h != nil {
		return [2]float64{float64(h.GetSampleCount()), h.GetSampleSum()}
	}
	return [2]float64{m.GetCounter().GetValue(), 0}
}

func TestUpstreamAWSMetricsHaveUpstreamNamesAndLabels(t *testing.T) {
	srv := fakeEC2(t)
	reg := prometheus.NewPedanticRegistry()
	cfg := aws.Config{Region: "us-west-2", Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")}
	c := NewFromConfig(cfg, Options{Endpoints: map[string]string{ServiceEC2: srv.URL}, MaxAttempts: 3, Registerer: reg})
	ctx := context.Background()
	if _, err := c.EC2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{}); err != nil {
		t.Fatal(err)
	}
	_, _ = c.EC2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String("sg-1")})
	_, _ = c.EC2.CreateTags(ctx, &ec2.CreateTagsInput{Resources: []string{"sg-1"}, Tags: sdkTags(map[string]string{"a": "b"})}, func(o *ec2.Options) {
		o.Retryer = retryerWithoutBackoff(o.Retryer)
	})

	calls := labelled(t, reg, "aws_api_calls_total", "service", "operation", "status_code", "error_code")
	want := map[string][2]float64{
		"EC2|DescribeVpcs|200|":                             {1, 0},
		"EC2|DeleteSecurityGroup|400|InvalidGroup.NotFound": {1, 0},
		"EC2|CreateTags|503|RequestLimitExceeded":           {1, 0}, // one operation, three attempts
	}
	if diff := cmp.Diff(want, calls); diff != "" {
		t.Errorf("aws_api_calls_total (-want +got):\n%s", diff)
	}
	retries := labelled(t, reg, "aws_api_call_retries", "service", "operation")
	if got := retries["EC2|CreateTags"]; got != [2]float64{1, 2} {
		t.Errorf("aws_api_call_retries{CreateTags} count,sum = %v, want 1 operation retried 2 times", got)
	}
	if got := retries["EC2|DescribeVpcs"]; got != [2]float64{1, 0} {
		t.Errorf("aws_api_call_retries{DescribeVpcs} count,sum = %v, want 1,0", got)
	}
	if n := len(labelled(t, reg, "aws_api_call_duration_seconds", "service", "operation")); n != 3 {
		t.Errorf("aws_api_call_duration_seconds has %d series, want 3", n)
	}
	requests := labelled(t, reg, "aws_api_requests_total", "operation", "error_code")
	if got := requests["CreateTags|RequestLimitExceeded"]; got[0] != 3 {
		t.Errorf("aws_api_requests_total{CreateTags} = %v, want 3 attempts", got[0])
	}
}

func TestAuditLineForEveryWriteCarriesActionResourceObjectOutcome(t *testing.T) {
	srv := fakeEC2(t)
	var lines []string
	logger := funcr.New(func(prefix, args string) { lines = append(lines, args) }, funcr.Options{})
	cfg := aws.Config{Region: "us-west-2", Credentials: credentials.NewStaticCredentialsProvider("a", "b", "")}
	c := NewFromConfig(cfg, Options{Endpoints: map[string]string{ServiceEC2: srv.URL}, MaxAttempts: 1, AuditLog: logger})
	ctx := audit.WithObject(context.Background(), "Service default/web")
	if _, err := c.EC2.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.EC2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("k8s-default-web"), Description: aws.String("d")}); err != nil {
		t.Fatal(err)
	}
	_, _ = c.EC2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String("sg-1")})
	_, _ = c.EC2.CreateTags(context.Background(), &ec2.CreateTagsInput{Resources: []string{"sg-1", "sg-2"}, Tags: sdkTags(map[string]string{"a": "b"})})

	want := []string{
		`"level"=0 "msg"="aws write" "action"="CreateSecurityGroup" "service"="EC2" "resource"="sg-new" "object"="Service default/web" "outcome"="ok"`,
		`"level"=0 "msg"="aws write" "action"="DeleteSecurityGroup" "service"="EC2" "resource"="sg-1" "object"="Service default/web" "outcome"="InvalidGroup.NotFound"`,
		`"level"=0 "msg"="aws write" "action"="CreateTags" "service"="EC2" "resource"="sg-1,sg-2" "object"="none" "outcome"="RequestLimitExceeded"`,
	}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("audit lines (-want +got); reads must not be logged, every write once:\n%s", diff)
	}
}
