package annotations

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestParseServiceAttrsValid(t *testing.T) {
	tests := []struct {
		name string
		ann  map[string]string
		want ServiceAttrs
	}{
		{"nothing set leaves everything to AWS", nil, ServiceAttrs{}},
		{"health check settings", map[string]string{SvcHealthCheckTimeout: "6", SvcHealthyThreshold: "3", SvcUnhealthyThreshold: "10",
			SvcSuccessCodes: "200-399"}, ServiceAttrs{Health: HealthSettings{Timeout: 6, Healthy: 3, Unhealthy: 10, SuccessCodes: "200-399"}}},
		{"success code list", map[string]string{SvcSuccessCodes: "200,202,300-302"}, ServiceAttrs{Health: HealthSettings{SuccessCodes: "200,202,300-302"}}},
		{"target group attributes reach the map", map[string]string{SvcTargetGroupAttributes: "deregistration_delay.timeout_seconds=30,stickiness.enabled=true"},
			ServiceAttrs{TargetGroup: map[string]string{"deregistration_delay.timeout_seconds": "30", "stickiness.enabled": "true"}}},
		{"proxy protocol star is proxy_protocol_v2", map[string]string{SvcProxyProtocol: "*"},
			ServiceAttrs{TargetGroup: map[string]string{AttrProxyProtocolV2: "true"}}},
		{"proxy protocol agrees with the attribute", map[string]string{SvcProxyProtocol: "*", SvcTargetGroupAttributes: "proxy_protocol_v2.enabled=true"},
			ServiceAttrs{TargetGroup: map[string]string{AttrProxyProtocolV2: "true"}}},
		{"load balancer attributes", map[string]string{SvcAttributes: "deletion_protection.enabled=true,access_logs.s3.enabled=false"},
			ServiceAttrs{LoadBalancer: map[string]string{"deletion_protection.enabled": "true", "access_logs.s3.enabled": "false"}}},
		{"legacy cross zone", map[string]string{SvcCrossZone: "True"}, ServiceAttrs{LoadBalancer: map[string]string{AttrCrossZone: "true"}}},
		{"legacy access logs", map[string]string{SvcAccessLogEnabled: "true", SvcAccessLogBucket: "logs", SvcAccessLogPrefix: "nlb/"},
			ServiceAttrs{LoadBalancer: map[string]string{AttrAccessLogs: "true", AttrAccessLogBucket: "logs", AttrAccessLogPrefix: "nlb/"}}},
		{"listener attributes by protocol and port", map[string]string{SvcListenerAttrsPrefix + "tcp-80": "tcp.idle_timeout.seconds=400"},
			ServiceAttrs{Listeners: map[string]map[string]string{"TCP-80": {"tcp.idle_timeout.seconds": "400"}}}},
		{"preserve client IP is left to the target rules' check", map[string]string{SvcTargetGroupAttributes: "preserve_client_ip.enabled=true"},
			ServiceAttrs{TargetGroup: map[string]string{attrPreserveIP: "true"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, errs := ParseServiceAttrs(tc.ann)
			if len(errs) > 0 {
				t.Fatalf("errors %v", errs)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseServiceAttrsRejectsBadValues(t *testing.T) {
	tests := []struct {
		name, key, value, reason string
	}{
		{"timeout too long", SvcHealthCheckTimeout, "121", "from 2 to 120"},
		{"timeout not a number", SvcHealthCheckTimeout, "6s", "from 2 to 120"},
		{"healthy threshold too high", SvcHealthyThreshold, "11", "from 2 to 10"},
		{"unhealthy threshold too low", SvcUnhealthyThreshold, "1", "from 2 to 10"},
		{"success code out of range", SvcSuccessCodes, "100", "from 200 to 599"},
		{"success codes malformed", SvcSuccessCodes, "200-", "from 200 to 599"},
		{"success code range backwards", SvcSuccessCodes, "399-200", "from 200 to 599"},
		{"proxy protocol other than star", SvcProxyProtocol, "v2", `only "*"`},
		{"attribute bool not true or false", SvcAttributes, "deletion_protection.enabled=yes", "must be true or false"},
		{"attribute seconds not a number", SvcTargetGroupAttributes, "deregistration_delay.timeout_seconds=thirty", "whole number of seconds"},
		{"attribute key not AWS's shape", SvcAttributes, "Deletion Protection=true", "not an attribute key"},
		{"attribute without value", SvcAttributes, "deletion_protection.enabled=", "has no value"},
		{"attribute list malformed", SvcAttributes, "deletion_protection.enabled", `has no "="`},
		{"cross zone not a bool", SvcCrossZone, "yes", "not true or false"},
		{"listener key without port", SvcListenerAttrsPrefix + "TCP", "tcp.idle_timeout.seconds=400", "<PROTOCOL>-<port>"},
		{"listener key port out of range", SvcListenerAttrsPrefix + "TCP-70000", "tcp.idle_timeout.seconds=400", "<PROTOCOL>-<port>"},
		{"listener attributes blank", SvcListenerAttrsPrefix + "TCP-80", " ", "the value is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, errs := ParseServiceAttrs(map[string]string{tc.key: tc.value})
			if len(errs) != 1 || errs[0].Key != tc.key || errs[0].Value != tc.value || !strings.Contains(errs[0].Reason, tc.reason) || errs[0].Fix == "" {
				t.Fatalf("errors %v, want one on %s naming %q with a fix", errs, tc.key, tc.reason)
			}
		})
	}
}

func TestLegacyAttributeKeysConflictingWithTheListAreErrors(t *testing.T) {
	tests := []struct {
		name string
		ann  map[string]string
		key  string
	}{
		{"proxy protocol vs target-group-attributes", map[string]string{SvcProxyProtocol: "*", SvcTargetGroupAttributes: "proxy_protocol_v2.enabled=false"}, SvcProxyProtocol},
		{"cross zone vs attributes", map[string]string{SvcCrossZone: "false", SvcAttributes: "load_balancing.cross_zone.enabled=true"}, SvcCrossZone},
		{"access log bucket vs attributes", map[string]string{SvcAccessLogBucket: "a", SvcAttributes: "access_logs.s3.bucket=b"}, SvcAccessLogBucket},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, errs := ParseServiceAttrs(tc.ann)
			if len(errs) != 1 || errs[0].Key != tc.key || !strings.Contains(errs[0].Fix, "agree") {
				t.Fatalf("errors %v", errs)
			}
		})
	}
}

func TestBlankHealthAndAttributeKeysAreReportedOnce(t *testing.T) {
	for _, key := range []string{SvcHealthCheckTimeout, SvcSuccessCodes, SvcAttributes, SvcProxyProtocol, SvcCrossZone} {
		_, errs := ParseService(map[string]string{key: ""})
		_, more := ParseServiceAttrs(map[string]string{key: ""})
		if len(errs) != 1 || errs[0].Reason != "the value is empty" || len(more) != 0 {
			t.Errorf("%s: ParseService %v, ParseServiceAttrs %v", key, errs, more)
		}
	}
}

func TestParseBackendAttrs(t *testing.T) {
	tests := []struct {
		name     string
		ing, svc map[string]string
		want     BackendAttrs
		errKey   string
		errText  string
	}{
		{name: "nothing set", want: BackendAttrs{}},
		{name: "every health setting on the Ingress",
			ing:  map[string]string{IngHealthCheckInterval: "20", IngHealthCheckTimeout: "8", IngHealthyThreshold: "3", IngUnhealthyThreshold: "5", IngSuccessCodes: "200-299"},
			want: BackendAttrs{Health: HealthSettings{Interval: 20, Timeout: 8, Healthy: 3, Unhealthy: 5, SuccessCodes: "200-299"}}},
		{name: "the Service's value wins", ing: map[string]string{IngSuccessCodes: "200", IngTargetGroupAttributes: "stickiness.enabled=false"},
			svc:  map[string]string{IngSuccessCodes: "204", IngTargetGroupAttributes: "stickiness.enabled=true"},
			want: BackendAttrs{Health: HealthSettings{SuccessCodes: "204"}, TargetGroup: map[string]string{"stickiness.enabled": "true"}}},
		{name: "grpc takes gRPC codes", ing: map[string]string{IngBackendProtocolVersion: "grpc", IngSuccessCodes: "0-12"},
			want: BackendAttrs{ProtocolVersion: "GRPC", Health: HealthSettings{SuccessCodes: "0-12"}}},
		{name: "http2", svc: map[string]string{IngBackendProtocolVersion: "HTTP2"}, want: BackendAttrs{ProtocolVersion: "HTTP2"}},
		{name: "ALB codes stop at 499", ing: map[string]string{IngSuccessCodes: "500"}, errKey: IngSuccessCodes, errText: "from 200 to 499"},
		{name: "gRPC codes stop at 99", ing: map[string]string{IngBackendProtocolVersion: "GRPC", IngSuccessCodes: "200"}, errKey: IngSuccessCodes, errText: "from 0 to 99"},
		{name: "timeout must be shorter than interval", ing: map[string]string{IngHealthCheckInterval: "10", IngHealthCheckTimeout: "10"},
			errKey: IngHealthCheckTimeout, errText: "shorter than its interval"},
		{name: "interval too short", ing: map[string]string{IngHealthCheckInterval: "4"}, errKey: IngHealthCheckInterval, errText: "from 5 to 300"},
		{name: "bad protocol version on the Service says so", svc: map[string]string{IngBackendProtocolVersion: "HTTP3"},
			errKey: IngBackendProtocolVersion, errText: "(on Service)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, errs := ParseBackendAttrs(tc.ing, tc.svc)
			if tc.errKey != "" {
				if len(errs) != 1 || errs[0].Key != tc.errKey || !strings.Contains(errs[0].Reason, tc.errText) {
					t.Fatalf("errors %v, want one on %s with %q", errs, tc.errKey, tc.errText)
				}
				return
			}
			if len(errs) > 0 {
				t.Fatalf("errors %v", errs)
			}
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseIngressAttrs(t *testing.T) {
	got, errs := ParseIngressAttrs(map[string]string{IngLoadBalancerAttributes: "idle_timeout.timeout_seconds=120",
		IngListenerAttrsPrefix + "HTTPS-443": "routing.http.response.server.enabled=false"})
	want := IngressAttrs{LoadBalancer: map[string]string{"idle_timeout.timeout_seconds": "120"},
		Listeners: map[string]map[string]string{"HTTPS-443": {"routing.http.response.server.enabled": "false"}}}
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, errs := ParseIngressAttrs(map[string]string{IngLoadBalancerAttributes: "routing.http2.enabled=maybe"}); len(errs) != 1 ||
		!strings.Contains(errs[0].Error(), "routing.http2.enabled must be true or false") {
		t.Errorf("errors %v", errs)
	}
}

func TestListenerAttributesNoLongerReportedUnsupported(t *testing.T) {
	if keys := UnsupportedServiceKeys(map[string]string{SvcListenerAttrsPrefix + "TCP-80": "x=1", SvcProxyProtocol: "*"}); len(keys) != 0 {
		t.Errorf("Service: %v", keys)
	}
	if keys := UnsupportedIngressKeys(map[string]string{IngListenerAttrsPrefix + "HTTP-80": "x=1", IngSuccessCodes: "200"}); len(keys) != 0 {
		t.Errorf("Ingress: %v", keys)
	}
}
