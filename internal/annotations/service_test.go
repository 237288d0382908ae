package annotations

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func ptr[T any](v T) *T { return &v }

// defaults is what ParseService returns for a Service without annotations.
func defaults() Service {
	return Service{Scheme: SchemeInternal, IPAddressType: IPAddressTypeIPv4}
}

func TestParseServiceValid(t *testing.T) {
	tests := []struct {
		name string
		ann  map[string]string
		want func(*Service)
	}{
		{"no annotations", nil, func(*Service) {}},
		{"type is raw", map[string]string{SvcLoadBalancerType: "external"}, func(s *Service) { s.Type = "external" }},
		{"target type ip", map[string]string{SvcNLBTargetType: "ip"}, func(s *Service) { s.TargetType = "ip" }},
		{"target type instance", map[string]string{SvcNLBTargetType: "instance"}, func(s *Service) { s.TargetType = "instance" }},
		{"nlb-ip implies ip", map[string]string{SvcLoadBalancerType: "nlb-ip"},
			func(s *Service) { s.Type, s.TargetType = "nlb-ip", "ip" }},
		{"nlb-ip beats instance, as upstream", map[string]string{SvcLoadBalancerType: "nlb-ip", SvcNLBTargetType: "instance"},
			func(s *Service) { s.Type, s.TargetType = "nlb-ip", "ip" }},
		{"scheme internet-facing", map[string]string{SvcScheme: "internet-facing"},
			func(s *Service) { s.Scheme, s.SchemeSet = "internet-facing", true }},
		{"scheme internal explicit", map[string]string{SvcScheme: "internal"}, func(s *Service) { s.SchemeSet = true }},
		{"legacy internal=false", map[string]string{SvcInternal: "false"},
			func(s *Service) { s.Scheme, s.SchemeSet = "internet-facing", true }},
		{"legacy internal=true", map[string]string{SvcInternal: "true"}, func(s *Service) { s.SchemeSet = true }},
		{"scheme beats legacy", map[string]string{SvcScheme: "internet-facing", SvcInternal: "true"},
			func(s *Service) { s.Scheme, s.SchemeSet = "internet-facing", true }},
		{"dualstack", map[string]string{SvcIPAddressType: "dualstack"}, func(s *Service) { s.IPAddressType = "dualstack" }},
		{"ipv4 explicit", map[string]string{SvcIPAddressType: "ipv4"}, func(*Service) {}},
		{"lb name", map[string]string{SvcLoadBalancerName: "my-nlb-1"}, func(s *Service) { s.LoadBalancerName = "my-nlb-1" }},
		{"subnets", map[string]string{SvcSubnets: "subnet-1, my-subnet"},
			func(s *Service) { s.Subnets = []string{"subnet-1", "my-subnet"} }},
		{"security groups", map[string]string{SvcSecurityGroups: "sg-1,my-sg"},
			func(s *Service) { s.SecurityGroups, s.SecurityGroupsSet = []string{"sg-1", "my-sg"}, true }},
		{"manage backend rules true", map[string]string{SvcManageBackendRules: "true"},
			func(s *Service) { s.ManageBackendRules = ptr(true) }},
		{"manage backend rules false", map[string]string{SvcManageBackendRules: "0"},
			func(s *Service) { s.ManageBackendRules = ptr(false) }},
		{"source ranges", map[string]string{SvcSourceRanges: "10.0.0.0/8, 2001:db8::/32,192.168.1.5/24"},
			func(s *Service) {
				s.SourceRanges = []string{"10.0.0.0/8", "2001:db8::/32", "192.168.1.0/24"}
				s.CIDRChanges = []CIDRChange{{Key: SvcSourceRanges, Written: "192.168.1.5/24", Canonical: "192.168.1.0/24"}}
			}},
		{"health check port canonical", map[string]string{SvcHealthCheckPort: "080"}, func(s *Service) { s.HealthCheckPort = "80" }},
		{"prefix lists", map[string]string{SvcPrefixLists: "pl-00aa11bb"},
			func(s *Service) { s.PrefixLists, s.PrefixListsSet = []string{"pl-00aa11bb"}, true }},
		{"icmp on", map[string]string{SvcICMPForPathMTU: "on"}, func(s *Service) { s.ICMPForPathMTU = true }},
		{"icmp off", map[string]string{SvcICMPForPathMTU: "off"}, func(*Service) {}},
		{"private link on", map[string]string{SvcPrivateLinkEnforce: "on"}, func(s *Service) { s.PrivateLinkEnforce = "on" }},
		{"private link off", map[string]string{SvcPrivateLinkEnforce: "off"}, func(s *Service) { s.PrivateLinkEnforce = "off" }},
		{"disable nlb sg", map[string]string{SvcDisableNLBSG: "True"}, func(s *Service) { s.DisableNLBSG = true }},
		{"tags", map[string]string{SvcAdditionalTags: "team=a, env = prod"},
			func(s *Service) { s.AdditionalTags = map[string]string{"team": "a", "env": "prod"} }},
		{"node labels", map[string]string{SvcTargetNodeLabels: "pool=web"},
			func(s *Service) { s.TargetNodeLabels = map[string]string{"pool": "web"} }},
		{"hc traffic-port", map[string]string{SvcHealthCheckPort: "traffic-port"}, func(s *Service) { s.HealthCheckPort = "traffic-port" }},
		{"hc port", map[string]string{SvcHealthCheckPort: "65535"}, func(s *Service) { s.HealthCheckPort = "65535" }},
		{"hc protocol upper-cased", map[string]string{SvcHealthCheckProtocol: "http"}, func(s *Service) { s.HealthCheckProtocol = "HTTP" }},
		{"hc path", map[string]string{SvcHealthCheckPath: "/healthz"}, func(s *Service) { s.HealthCheckPath = "/healthz" }},
		{"hc interval", map[string]string{SvcHealthCheckInterval: "30"}, func(s *Service) { s.HealthCheckInterval = 30 }},
		{"unknown annotations ignored", map[string]string{"example.com/x": "y", ServicePrefix + "aws-load-balancer-proxy-protocol": "*"},
			func(*Service) {}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, errs := ParseService(tc.ann)
			for _, e := range errs {
				t.Errorf("unexpected error: %v", e)
			}
			want := defaults()
			tc.want(&want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ParseService (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseServiceErrors(t *testing.T) {
	tests := []struct {
		name   string
		key    string
		value  string
		reason string // substring of the reason
	}{
		{"bad scheme", SvcScheme, "public", "unknown scheme"},
		{"empty scheme", SvcScheme, "", "the value is empty"},
		{"bad legacy internal", SvcInternal, "yes", "failed to parse bool annotation"},
		{"bad target type", SvcNLBTargetType, "IP", `must be "instance" or "ip"`},
		{"bad target type alb", SvcNLBTargetType, "alb", `must be "instance" or "ip"`},
		{"unknown ip address type", SvcIPAddressType, "ipv6", "unknown IPAddressType"},
		{"dualstack-without-public-ipv4 is ALB only", SvcIPAddressType, "dualstack-without-public-ipv4", "unknown IPAddressType"},
		{"lb name too long", SvcLoadBalancerName, strings.Repeat("a", 33), "longer than 32"},
		{"lb name bad characters", SvcLoadBalancerName, "my_nlb", "letters, digits and hyphens"},
		{"lb name trailing hyphen", SvcLoadBalancerName, "nlb-", "letters, digits and hyphens"},
		{"bad manage bool", SvcManageBackendRules, "yes", "failed to parse bool annotation"},
		{"malformed CIDR", SvcSourceRanges, "10.0.0.0/8,10.0.0.300/32", `"10.0.0.300/32"`},
		{"bare IP is not a CIDR", SvcSourceRanges, "10.1.2.3", `"10.1.2.3"`},
		{"bad prefix list", SvcPrefixLists, "pl-123,com.amazonaws.global.cloudfront", `"com.amazonaws.global.cloudfront"`},
		{"bad ICMP value", SvcICMPForPathMTU, "true", `must be "on" or "off"`},
		{"bad ICMP case", SvcICMPForPathMTU, "On", `must be "on" or "off"`},
		{"bad private-link value", SvcPrivateLinkEnforce, "true",
			"Invalid value for securityGroupsInboundRulesOnPrivateLink status: true, value must be one of [on, off]"},
		{"bad disable-nlb-sg", SvcDisableNLBSG, "disabled", "failed to parse bool annotation"},
		{"bad tag map", SvcAdditionalTags, "team=a,owner", `entry "owner" has no "="`},
		{"tag map empty key", SvcAdditionalTags, "=a", "empty key"},
		{"reserved tag key", SvcAdditionalTags, "aws:owner=me", `tag key "aws:owner" is reserved: keys starting with "aws:" belong to AWS`},
		{"bad node labels", SvcTargetNodeLabels, "pool", `has no "="`},
		{"bad port", SvcHealthCheckPort, "http", "not supported"},
		{"port zero", SvcHealthCheckPort, "0", "not supported"},
		{"port too big", SvcHealthCheckPort, "65536", "not supported"},
		{"bad hc protocol", SvcHealthCheckProtocol, "UDP", "unsupported health check protocol"},
		{"bad hc path", SvcHealthCheckPath, "healthz", `must start with "/"`},
		{"bad hc interval", SvcHealthCheckInterval, "ten", "from 5 to 300"},
		{"hc interval too small", SvcHealthCheckInterval, "2", "from 5 to 300"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, errs := ParseService(map[string]string{tc.key: tc.value})
			if len(errs) != 1 {
				t.Fatalf("got %d errors %v, want 1", len(errs), errs)
			}
			e := errs[0]
			if e.Key != tc.key || e.Value != tc.value {
				t.Errorf("error names %s=%q, want %s=%q", e.Key, e.Value, tc.key, tc.value)
			}
			if !strings.Contains(e.Reason, tc.reason) {
				t.Errorf("reason %q does not contain %q", e.Reason, tc.reason)
			}
			if e.Fix == "" {
				t.Error("error has no fix")
			}
			if !strings.HasPrefix(e.Error(), "annotation "+tc.key+"=") {
				t.Errorf("message %q does not start with the key", e.Error())
			}
			// A bad annotation leaves the field at its default.
			if diff := cmp.Diff(defaults(), got); diff != "" {
				t.Errorf("fields changed by a bad annotation (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseServiceAllErrorsSorted(t *testing.T) {
	ann := map[string]string{
		SvcScheme:             "public",
		SvcIPAddressType:      "v6",
		SvcSourceRanges:       "nope",
		SvcICMPForPathMTU:     "yes",
		SvcPrivateLinkEnforce: "enabled",
		SvcHealthCheckPort:    "x",
		SvcAdditionalTags:     "a",
		SvcSecurityGroups:     "sg-1", // valid, still parsed
	}
	got, errs := ParseService(ann)
	var keys []string
	for _, e := range errs {
		keys = append(keys, e.Key)
	}
	want := []string{
		SvcAdditionalTags, SvcICMPForPathMTU, SvcHealthCheckPort, SvcPrivateLinkEnforce,
		SvcIPAddressType, SvcScheme, SvcSourceRanges,
	}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("error keys (-want +got):\n%s", diff)
	}
	if !got.SecurityGroupsSet || len(got.SecurityGroups) != 1 {
		t.Errorf("valid annotations must still be parsed, got %+v", got)
	}
}
