package annotations

import (
	"sort"
	"strings"
)

// The upstream controller's annotation keys (its docs/guide/service/annotations.md,
// docs/guide/ingress/annotations.md and pkg/annotations/constants.go), without the prefix.
// Those lbsg does not read are reported, so that a team migrating from upstream learns which
// settings lbsg leaves to AWS.
var (
	upstreamServiceKeys = []string{
		"aws-load-balancer-access-log-enabled", "aws-load-balancer-access-log-s3-bucket-name",
		"aws-load-balancer-access-log-s3-bucket-prefix", "aws-load-balancer-additional-resource-tags",
		"aws-load-balancer-alpn-policy", "aws-load-balancer-attributes", "aws-load-balancer-backend-protocol",
		"aws-load-balancer-cross-zone-load-balancing-enabled", "aws-load-balancer-disable-nlb-sg",
		"aws-load-balancer-eip-allocations", "aws-load-balancer-enable-icmp-for-path-mtu-discovery",
		"aws-load-balancer-enable-prefix-for-ipv6-source-nat", "aws-load-balancer-enable-tcp-udp-listener",
		"aws-load-balancer-healthcheck-healthy-threshold", "aws-load-balancer-healthcheck-interval",
		"aws-load-balancer-healthcheck-path", "aws-load-balancer-healthcheck-port",
		"aws-load-balancer-healthcheck-protocol", "aws-load-balancer-healthcheck-success-codes",
		"aws-load-balancer-healthcheck-timeout", "aws-load-balancer-healthcheck-unhealthy-threshold",
		"aws-load-balancer-inbound-sg-rules-on-private-link-traffic", "aws-load-balancer-internal",
		"aws-load-balancer-ip-address-type", "aws-load-balancer-ipv6-addresses",
		"aws-load-balancer-manage-backend-security-group-rules", "aws-load-balancer-minimum-load-balancer-capacity",
		"aws-load-balancer-multi-cluster-target-group", "aws-load-balancer-name", "aws-load-balancer-nlb-target-type",
		"aws-load-balancer-private-ipv4-addresses", "aws-load-balancer-proxy-protocol",
		"aws-load-balancer-proxy-protocol-per-target-group", "aws-load-balancer-quic-enabled-ports",
		"aws-load-balancer-scheme", "aws-load-balancer-security-group-prefix-lists",
		"aws-load-balancer-security-groups", "aws-load-balancer-source-nat-ipv6-prefixes",
		"aws-load-balancer-ssl-cert", "aws-load-balancer-ssl-negotiation-policy", "aws-load-balancer-ssl-ports",
		"aws-load-balancer-subnets", "aws-load-balancer-target-group-attributes",
		"aws-load-balancer-target-node-labels", "aws-load-balancer-type", "load-balancer-source-ranges",
	}
	upstreamServicePrefixes = []string{
		"aws-load-balancer-listener-attributes.", "aws-load-balancer-target-group-attributes.",
	}
	upstreamIngressKeys = []string{
		"acm-pca-arn", "auth-idp-cognito", "auth-idp-oidc", "auth-on-unauthenticated-request", "auth-scope",
		"auth-session-cookie", "auth-session-timeout", "auth-type", "backend-protocol", "backend-protocol-version",
		"certificate-arn", "create-acm-cert", "customer-owned-ipv4-pool", "dry-run-plan", "enable-frontend-nlb",
		"frontend-nlb-attributes", "frontend-nlb-eip-allocations", "frontend-nlb-healthcheck-healthy-threshold-count",
		"frontend-nlb-healthcheck-interval-seconds", "frontend-nlb-healthcheck-path", "frontend-nlb-healthcheck-port",
		"frontend-nlb-healthcheck-protocol", "frontend-nlb-healthcheck-success-codes",
		"frontend-nlb-healthcheck-timeout-seconds", "frontend-nlb-healthcheck-unhealthy-threshold-count",
		"frontend-nlb-listener-port-mapping", "frontend-nlb-scheme", "frontend-nlb-security-groups",
		"frontend-nlb-subnets", "frontend-nlb-tags", "group.name", "group.order", "healthcheck-interval-seconds",
		"healthcheck-path", "healthcheck-port", "healthcheck-protocol", "healthcheck-timeout-seconds",
		"healthy-threshold-count", "inbound-cidrs", "ip-address-type", "ipam-ipv4-pool-id", "jwt-validation",
		"listen-ports", "load-balancer-attributes", "load-balancer-name", "manage-backend-security-group-rules",
		"minimum-load-balancer-capacity", "multi-cluster-target-group", "mutual-authentication", "scheme",
		"security-group-prefix-lists", "security-groups", "shield-advanced-protection", "ssl-policy", "ssl-redirect",
		"subnets", "success-codes", "tags", "target-group-attributes", "target-node-labels", "target-type",
		"unhealthy-threshold-count", "use-regex-path-match", "waf-acl-id", "wafv2-acl-arn", "wafv2-acl-name",
		"web-acl-id",
	}
	// actions.* and conditions.* are not listed: lbsg reads them (actions.go).
	upstreamIngressPrefixes = []string{"listener-attributes.", "target-control-port.", "transforms."}
)

// UnsupportedServiceKeys returns, sorted, the upstream Service annotation keys present in
// ann that lbsg does not implement.
func UnsupportedServiceKeys(ann map[string]string) []string {
	return unsupported(ann, ServicePrefix, upstreamServiceKeys, upstreamServicePrefixes, ServiceKeys)
}

// UnsupportedIngressKeys returns, sorted, the upstream Ingress annotation keys present in
// ann that lbsg does not implement.
func UnsupportedIngressKeys(ann map[string]string) []string {
	implemented := append(append([]string(nil), IngressKeys...), BackendKeys...)
	// The protective keys lbsg refuses are not merely unsupported (protective.go).
	implemented = append(implemented, ProtectiveIngressKeys(ann)...)
	return unsupported(ann, IngressPrefix, upstreamIngressKeys, upstreamIngressPrefixes, implemented)
}

func unsupported(ann map[string]string, prefix string, keys, prefixes, implemented []string) []string {
	known := make(map[string]bool, len(keys))
	for _, k := range keys {
		known[prefix+k] = true
	}
	for _, k := range implemented {
		delete(known, k)
	}
	var out []string
	for k := range ann {
		if known[k] {
			out = append(out, k)
			continue
		}
		for _, p := range prefixes {
			if strings.HasPrefix(k, prefix+p) {
				out = append(out, k)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// UnsupportedMessage is the text of the one Warning Event an object with unsupported keys
// gets. It names at most a few keys, so that the Event stays short.
func UnsupportedMessage(keys []string) string {
	quoted := make([]string, len(keys))
	copy(quoted, keys)
	return "annotations not implemented by lbsg: " + someOf(quoted) +
		"; lbsg neither applies nor reverts these settings: whatever AWS has stays as it is" +
		"; fix: set them in AWS yourself, or remove the annotations"
}
