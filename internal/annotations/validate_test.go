package annotations

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLongValuesAreShortenedInMessages(t *testing.T) {
	tests := []struct {
		name    string
		err     *Error
		maxLen  int
		wantSub string
	}{
		{"4 KB scheme", &Error{Key: SvcScheme, Value: strings.Repeat("x", 4096), Reason: "r", Fix: "f"}, 200,
			`="` + strings.Repeat("x", 64) + `…": r; fix: f`},
		{"invalid bytes escape", &Error{Key: SvcScheme, Value: strings.Repeat("\xff", 4096), Reason: "r", Fix: "f"}, 200, `…": r; fix: f`},
		{"composite value kept whole", &Error{Key: IngSecurityGroups, Value: "ns/a: [sg-" + strings.Repeat("1", 60) + "] | ns/b: [sg-2]",
			Reason: "conflict", Fix: "f", Composite: true}, 300, "| ns/b: [sg-2]"},
		{"composite value bounded", &Error{Key: IngSecurityGroups, Value: strings.Repeat("y", 4096), Reason: "conflict", Fix: "f", Composite: true}, 500, `…": conflict; fix: f`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			msg := tc.err.Error()
			if len(msg) > tc.maxLen || !strings.Contains(msg, tc.wantSub) || !strings.Contains(msg, tc.err.Key) {
				t.Errorf("message of %d characters: %.300s", len(msg), msg)
			}
		})
	}
	if got := Shorten("short"); got != "short" {
		t.Errorf("Shorten(short) = %q", got)
	}
}

func TestEveryServiceAnnotationRejectsAnEmptyValue(t *testing.T) {
	for _, key := range ServiceKeys {
		_, errs := ParseService(map[string]string{key: " "})
		if len(errs) != 1 || errs[0].Key != key || errs[0].Reason != "the value is empty" {
			t.Errorf("%s: errors %v", key, errs)
		}
	}
}

func TestEveryIngressAnnotationRejectsAnEmptyValue(t *testing.T) {
	for _, key := range append(append([]string(nil), IngressKeys...), BackendKeys...) {
		_, errs := ParseIngress(map[string]string{key: ""})
		if len(errs) != 1 || errs[0].Key != key || errs[0].Reason != "the value is empty" {
			t.Errorf("%s: errors %v", key, errs)
		}
	}
	for _, key := range BackendKeys {
		_, errs := ParseBackend(nil, map[string]string{key: ""})
		if len(errs) != 1 || errs[0].Key != key || errs[0].Reason != "the value is empty (on Service)" {
			t.Errorf("%s on Service: errors %v", key, errs)
		}
	}
}

func TestUnsupportedUpstreamKeysAreListed(t *testing.T) {
	svc := map[string]string{
		SvcScheme: "internal", ServicePrefix + "aws-load-balancer-eip-allocations": "eipalloc-1",
		ServicePrefix + "aws-load-balancer-target-group-attributes.3306": "a=b", ServicePrefix + "not-upstream": "x",
		IngressPrefix + "ssl-redirect": "443", // an Ingress key on a Service is not the Service's business
	}
	want := []string{ServicePrefix + "aws-load-balancer-eip-allocations",
		ServicePrefix + "aws-load-balancer-target-group-attributes.3306"}
	if diff := cmp.Diff(want, UnsupportedServiceKeys(svc)); diff != "" {
		t.Errorf("Service (-want +got):\n%s", diff)
	}
	ing := map[string]string{IngScheme: "internal", IngHealthCheckPath: "/", IngressPrefix + "wafv2-acl-arn": "p",
		IngressPrefix + "actions.x": "{}", IngressPrefix + "transforms.svc": "[]", IngressPrefix + "auth-type": "oidc"}
	// Protective keys are refused, not merely unsupported (ProtectiveIngressKeys).
	want = []string{IngressPrefix + "transforms.svc"}
	if diff := cmp.Diff(want, UnsupportedIngressKeys(ing)); diff != "" {
		t.Errorf("Ingress (-want +got):\n%s", diff)
	}
	for _, k := range ServiceKeys {
		if len(UnsupportedServiceKeys(map[string]string{k: "x"})) != 0 {
			t.Errorf("implemented key %s reported", k)
		}
	}
	msg := UnsupportedMessage(want)
	if !strings.Contains(msg, "neither applies nor reverts") || !strings.Contains(msg, "fix: ") {
		t.Errorf("message %q", msg)
	}
}
