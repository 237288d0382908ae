package annotations

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// ingDefaults is what ParseIngress returns for an Ingress without annotations.
func ingDefaults() Ingress {
	return Ingress{Scheme: SchemeInternal}
}

func TestParseIngressValid(t *testing.T) {
	tests := []struct {
		name string
		ann  map[string]string
		want func(*Ingress)
	}{
		{"no annotations", nil, func(*Ingress) {}},
		{"group name", map[string]string{IngGroupName: "team-a"}, func(i *Ingress) { i.GroupName = "team-a" }},
		{"group name with dots, as upstream", map[string]string{IngGroupName: "team.a.web"},
			func(i *Ingress) { i.GroupName = "team.a.web" }},
		{"group name one char", map[string]string{IngGroupName: "a"}, func(i *Ingress) { i.GroupName = "a" }},
		{"group name 63 chars", map[string]string{IngGroupName: strings.Repeat("a", 63)},
			func(i *Ingress) { i.GroupName = strings.Repeat("a", 63) }},
		{"group order", map[string]string{IngGroupOrder: "10"}, func(i *Ingress) { i.GroupOrder = 10 }},
		{"group order min", map[string]string{IngGroupOrder: "-1000"}, func(i *Ingress) { i.GroupOrder = -1000 }},
		{"group order max", map[string]string{IngGroupOrder: "1000"}, func(i *Ingress) { i.GroupOrder = 1000 }},
		{"group order zero explicit", map[string]string{IngGroupOrder: "0"}, func(*Ingress) {}},
		{"scheme internet-facing", map[string]string{IngScheme: "internet-facing"},
			func(i *Ingress) { i.Scheme, i.SchemeSet = "internet-facing", true }},
		{"scheme internal explicit", map[string]string{IngScheme: "internal"}, func(i *Ingress) { i.SchemeSet = true }},
		{"subnets", map[string]string{IngSubnets: "subnet-1, my-subnet"},
			func(i *Ingress) { i.Subnets = []string{"subnet-1", "my-subnet"} }},
		{"ipv4", map[string]string{IngIPAddressType: "ipv4"}, func(i *Ingress) { i.IPAddressType = "ipv4" }},
		{"dualstack", map[string]string{IngIPAddressType: "dualstack"}, func(i *Ingress) { i.IPAddressType = "dualstack" }},
		{"dualstack without public v4", map[string]string{IngIPAddressType: "dualstack-without-public-ipv4"},
			func(i *Ingress) { i.IPAddressType = IPAddressTypeDualNoPublicV4 }},
		{"listen ports", map[string]string{IngListenPorts: `[{"HTTP":80},{"HTTPS":443}]`},
			func(i *Ingress) { i.ListenPorts = []ListenPort{{"HTTP", 80}, {"HTTPS", 443}} }},
		{"certificate arns", map[string]string{IngCertificateARN: "arn:aws:acm:eu-west-1:1:certificate/a, arn:aws:acm:eu-west-1:1:certificate/b"},
			func(i *Ingress) {
				i.CertificateARNs = []string{"arn:aws:acm:eu-west-1:1:certificate/a", "arn:aws:acm:eu-west-1:1:certificate/b"}
			}},
		{"inbound cidrs v4 v6 host bits", map[string]string{IngInboundCIDRs: "10.0.0.0/8, 2001:db8::/32,192.168.1.5/24"},
			func(i *Ingress) {
				i.InboundCIDRs = []string{"10.0.0.0/8", "2001:db8::/32", "192.168.1.0/24"}
				i.CIDRChanges = []CIDRChange{{Key: IngInboundCIDRs, Written: "192.168.1.5/24", Canonical: "192.168.1.0/24"}}
			}},
		{"prefix lists", map[string]string{IngPrefixLists: "pl-00aa11bb, pl-0123456789abcdef0"},
			func(i *Ingress) { i.PrefixLists = []string{"pl-00aa11bb", "pl-0123456789abcdef0"} }},
		{"security groups keep order", map[string]string{IngSecurityGroups: "sg-2, my-sg,sg-1"},
			func(i *Ingress) { i.SecurityGroups = []string{"sg-2", "my-sg", "sg-1"} }},
		{"manage backend rules true", map[string]string{IngManageBackendRules: "true"},
			func(i *Ingress) { i.ManageBackendRules = ptr(true) }},
		{"manage backend rules false", map[string]string{IngManageBackendRules: "F"},
			func(i *Ingress) { i.ManageBackendRules = ptr(false) }},
		{"tags", map[string]string{IngTags: "team=a, env = prod"},
			func(i *Ingress) { i.Tags = map[string]string{"team": "a", "env": "prod"} }},
		{"tag key containing aws: later is fine", map[string]string{IngTags: "team:aws:x=1"},
			func(i *Ingress) { i.Tags = map[string]string{"team:aws:x": "1"} }},
		{"lb name", map[string]string{IngLoadBalancerName: "my-alb-1"}, func(i *Ingress) { i.LoadBalancerName = "my-alb-1" }},
		{"lb name 32 chars", map[string]string{IngLoadBalancerName: strings.Repeat("b", 32)},
			func(i *Ingress) { i.LoadBalancerName = strings.Repeat("b", 32) }},
		{"backend keys are not group-level", map[string]string{IngTargetType: "bogus", IngHealthCheckPort: "x y"}, func(*Ingress) {}},
		{"unknown and Service annotations ignored", map[string]string{"example.com/x": "y", SvcScheme: "public", IngressClassAnnotation: "alb"},
			func(*Ingress) {}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, errs := ParseIngress(tc.ann)
			for _, e := range errs {
				t.Errorf("unexpected error: %v", e)
			}
			want := ingDefaults()
			tc.want(&want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ParseIngress (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseIngressErrors(t *testing.T) {
	tests := []struct {
		name   string
		key    string
		value  string
		reason string // substring of the reason
	}{
		{"group name upper case", IngGroupName, "Team", "groupName must consist of lower case alphanumeric characters, '-' or '.'"},
		{"group name leading hyphen", IngGroupName, "-team", "must start and end with an alphanumeric character"},
		{"group name trailing dot", IngGroupName, "team.", "must start and end with an alphanumeric character"},
		{"group name underscore", IngGroupName, "team_a", "lower case alphanumeric"},
		{"group name empty", IngGroupName, "", "the value is empty"},
		{"group name too long", IngGroupName, strings.Repeat("a", 64), "groupName must be no more than 63 characters (it has 64)"},
		{"group order not a number", IngGroupOrder, "first", "failed to load group.order: not a whole number"},
		{"group order float", IngGroupOrder, "1.5", "failed to load group.order"},
		{"group order too small", IngGroupOrder, "-1001", "must be within [-1000:1000], order: -1001"},
		{"group order too big", IngGroupOrder, "1001", "must be within [-1000:1000], order: 1001"},
		{"bad scheme", IngScheme, "public", "unknown scheme"},
		{"empty scheme", IngScheme, "", "the value is empty"},
		{"scheme case", IngScheme, "Internal", "unknown scheme"},
		{"unknown ip address type", IngIPAddressType, "ipv6", "unknown IPAddressType"},
		{"ip address type case", IngIPAddressType, "DualStack", "unknown IPAddressType"},
		{"listen ports bad JSON", IngListenPorts, `[{"HTTP":80}`, "failed to parse listen-ports configuration: `[{\"HTTP\":80}`"},
		{"listen ports empty", IngListenPorts, `[]`, "empty listen-ports configuration"},
		{"listen ports port zero", IngListenPorts, `[{"HTTP":0}]`, "listen port must be within [1, 65535]: 0"},
		{"listen ports bad protocol", IngListenPorts, `[{"TCP":80}]`, "listen protocol must be within [HTTP, HTTPS]: TCP"},
		{"bad inbound cidr", IngInboundCIDRs, "10.0.0.0/8,10.0.0.300/32", `invalid inbound-cidrs settings: not a valid CIDR: "10.0.0.300/32"`},
		{"bare IP is not an inbound cidr", IngInboundCIDRs, "10.1.2.3", "invalid inbound-cidrs settings"},
		{"bad prefix list", IngPrefixLists, "pl-123,com.amazonaws.global.cloudfront", `not a managed prefix list ID: "com.amazonaws.global.cloudfront"`},
		{"bad manage bool", IngManageBackendRules, "yes", "failed to parse bool annotation"},
		{"bad tag map", IngTags, "team=a,owner", `entry "owner" has no "="`},
		{"tag map empty key", IngTags, "=a", "empty key"},
		{"reserved tag keys", IngTags, "AWS:b=1,aws:a=2,ok=3", `tag key "AWS:b" is reserved: keys starting with "aws:" belong to AWS; tag key "aws:a" is reserved`},
		{"lb name too long", IngLoadBalancerName, strings.Repeat("a", 33), "longer than 32 characters (it has 33)"},
		{"lb name bad characters", IngLoadBalancerName, "my_alb", "letters, digits and hyphens"},
		{"lb name leading hyphen", IngLoadBalancerName, "-alb", "letters, digits and hyphens"},
		{"lb name empty", IngLoadBalancerName, "", "the value is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, errs := ParseIngress(map[string]string{tc.key: tc.value})
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
			if diff := cmp.Diff(ingDefaults(), got); diff != "" {
				t.Errorf("fields changed by a bad annotation (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseListenPorts(t *testing.T) {
	tests := []struct {
		name       string
		in         string
		want       []ListenPort
		wantReason string // the exact reason; "" means no error
	}{
		{"one", `[{"HTTP":80}]`, []ListenPort{{"HTTP", 80}}, ""},
		{"two objects keep annotation order", `[{"HTTPS":443},{"HTTP":80}]`, []ListenPort{{"HTTPS", 443}, {"HTTP", 80}}, ""},
		{"multi-key object sorted by protocol", `[{"HTTPS":443,"HTTP":80}]`, []ListenPort{{"HTTP", 80}, {"HTTPS", 443}}, ""},
		{"multi-key object then another", `[{"HTTPS":8443,"HTTP":8080},{"HTTP":80}]`,
			[]ListenPort{{"HTTP", 8080}, {"HTTPS", 8443}, {"HTTP", 80}}, ""},
		{"white space", " [ { \"HTTP\" : 80 } ]\n", []ListenPort{{"HTTP", 80}}, ""},
		{"port bounds", `[{"HTTP":1},{"HTTPS":65535}]`, []ListenPort{{"HTTP", 1}, {"HTTPS", 65535}}, ""},
		{"identical entries kept once", `[{"HTTP":80},{"HTTPS":443},{"HTTP":80}]`, []ListenPort{{"HTTP", 80}, {"HTTPS", 443}}, ""},
		{"null entry skipped, as upstream", `[null,{"HTTP":80}]`, []ListenPort{{"HTTP", 80}}, ""},

		{"bad JSON", `[{"HTTP":80},]`, nil, "failed to parse listen-ports configuration: `[{\"HTTP\":80},]`: "},
		{"not JSON", `HTTP:80`, nil, "failed to parse listen-ports configuration: `HTTP:80`: "},
		{"empty string", ``, nil, "failed to parse listen-ports configuration: ``: "},
		{"object not list", `{"HTTP":80}`, nil, "failed to parse listen-ports configuration: `{\"HTTP\":80}`: "},
		{"entry not an object", `[80]`, nil, "failed to parse listen-ports configuration: `[80]`: "},
		{"port as string", `[{"HTTP":"80"}]`, nil, "failed to parse listen-ports configuration: `[{\"HTTP\":\"80\"}]`: "},
		{"port as float", `[{"HTTP":80.5}]`, nil, "failed to parse listen-ports configuration: `[{\"HTTP\":80.5}]`: "},
		{"port as 80.0", `[{"HTTP":80.0}]`, nil, "failed to parse listen-ports configuration: `[{\"HTTP\":80.0}]`: "},
		{"port as bool", `[{"HTTP":true}]`, nil, "failed to parse listen-ports configuration: `[{\"HTTP\":true}]`: "},
		{"empty list", `[]`, nil, "empty listen-ports configuration"},
		{"null", `null`, nil, "empty listen-ports configuration"},
		{"only empty objects", `[{},null]`, nil, "empty listen-ports configuration: no object names a port"},
		{"port 0", `[{"HTTP":0}]`, nil, "listen port must be within [1, 65535]: 0"},
		{"port 65536", `[{"HTTPS":65536}]`, nil, "listen port must be within [1, 65535]: 65536"},
		{"negative port", `[{"HTTP":-1}]`, nil, "listen port must be within [1, 65535]: -1"},
		{"null port reads as 0, as upstream", `[{"HTTP":null}]`, nil, "listen port must be within [1, 65535]: 0"},
		{"protocol TCP", `[{"TCP":80}]`, nil, "listen protocol must be within [HTTP, HTTPS]: TCP"},
		{"protocol lower case", `[{"http":80}]`, nil, "listen protocol must be within [HTTP, HTTPS]: http"},
		{"same port two protocols", `[{"HTTP":80},{"HTTPS":80}]`, nil, "listen port 80 is given with two protocols, HTTP and HTTPS"},
		{"same port two protocols in one object", `[{"HTTPS":80,"HTTP":80}]`, nil, "listen port 80 is given with two protocols, HTTP and HTTPS"},
		{"repeated key in one object", `[{"HTTP":80,"HTTP":8080}]`, nil, `one listen-ports object repeats the key "HTTP" (JSON keeps only the last value)`},
		{"all problems named once", `[{"TCP":80},{"HTTP":0},{"TCP":81}]`, nil,
			"listen protocol must be within [HTTP, HTTPS]: TCP; listen port must be within [1, 65535]: 0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseListenPorts(IngListenPorts, tc.in)
			if tc.wantReason != "" {
				if err == nil {
					t.Fatalf("got %v, want error %q", got, tc.wantReason)
				}
				// Bad JSON carries the decoder's detail after the upstream text.
				if strings.HasSuffix(tc.wantReason, ": ") {
					if !strings.HasPrefix(err.Reason, tc.wantReason) {
						t.Errorf("reason %q, want prefix %q", err.Reason, tc.wantReason)
					}
				} else if err.Reason != tc.wantReason {
					t.Errorf("reason %q, want %q", err.Reason, tc.wantReason)
				}
				if err.Key != IngListenPorts || err.Value != tc.in || err.Fix == "" {
					t.Errorf("err = %+v: want key, raw value and fix", err)
				}
				if got != nil {
					t.Errorf("got %v with an error, want nil", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseIngressAllErrorsSorted(t *testing.T) {
	ann := map[string]string{
		IngScheme:         "public",
		IngGroupOrder:     "x",
		IngListenPorts:    "[]",
		IngTags:           "aws:x=1",
		IngInboundCIDRs:   "nope",
		IngIPAddressType:  "v6",
		IngGroupName:      "Bad",
		IngSecurityGroups: "sg-1", // valid, still parsed
		IngSubnets:        "subnet-1",
	}
	got, errs := ParseIngress(ann)
	var keys []string
	for _, e := range errs {
		keys = append(keys, e.Key)
	}
	want := []string{
		IngGroupName, IngGroupOrder, IngInboundCIDRs, IngIPAddressType, IngListenPorts, IngScheme, IngTags,
	}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Errorf("error keys (-want +got):\n%s", diff)
	}
	wantIng := ingDefaults()
	wantIng.SecurityGroups = []string{"sg-1"}
	wantIng.Subnets = []string{"subnet-1"}
	if diff := cmp.Diff(wantIng, got); diff != "" {
		t.Errorf("valid annotations must still be parsed (-want +got):\n%s", diff)
	}
}

func TestParseBackend(t *testing.T) {
	tests := []struct {
		name     string
		ing, svc map[string]string
		want     Backend
	}{
		{"nothing", nil, nil, Backend{}},
		{"all from the Ingress", map[string]string{
			IngTargetType:          "ip",
			IngBackendProtocol:     "HTTPS",
			IngHealthCheckPort:     "traffic-port",
			IngHealthCheckPath:     "/healthz",
			IngHealthCheckProtocol: "HTTP",
			IngTargetNodeLabels:    "pool=web, zone = a",
		}, nil, Backend{
			TargetType: "ip", Protocol: "HTTPS", HealthCheckPort: "traffic-port", HealthCheckPath: "/healthz",
			HealthCheckProtocol: "HTTP", TargetNodeLabels: map[string]string{"pool": "web", "zone": "a"},
		}},
		{"all from the Service", nil, map[string]string{
			IngTargetType:          "instance",
			IngBackendProtocol:     "HTTP",
			IngHealthCheckPort:     "8080",
			IngHealthCheckPath:     "/",
			IngHealthCheckProtocol: "HTTPS",
			IngTargetNodeLabels:    "a=1",
		}, Backend{
			TargetType: "instance", Protocol: "HTTP", HealthCheckPort: "8080", HealthCheckPath: "/",
			HealthCheckProtocol: "HTTPS", TargetNodeLabels: map[string]string{"a": "1"},
		}},
		{"the Service wins, key by key",
			map[string]string{IngTargetType: "ip", IngHealthCheckPath: "/ing", IngHealthCheckPort: "1", IngTargetNodeLabels: "a=1"},
			map[string]string{IngTargetType: "instance", IngHealthCheckPath: "/svc"},
			Backend{TargetType: "instance", HealthCheckPath: "/svc", HealthCheckPort: "1", TargetNodeLabels: map[string]string{"a": "1"}}},
		{"the Service's good value hides a bad Ingress value",
			map[string]string{IngTargetType: "pod"}, map[string]string{IngTargetType: "ip"}, Backend{TargetType: "ip"}},
		{"protocols upper-cased", map[string]string{IngBackendProtocol: "https", IngHealthCheckProtocol: "Http"}, nil,
			Backend{Protocol: "HTTPS", HealthCheckProtocol: "HTTP"}},
		{"named health check port", map[string]string{IngHealthCheckPort: "metrics"}, nil, Backend{HealthCheckPort: "metrics"}},
		{"health check port bounds", map[string]string{IngHealthCheckPort: "65535"}, nil, Backend{HealthCheckPort: "65535"}},
		{"health check port canonical", map[string]string{IngHealthCheckPort: "+080"}, nil, Backend{HealthCheckPort: "80"}},
		{"Service annotations of other prefixes ignored", nil, map[string]string{SvcHealthCheckPort: "x y", SvcNLBTargetType: "bogus"}, Backend{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, errs := ParseBackend(tc.ing, tc.svc)
			for _, e := range errs {
				t.Errorf("unexpected error: %v", e)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParseBackend (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseBackendErrors(t *testing.T) {
	tests := []struct {
		name   string
		key    string
		value  string
		reason string // the exact reason when the value is on the Ingress
	}{
		{"bad target type", IngTargetType, "pod", "unknown targetType: pod"},
		{"empty target type", IngTargetType, "", "the value is empty"},
		{"target type case", IngTargetType, "IP", "unknown targetType: IP"},
		{"bad backend protocol", IngBackendProtocol, "GRPC", "backend protocol must be within [HTTP, HTTPS]: GRPC"},
		{"empty backend protocol", IngBackendProtocol, "", "the value is empty"},
		{"health check port 0", IngHealthCheckPort, "0", `health check port "0" not supported: must be traffic-port, a port number 1-65535 or the name of a Service port`},
		{"health check port 65536", IngHealthCheckPort, "65536", `health check port "65536" not supported: must be traffic-port, a port number 1-65535 or the name of a Service port`},
		{"health check port negative", IngHealthCheckPort, "-1", `health check port "-1" not supported: must be traffic-port, a port number 1-65535 or the name of a Service port`},
		{"health check port empty", IngHealthCheckPort, "", "the value is empty"},
		{"health check port with a space", IngHealthCheckPort, "my port", `health check port "my port" not supported: must be traffic-port, a port number 1-65535 or the name of a Service port`},
		{"health check path relative", IngHealthCheckPath, "healthz", `a health check path must start with "/"`},
		{"health check path empty", IngHealthCheckPath, "", "the value is empty"},
		{"bad health check protocol", IngHealthCheckProtocol, "TCP", "healthCheckProtocol must be within [HTTP, HTTPS]"},
		{"bad node labels", IngTargetNodeLabels, "pool", `failed to parse stringMap annotation: entry "pool" has no "="`},
	}
	for _, tc := range tests {
		for _, where := range []string{"Ingress", "Service"} {
			t.Run(tc.name+" on "+where, func(t *testing.T) {
				ann := map[string]string{tc.key: tc.value}
				var got Backend
				var errs []*Error
				wantReason := tc.reason
				if where == "Service" {
					got, errs = ParseBackend(nil, ann)
					wantReason += " (on Service)"
				} else {
					got, errs = ParseBackend(ann, nil)
				}
				if len(errs) != 1 {
					t.Fatalf("got %d errors %v, want 1", len(errs), errs)
				}
				e := errs[0]
				if e.Key != tc.key || e.Value != tc.value {
					t.Errorf("error names %s=%q, want %s=%q", e.Key, e.Value, tc.key, tc.value)
				}
				if e.Reason != wantReason {
					t.Errorf("reason %q, want %q", e.Reason, wantReason)
				}
				if e.Fix == "" {
					t.Error("error has no fix")
				}
				if diff := cmp.Diff(Backend{}, got); diff != "" {
					t.Errorf("fields changed by a bad annotation (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestParseBackendAllErrorsSorted(t *testing.T) {
	ing := map[string]string{
		IngTargetType:       "ip", // hidden by the Service's bad value
		IngHealthCheckPath:  "nope",
		IngBackendProtocol:  "HTTPS", // valid, still parsed
		IngTargetNodeLabels: "x",
	}
	svc := map[string]string{
		IngTargetType:          "pod",
		IngHealthCheckProtocol: "UDP",
		IngHealthCheckPort:     "8080", // valid, still parsed
	}
	got, errs := ParseBackend(ing, svc)
	type keyReason struct{ Key, Reason string }
	var gotErrs []keyReason
	for _, e := range errs {
		gotErrs = append(gotErrs, keyReason{e.Key, e.Reason})
	}
	want := []keyReason{
		{IngHealthCheckPath, `a health check path must start with "/"`},
		{IngHealthCheckProtocol, "healthCheckProtocol must be within [HTTP, HTTPS] (on Service)"},
		{IngTargetNodeLabels, `failed to parse stringMap annotation: entry "x" has no "="`},
		{IngTargetType, "unknown targetType: pod (on Service)"},
	}
	if diff := cmp.Diff(want, gotErrs); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(Backend{Protocol: "HTTPS", HealthCheckPort: "8080"}, got); diff != "" {
		t.Errorf("valid annotations must still be parsed (-want +got):\n%s", diff)
	}
}
