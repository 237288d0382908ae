package annotations

import (
	"sort"
	"strings"
)

// Upstream annotations that protect traffic (authentication, WAF, Shield Advanced, mutual
// TLS) and that lbsg does not implement yet. Serving an object without them would let
// through what its owner meant to stop, so an object that asks for one is not served: no
// load balancer is created for it and an existing one is not changed (it fails closed). They
// are therefore not reported as merely unsupported.
//
// Upstream's Service annotations were checked too: the ones that protect traffic (TLS
// certificates and policies, source ranges, security groups, prefix lists, PrivateLink
// enforcement) are all implemented, so no Service key is listed.
var (
	protectiveIngressKeys = []string{
		"auth-type", "auth-idp-cognito", "auth-idp-oidc", "auth-on-unauthenticated-request", "auth-scope",
		"auth-session-cookie", "auth-session-timeout", "jwt-validation", "mutual-authentication",
		"shield-advanced-protection", "waf-acl-id", "wafv2-acl-arn", "wafv2-acl-name", "web-acl-id",
	}
	// Any other auth-* key is part of authentication too.
	protectiveIngressPrefixes = []string{"auth-"}
	// protectionOff are the values with which a key asks for no protection, as upstream
	// reads them: with them lbsg leaves AWS as it is, which is never less protected.
	protectionOff = map[string]string{
		"auth-type": "none", "waf-acl-id": "none", "wafv2-acl-arn": "none", "wafv2-acl-name": "none",
		"web-acl-id": "none", "shield-advanced-protection": "false",
	}
)

// ProtectiveIngressKeys returns, sorted, the annotations of ann that ask for a protection
// lbsg does not implement. auth-* keys other than auth-type configure nothing when
// auth-type is none, as upstream.
func ProtectiveIngressKeys(ann map[string]string) []string {
	authOff := isOff("auth-type", ann[IngressPrefix+"auth-type"])
	var out []string
	for k, v := range ann {
		name, ok := strings.CutPrefix(k, IngressPrefix)
		if !ok || !isProtectiveIngressKey(name) || isOff(name, v) {
			continue
		}
		if authOff && strings.HasPrefix(name, "auth-") {
			continue
		}
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func isProtectiveIngressKey(name string) bool {
	for _, k := range protectiveIngressKeys {
		if name == k {
			return true
		}
	}
	for _, p := range protectiveIngressPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

func isOff(name, v string) bool {
	off, ok := protectionOff[name]
	return ok && strings.EqualFold(strings.TrimSpace(v), off)
}

// ProtectiveError is the problem of an object that carries a protective key: it names the
// key and its value, says that the object is not served, and how to get it served.
func ProtectiveError(key, value, what string) *Error {
	return &Error{Key: key, Value: value,
		Reason: "lbsg does not implement this security setting yet, and serving " + what + " without it would fail open: lbsg creates no load balancer for it and leaves an existing one as it is",
		Fix:    "remove the setting and protect the traffic another way (security groups, inbound-cidrs), or keep the object with a controller that implements it"}
}
