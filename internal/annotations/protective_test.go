package annotations

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestProtectiveIngressKeys: every upstream setting that protects traffic is found, unless
// its value asks for no protection; nothing else is.
func TestProtectiveIngressKeys(t *testing.T) {
	p := func(k string) string { return IngressPrefix + k }
	tests := []struct {
		name string
		ann  map[string]string
		want []string
	}{
		{"cognito", map[string]string{p("auth-type"): "cognito", p("auth-idp-cognito"): "{}"}, []string{p("auth-idp-cognito"), p("auth-type")}},
		{"oidc", map[string]string{p("auth-type"): "oidc"}, []string{p("auth-type")}},
		{"auth-type none, with idp settings", map[string]string{p("auth-type"): "none", p("auth-idp-oidc"): "{}", p("auth-scope"): "openid"}, nil},
		{"an auth key without auth-type", map[string]string{p("auth-on-unauthenticated-request"): "deny"}, []string{p("auth-on-unauthenticated-request")}},
		{"any auth-* key", map[string]string{p("auth-something-new"): "x"}, []string{p("auth-something-new")}},
		{"jwt", map[string]string{p("jwt-validation"): "{}"}, []string{p("jwt-validation")}},
		{"wafv2", map[string]string{p("wafv2-acl-arn"): "arn:aws:wafv2:us-west-2:1:regional/webacl/x/y"}, []string{p("wafv2-acl-arn")}},
		{"wafv2 none", map[string]string{p("wafv2-acl-arn"): "none"}, nil},
		{"wafv2 by name", map[string]string{p("wafv2-acl-name"): "corp"}, []string{p("wafv2-acl-name")}},
		{"waf classic", map[string]string{p("waf-acl-id"): "abc", p("web-acl-id"): "abc"}, []string{p("waf-acl-id"), p("web-acl-id")}},
		{"shield", map[string]string{p("shield-advanced-protection"): "true"}, []string{p("shield-advanced-protection")}},
		{"shield off", map[string]string{p("shield-advanced-protection"): "false"}, nil},
		{"empty value is no opt-out", map[string]string{p("wafv2-acl-arn"): ""}, []string{p("wafv2-acl-arn")}},
		{"mtls", map[string]string{p("mutual-authentication"): `[{"port":443,"mode":"verify"}]`}, []string{p("mutual-authentication")}},
		{"other keys", map[string]string{p("scheme"): "internal", p("ssl-redirect"): "443", "auth-type": "cognito"}, nil},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, ProtectiveIngressKeys(tt.ann)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestProtectiveKeysAreNotReportedAsUnsupported(t *testing.T) {
	ann := map[string]string{IngressPrefix + "auth-type": "cognito", IngressPrefix + "waf-acl-id": "none"}
	// waf-acl-id: none asks lbsg to remove a WAF, which it does not do: unsupported, not refused.
	if diff := cmp.Diff([]string{IngressPrefix + "waf-acl-id"}, UnsupportedIngressKeys(ann)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	msg := ProtectiveError(IngressPrefix+"auth-type", "cognito", "the Ingress").Error()
	for _, want := range []string{"alb.ingress.kubernetes.io/auth-type", `"cognito"`, "fail open", "fix: "} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q lacks %q", msg, want)
		}
	}
}
