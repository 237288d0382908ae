package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseEndpoints(t *testing.T) {
	const moto = "http://127.0.0.1:5000"
	tests := []struct {
		name    string
		in      string
		want    map[string]string
		wantErr []string // substrings, all must appear
	}{
		{"empty", "", map[string]string{}, nil},
		{"upstream syntax, service IDs with spaces",
			"EC2=" + moto + ",Elastic Load Balancing v2=" + moto,
			map[string]string{"EC2": moto, "Elastic Load Balancing v2": moto}, nil},
		{"v1 aliases", "ec2=https://ec2.example.com, elasticloadbalancing=https://elb.example.com/",
			map[string]string{"EC2": "https://ec2.example.com", "Elastic Load Balancing v2": "https://elb.example.com/"}, nil},
		{"elbv2 alias", "elbv2=" + moto, map[string]string{"Elastic Load Balancing v2": moto}, nil},
		{"case-insensitive IDs", "elastic load balancing V2=" + moto, map[string]string{"Elastic Load Balancing v2": moto}, nil},
		{"other upstream services kept", "STS=https://sts.example.com,ACM=https://acm.example.com,WAFV2=https://waf.example.com",
			map[string]string{"STS": "https://sts.example.com", "ACM": "https://acm.example.com", "WAFV2": "https://waf.example.com"}, nil},
		{"URL with query", "EC2=https://ec2.example.com/?a=b", map[string]string{"EC2": "https://ec2.example.com/?a=b"}, nil},
		{"trailing comma and spaces", " EC2 = " + moto + " , ", map[string]string{"EC2": moto}, nil},
		{"missing =", "EC2", nil, []string{`entry "EC2" has no "="`}},
		{"unknown key", "S3=" + moto, nil, []string{`unknown AWS service ID "S3"`}},
		{"relative URL", "EC2=127.0.0.1:5000", nil, []string{`endpoint "127.0.0.1:5000" for EC2 is not an absolute http(s) URL`}},
		{"no scheme", "EC2=ec2.example.com", nil, []string{"not an absolute http(s) URL"}},
		{"wrong scheme", "EC2=ftp://ec2.example.com", nil, []string{"not an absolute http(s) URL"}},
		{"empty URL", "EC2=", nil, []string{"not an absolute http(s) URL"}},
		{"duplicate via alias", "EC2=" + moto + ",ec2=" + moto, nil, []string{`service "EC2" is given more than once`}},
		{"every problem reported", "S3=" + moto + ",EC2=nope,ELB", nil,
			[]string{`unknown AWS service ID "S3"`, `endpoint "nope"`, `entry "ELB" has no "="`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseEndpoints(tc.in)
			if len(tc.wantErr) > 0 {
				if err == nil {
					t.Fatalf("got %v, want an error", got)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestEndpointsFlag(t *testing.T) {
	const moto = "http://127.0.0.1:5000"
	// One argument, as upstream's Helm chart passes it.
	c := mustParse(t, "--cluster-name=c", "--aws-api-endpoints=EC2="+moto+",Elastic Load Balancing v2="+moto)
	want := map[string]string{ServiceEC2: moto, ServiceELBv2: moto}
	if diff := cmp.Diff(want, c.AWSAPIEndpoints); diff != "" {
		t.Errorf("one argument (-want +got):\n%s", diff)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
	// Repeated flags add up; a later entry wins.
	c = mustParse(t, "--aws-api-endpoints", "ec2=http://a:1", "--aws-api-endpoints=elbv2="+moto, "--aws-api-endpoints=EC2="+moto)
	if diff := cmp.Diff(want, c.AWSAPIEndpoints); diff != "" {
		t.Errorf("repeated flags (-want +got):\n%s", diff)
	}
	// A bad value fails the parse with the reason.
	if _, err := parse(t, "--aws-api-endpoints=S3="+moto); err == nil || !strings.Contains(err.Error(), "unknown AWS service ID") {
		t.Errorf("parse error = %v", err)
	}
}

func TestValidateEndpointsMap(t *testing.T) {
	c := mustParse(t, "--cluster-name=c")
	c.AWSAPIEndpoints = map[string]string{"ec2": "http://x:1", "EC2": "nope", "S3": "http://x:1"}
	err := c.Validate()
	if err == nil {
		t.Fatal("want an error")
	}
	for _, w := range []string{`AWS service ID "ec2" must be spelled "EC2"`, `endpoint "nope" for EC2`, `unknown AWS service ID "S3"`} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
}
