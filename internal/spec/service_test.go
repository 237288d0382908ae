package spec

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/lbsg/lbsg/internal/annotations"
	"github.com/lbsg/lbsg/internal/naming"
	"github.com/lbsg/lbsg/internal/sgrules"
)

const (
	testCluster = "prod"
	testClass   = "service.k8s.aws/nlb"
)

// testSettings are the controller defaults: backend SG on, NLB security groups on.
func testSettings() Settings {
	return Settings{
		Cluster:           testCluster,
		EnableBackendSG:   true,
		NLBSecurityGroup:  true,
		LoadBalancerClass: testClass,
	}
}

// testService is an "external" NLB Service shop/web with one TCP port 80 -> 8080,
// NodePort 30080. Each mod changes it.
func testService(mods ...func(*corev1.Service)) *corev1.Service {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:   "shop",
			Name:        "web",
			UID:         "0c6f4a3e-uid",
			Annotations: map[string]string{annotations.SvcLoadBalancerType: "external"},
		},
		Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeLoadBalancer,
			Ports: []corev1.ServicePort{
				{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, TargetPort: intstr.FromInt32(8080), NodePort: 30080},
			},
		},
	}
	for _, m := range mods {
		m(svc)
	}
	return svc
}

func ann(kv ...string) func(*corev1.Service) {
	return func(s *corev1.Service) {
		for i := 0; i+1 < len(kv); i += 2 {
			s.Annotations[kv[i]] = kv[i+1]
		}
	}
}

func ports(ps ...corev1.ServicePort) func(*corev1.Service) {
	return func(s *corev1.Service) { s.Spec.Ports = ps }
}

func sourceRanges(cidrs ...string) func(*corev1.Service) {
	return func(s *corev1.Service) { s.Spec.LoadBalancerSourceRanges = cidrs }
}

func tcpPort(name string, port, nodePort int32) corev1.ServicePort {
	return corev1.ServicePort{Name: name, Protocol: corev1.ProtocolTCP, Port: port, TargetPort: intstr.FromInt32(port + 8000), NodePort: nodePort}
}

func cidr(proto string, from, to int32, c string) sgrules.Rule {
	kind := sgrules.PeerCIDR
	if strings.Contains(c, ":") {
		kind = sgrules.PeerCIDRv6
	}
	return sgrules.Rule{Key: sgrules.Key{Protocol: proto, FromPort: from, ToPort: to, PeerKind: kind, Peer: c}}
}

func prefixList(proto string, port int32, id string) sgrules.Rule {
	return sgrules.Rule{Key: sgrules.Key{Protocol: proto, FromPort: port, ToPort: port, PeerKind: sgrules.PeerPrefixList, Peer: id}}
}

// mustBuild builds the stack and fails the test on problems.
func mustBuild(t *testing.T, svc *corev1.Service, s Settings, facts ServiceFacts) *Stack {
	t.Helper()
	st, problems := BuildService(svc, s, facts)
	if len(problems) > 0 {
		for _, p := range problems {
			t.Errorf("unexpected problem: %v", p)
		}
		t.FailNow()
	}
	if st == nil {
		t.Fatal("BuildService returned neither a stack nor problems")
	}
	return st
}

func TestOwnsService(t *testing.T) {
	class := func(c string) func(*corev1.Service) {
		return func(s *corev1.Service) { s.Spec.LoadBalancerClass = &c }
	}
	noType := func(s *corev1.Service) { delete(s.Annotations, annotations.SvcLoadBalancerType) }
	type args struct {
		svc *corev1.Service
		s   Settings
	}
	tests := []struct {
		name string
		args args
		want bool
	}{
		{name: "our loadBalancerClass", args: args{testService(noType, class(testClass)), testSettings()}, want: true},
		{name: "our class wins over a missing type annotation", args: args{testService(class(testClass), ann(annotations.SvcLoadBalancerType, "nlb")), testSettings()}, want: true},
		{name: "type external", args: args{testService(), testSettings()}, want: true},
		{name: "type nlb-ip", args: args{testService(ann(annotations.SvcLoadBalancerType, "nlb-ip")), testSettings()}, want: true},
		{name: "another class, even with type external", args: args{testService(class("example.com/other")), testSettings()}, want: false},
		{name: "no class, legacy type nlb (in-tree controller)", args: args{testService(ann(annotations.SvcLoadBalancerType, "nlb")), testSettings()}, want: false},
		{name: "no class, no type", args: args{testService(noType), testSettings()}, want: false},
		{name: "ClusterIP", args: args{testService(func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeClusterIP }), testSettings()}, want: false},
		{name: "NodePort with our class", args: args{testService(class(testClass), func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeNodePort }), testSettings()}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := OwnsService(tt.args.svc, tt.args.s); got != tt.want {
				t.Errorf("OwnsService() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestBuildServiceFrontendRules(t *testing.T) {
	const plA, plB = "pl-00aa11", "pl-00bb22"
	type args struct {
		svc *corev1.Service
	}
	tests := []struct {
		name string
		args args
		want []sgrules.Rule
	}{
		{
			name: "default 0.0.0.0/0 on ipv4",
			args: args{testService()},
			want: []sgrules.Rule{cidr("tcp", 80, 80, "0.0.0.0/0")},
		},
		{
			name: "default adds ::/0 on dualstack",
			args: args{testService(ann(annotations.SvcIPAddressType, DualStack))},
			want: []sgrules.Rule{cidr("tcp", 80, 80, "0.0.0.0/0"), cidr("tcp", 80, 80, "::/0")},
		},
		{
			name: "ports x source ranges from the annotation",
			args: args{testService(
				ports(tcpPort("http", 80, 30080), tcpPort("https", 443, 30443)),
				ann(annotations.SvcSourceRanges, "10.0.0.0/8, 192.168.1.0/24"))},
			want: []sgrules.Rule{
				cidr("tcp", 80, 80, "10.0.0.0/8"), cidr("tcp", 80, 80, "192.168.1.0/24"),
				cidr("tcp", 443, 443, "10.0.0.0/8"), cidr("tcp", 443, 443, "192.168.1.0/24"),
			},
		},
		{
			name: "spec.loadBalancerSourceRanges wins over the annotation",
			args: args{testService(sourceRanges("203.0.113.0/24"), ann(annotations.SvcSourceRanges, "10.0.0.0/8"))},
			want: []sgrules.Rule{cidr("tcp", 80, 80, "203.0.113.0/24")},
		},
		{
			name: "udp port gets a udp rule",
			args: args{testService(ports(corev1.ServicePort{Name: "dns", Protocol: corev1.ProtocolUDP, Port: 53, NodePort: 30053}))},
			want: []sgrules.Rule{cidr("udp", 53, 53, "0.0.0.0/0")},
		},
		{
			name: "prefix lists only: no default CIDR",
			args: args{testService(ann(annotations.SvcPrefixLists, plA+","+plB))},
			want: []sgrules.Rule{prefixList("tcp", 80, plA), prefixList("tcp", 80, plB)},
		},
		{
			name: "prefix lists and source ranges",
			args: args{testService(ann(annotations.SvcPrefixLists, plA, annotations.SvcSourceRanges, "10.0.0.0/8"))},
			want: []sgrules.Rule{cidr("tcp", 80, 80, "10.0.0.0/8"), prefixList("tcp", 80, plA)},
		},
		{
			name: "ICMP on: icmp 3-4 per v4 CIDR, icmpv6 2-0 per v6 CIDR, once for all ports, none for prefix lists",
			args: args{testService(
				ports(tcpPort("http", 80, 30080), tcpPort("https", 443, 30443)),
				ann(annotations.SvcIPAddressType, DualStack, annotations.SvcICMPForPathMTU, "on",
					annotations.SvcSourceRanges, "10.0.0.0/8,2001:db8::/32", annotations.SvcPrefixLists, plA))},
			want: []sgrules.Rule{
				cidr("icmp", 3, 4, "10.0.0.0/8"),
				cidr("icmpv6", 2, 0, "2001:db8::/32"),
				cidr("tcp", 80, 80, "10.0.0.0/8"), cidr("tcp", 80, 80, "2001:db8::/32"), prefixList("tcp", 80, plA),
				cidr("tcp", 443, 443, "10.0.0.0/8"), cidr("tcp", 443, 443, "2001:db8::/32"), prefixList("tcp", 443, plA),
			},
		},
		{
			name: "ICMP on with the default CIDRs",
			args: args{testService(ann(annotations.SvcIPAddressType, DualStack, annotations.SvcICMPForPathMTU, "on"))},
			want: []sgrules.Rule{
				cidr("icmp", 3, 4, "0.0.0.0/0"),
				cidr("icmpv6", 2, 0, "::/0"),
				cidr("tcp", 80, 80, "0.0.0.0/0"), cidr("tcp", 80, 80, "::/0"),
			},
		},
		{
			name: "ICMP off adds nothing",
			args: args{testService(ann(annotations.SvcICMPForPathMTU, "off"))},
			want: []sgrules.Rule{cidr("tcp", 80, 80, "0.0.0.0/0")},
		},
		{
			name: "duplicate source ranges collapse",
			args: args{testService(sourceRanges("10.0.0.0/8", " 10.0.0.0/8"))},
			want: []sgrules.Rule{cidr("tcp", 80, 80, "10.0.0.0/8")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := mustBuild(t, tt.args.svc, testSettings(), ServiceFacts{})
			if st.ManagedSG == nil {
				t.Fatalf("no managed SG; frontend = %q", st.LoadBalancer.Frontend)
			}
			if diff := cmp.Diff(tt.want, st.ManagedSG.Ingress); diff != "" {
				t.Errorf("managed SG ingress mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// wantProblem describes one expected Problem: Key and Value exactly, and words the Reason
// and the Fix must contain.
type wantProblem struct {
	Key, Value  string
	Reason, Fix string // substrings
}

func TestBuildServiceProblems(t *testing.T) {
	type args struct {
		svc   *corev1.Service
		s     func(*Settings)
		facts ServiceFacts
	}
	tests := []struct {
		name string
		args args
		want []wantProblem
	}{
		{
			name: "v6 CIDR in the annotation on an ipv4 NLB",
			args: args{svc: testService(ann(annotations.SvcSourceRanges, "10.0.0.0/8,2001:db8::/32"))},
			want: []wantProblem{{Key: annotations.SvcSourceRanges, Value: "2001:db8::/32",
				Reason: "unsupported v6 cidr 2001:db8::/32 when lb is not dualstack", Fix: annotations.SvcIPAddressType + ": dualstack"}},
		},
		{
			name: "v6 CIDR in spec.loadBalancerSourceRanges on an ipv4 NLB",
			args: args{svc: testService(sourceRanges("::/0"))},
			want: []wantProblem{{Key: "spec.loadBalancerSourceRanges", Value: "::/0",
				Reason: "unsupported v6 cidr ::/0", Fix: "remove the IPv6 CIDR"}},
		},
		{
			name: "malformed CIDR in spec.loadBalancerSourceRanges",
			args: args{svc: testService(sourceRanges("10.0.0.0/8", "10.0.0.0/33"))},
			want: []wantProblem{{Key: "spec.loadBalancerSourceRanges", Value: "10.0.0.0/33",
				Reason: "not a valid CIDR", Fix: "CIDRs such as"}},
		},
		{
			name: "malformed CIDR in the annotation is reported once, by the parser",
			args: args{svc: testService(ann(annotations.SvcSourceRanges, "10.0.0.0/8,bogus"))},
			want: []wantProblem{{Key: annotations.SvcSourceRanges, Value: "10.0.0.0/8,bogus",
				Reason: "not a valid CIDR", Fix: "CIDR"}},
		},
		{
			name: "custom SGs, manage-backend annotation true, backend SG disabled",
			args: args{
				svc: testService(ann(annotations.SvcSecurityGroups, "sg-custom", annotations.SvcManageBackendRules, "true")),
				s:   func(s *Settings) { s.EnableBackendSG = false },
			},
			want: []wantProblem{{Key: annotations.SvcManageBackendRules, Value: "true",
				Reason: "backendSG feature is required", Fix: "--enable-backend-security-group=true"}},
		},
		{
			name: "custom SGs, manage-backend flag on, backend SG disabled",
			args: args{
				svc: testService(ann(annotations.SvcSecurityGroups, "sg-custom")),
				s:   func(s *Settings) { s.EnableBackendSG, s.EnableManageBackendSGRules = false, true },
			},
			want: []wantProblem{{Key: annotations.SvcManageBackendRules, Value: "true (from --enable-manage-backend-security-group-rules)",
				Reason: "backendSG feature is required", Fix: "set the annotation to false"}},
		},
		{
			name: "existing NLB with SGs and disable-nlb-sg",
			args: args{
				svc:   testService(ann(annotations.SvcDisableNLBSG, "true")),
				facts: ServiceFacts{LBExists: true, LBHasSGs: true},
			},
			want: []wantProblem{{Key: annotations.SvcDisableNLBSG, Value: "true",
				Reason: "conflicting security groups configuration", Fix: "delete and recreate the Service"}},
		},
		{
			name: "existing NLB with SGs and the feature gate off",
			args: args{
				svc:   testService(),
				s:     func(s *Settings) { s.NLBSecurityGroup = false },
				facts: ServiceFacts{LBExists: true, LBHasSGs: true},
			},
			want: []wantProblem{{Key: "--feature-gates", Value: "NLBSecurityGroup=false",
				Reason: "conflicting security groups configuration", Fix: "remove the setting"}},
		},
		{
			name: "instance targets without a NodePort",
			args: args{svc: testService(ports(corev1.ServicePort{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80}))},
			want: []wantProblem{{Key: "spec.ports[http].nodePort", Value: "0", Reason: "need a NodePort", Fix: "allocateLoadBalancerNodePorts"}},
		},
		{
			name: "SCTP port",
			args: args{svc: testService(ports(corev1.ServicePort{Protocol: corev1.ProtocolSCTP, Port: 9000, NodePort: 30900}))},
			want: []wantProblem{{Key: "spec.ports[9000].protocol", Value: "SCTP", Reason: "TCP and UDP only", Fix: "TCP or UDP"}},
		},
		{
			name: "all problems at once, sorted by key",
			args: args{svc: testService(sourceRanges("2001:db8::/32"), ann(annotations.SvcScheme, "public"))},
			want: []wantProblem{
				{Key: annotations.SvcScheme, Value: "public", Reason: "unknown scheme", Fix: "internet-facing"},
				{Key: "spec.loadBalancerSourceRanges", Value: "2001:db8::/32", Reason: "unsupported v6 cidr", Fix: "dualstack"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testSettings()
			if tt.args.s != nil {
				tt.args.s(&s)
			}
			st, problems := BuildService(tt.args.svc, s, tt.args.facts)
			if st != nil {
				t.Errorf("BuildService returned a stack together with problems")
			}
			// Reason and Fix are matched by substring: a matching one is shown as the
			// wanted substring, so the diff only shows what really differs.
			var got []wantProblem
			for i, p := range problems {
				g := wantProblem{Key: p.Key, Value: p.Value, Reason: p.Reason, Fix: p.Fix}
				if i < len(tt.want) {
					if strings.Contains(g.Reason, tt.want[i].Reason) {
						g.Reason = tt.want[i].Reason
					}
					if strings.Contains(g.Fix, tt.want[i].Fix) {
						g.Fix = tt.want[i].Fix
					}
				}
				got = append(got, g)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems mismatch (-want +got; Reason and Fix are substrings):\n%s", diff)
			}
			for _, p := range problems {
				if p.Fix == "" {
					t.Errorf("problem %v names no fix", p)
				}
			}
		})
	}
}

// frontendView is the part of a stack that says which SGs the NLB gets and who manages
// the target rules.
type frontendView struct {
	Frontend     Frontend
	CustomSGRefs []string
	UseBackendSG bool
	HasManagedSG bool
	Manage       bool
	Source       string
	Notices      []string // reasons
}

func viewFrontend(st *Stack) frontendView {
	v := frontendView{
		Frontend:     st.LoadBalancer.Frontend,
		CustomSGRefs: st.LoadBalancer.CustomSGRefs,
		UseBackendSG: st.LoadBalancer.UseBackendSG,
		HasManagedSG: st.ManagedSG != nil,
		Manage:       st.Networking.Manage,
		Source:       st.Networking.Source,
	}
	for _, n := range st.Notices {
		v.Notices = append(v.Notices, n.Reason)
	}
	return v
}

func TestBuildServiceFrontend(t *testing.T) {
	type args struct {
		svc   *corev1.Service
		s     func(*Settings)
		facts ServiceFacts
	}
	tests := []struct {
		name string
		args args
		want frontendView
	}{
		{
			name: "managed frontend with backend SG",
			args: args{svc: testService()},
			want: frontendView{Frontend: FrontendManaged, UseBackendSG: true, HasManagedSG: true, Manage: true, Source: SourceBackend},
		},
		{
			name: "managed frontend, backend SG disabled: targets admit the frontend SG",
			args: args{svc: testService(), s: func(s *Settings) { s.EnableBackendSG = false }},
			want: frontendView{Frontend: FrontendManaged, HasManagedSG: true, Manage: true, Source: SourceFrontend},
		},
		{
			name: "custom SGs: manage defaults to false",
			args: args{svc: testService(ann(annotations.SvcSecurityGroups, "sg-1, my-sg"))},
			want: frontendView{Frontend: FrontendCustom, CustomSGRefs: []string{"sg-1", "my-sg"}},
		},
		{
			name: "custom SGs with manage annotation true: backend SG attached",
			args: args{svc: testService(ann(annotations.SvcSecurityGroups, "sg-1", annotations.SvcManageBackendRules, "true"))},
			want: frontendView{Frontend: FrontendCustom, CustomSGRefs: []string{"sg-1"}, UseBackendSG: true, Manage: true, Source: SourceBackend},
		},
		{
			name: "custom SGs with the cluster-wide manage flag",
			args: args{svc: testService(ann(annotations.SvcSecurityGroups, "sg-1")), s: func(s *Settings) { s.EnableManageBackendSGRules = true }},
			want: frontendView{Frontend: FrontendCustom, CustomSGRefs: []string{"sg-1"}, UseBackendSG: true, Manage: true, Source: SourceBackend},
		},
		{
			name: "custom SGs: annotation false beats the flag",
			args: args{
				svc: testService(ann(annotations.SvcSecurityGroups, "sg-1", annotations.SvcManageBackendRules, "false")),
				s:   func(s *Settings) { s.EnableManageBackendSGRules = true },
			},
			want: frontendView{Frontend: FrontendCustom, CustomSGRefs: []string{"sg-1"}},
		},
		{
			name: "feature gate off: no SGs, legacy rules",
			args: args{svc: testService(), s: func(s *Settings) { s.NLBSecurityGroup = false }},
			want: frontendView{Frontend: FrontendNone, Manage: true},
		},
		{
			name: "feature gate off with the SG annotation: ignored with a notice",
			args: args{svc: testService(ann(annotations.SvcSecurityGroups, "sg-1")), s: func(s *Settings) { s.NLBSecurityGroup = false }},
			want: frontendView{Frontend: FrontendNone, Manage: true, Notices: []string{"SecurityGroupsIgnored"}},
		},
		{
			name: "disable-nlb-sg with the SG annotation: ignored with a notice",
			args: args{svc: testService(ann(annotations.SvcDisableNLBSG, "true", annotations.SvcSecurityGroups, "sg-1"))},
			want: frontendView{Frontend: FrontendNone, Manage: true, Notices: []string{"SecurityGroupsIgnored"}},
		},
		{
			name: "disable-nlb-sg with manage false: nothing on targets",
			args: args{svc: testService(ann(annotations.SvcDisableNLBSG, "true", annotations.SvcManageBackendRules, "false"))},
			want: frontendView{Frontend: FrontendNone},
		},
		{
			name: "existing NLB without SGs stays without",
			args: args{svc: testService(), facts: ServiceFacts{LBExists: true, LBHasSGs: false, LBScheme: SchemeInternal}},
			want: frontendView{Frontend: FrontendNone, Manage: true},
		},
		{
			name: "existing NLB without SGs and the SG annotation: notice",
			args: args{svc: testService(ann(annotations.SvcSecurityGroups, "sg-1")), facts: ServiceFacts{LBExists: true}},
			want: frontendView{Frontend: FrontendNone, Manage: true, Notices: []string{"SecurityGroupsIgnored"}},
		},
		{
			name: "existing NLB with SGs keeps a managed SG",
			args: args{svc: testService(), facts: ServiceFacts{LBExists: true, LBHasSGs: true}},
			want: frontendView{Frontend: FrontendManaged, UseBackendSG: true, HasManagedSG: true, Manage: true, Source: SourceBackend},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testSettings()
			if tt.args.s != nil {
				tt.args.s(&s)
			}
			st := mustBuild(t, tt.args.svc, s, tt.args.facts)
			if diff := cmp.Diff(tt.want, viewFrontend(st)); diff != "" {
				t.Errorf("frontend mismatch (-want +got):\n%s", diff)
			}
			if st.LoadBalancer.Frontend == FrontendNone && len(st.Networking.Needs) > 0 {
				t.Errorf("an NLB without SGs has SG-sourced needs: %v", st.Networking.Needs)
			}
			if st.LoadBalancer.Frontend == FrontendNone && st.LoadBalancer.PrivateLinkEnforce != "" {
				t.Errorf("an NLB without SGs has PrivateLinkEnforce %q", st.LoadBalancer.PrivateLinkEnforce)
			}
			for _, n := range st.Notices {
				if !strings.Contains(n.Message, annotations.SvcSecurityGroups) || !strings.Contains(n.Message, "sg-1") {
					t.Errorf("notice %q names neither the annotation nor its value", n.Message)
				}
			}
		})
	}
}

func TestBuildServiceNeeds(t *testing.T) {
	tcp := func(p int32) sgrules.Need { return sgrules.Need{Protocol: sgrules.ProtoTCP, Port: p} }
	udp := func(p int32) sgrules.Need { return sgrules.Need{Protocol: sgrules.ProtoUDP, Port: p} }
	local := func(hcNodePort int32) func(*corev1.Service) {
		return func(s *corev1.Service) {
			s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
			s.Spec.HealthCheckNodePort = hcNodePort
		}
	}
	dnsPort := corev1.ServicePort{Name: "dns", Protocol: corev1.ProtocolUDP, Port: 53, TargetPort: intstr.FromInt32(5353), NodePort: 30053}
	type args struct {
		svc   *corev1.Service
		s     func(*Settings)
		facts ServiceFacts
	}
	tests := []struct {
		name string
		args args
		want []sgrules.Need
	}{
		{
			name: "instance target: the NodePort",
			args: args{svc: testService()},
			want: []sgrules.Need{tcp(30080)},
		},
		{
			name: "several ports, sorted",
			args: args{svc: testService(ports(tcpPort("https", 443, 30443), tcpPort("http", 80, 30080)))},
			want: []sgrules.Need{tcp(30080), tcp(30443)},
		},
		{
			name: "numeric HC port differing from the traffic port adds a tcp need",
			args: args{svc: testService(ann(annotations.SvcHealthCheckPort, "10256"))},
			want: []sgrules.Need{tcp(10256), tcp(30080)},
		},
		{
			name: "numeric HC port equal to the traffic port adds nothing",
			args: args{svc: testService(ann(annotations.SvcHealthCheckPort, "30080"))},
			want: []sgrules.Need{tcp(30080)},
		},
		{
			name: "externalTrafficPolicy Local: the health-check NodePort",
			args: args{svc: testService(local(32100))},
			want: []sgrules.Need{tcp(30080), tcp(32100)},
		},
		{
			name: "UDP port with traffic-port HC: udp and tcp on the port",
			args: args{svc: testService(ports(dnsPort))},
			want: []sgrules.Need{tcp(30053), udp(30053)},
		},
		{
			name: "UDP port with another HC port: udp on the port, tcp on the HC port",
			args: args{svc: testService(ports(dnsPort), ann(annotations.SvcHealthCheckPort, "8080"))},
			want: []sgrules.Need{tcp(8080), udp(30053)},
		},
		{
			name: "--disable-restricted-sg-rules: all tcp ports",
			args: args{svc: testService(), s: func(s *Settings) { s.DisableRestrictedSGRules = true }},
			want: []sgrules.Need{{Protocol: sgrules.ProtoTCP, AllPorts: true}},
		},
		{
			name: "--disable-restricted-sg-rules with a UDP port: all tcp and all udp",
			args: args{svc: testService(ports(tcpPort("http", 80, 30080), dnsPort)), s: func(s *Settings) { s.DisableRestrictedSGRules = true }},
			want: []sgrules.Need{{Protocol: sgrules.ProtoTCP, AllPorts: true}, {Protocol: sgrules.ProtoUDP, AllPorts: true}},
		},
		{
			name: "ip targets: the numeric targetPort",
			args: args{svc: testService(ann(annotations.SvcNLBTargetType, TargetIP))},
			want: []sgrules.Need{tcp(8080)},
		},
		{
			name: "ip targets: named targetPort resolved from the endpoints",
			args: args{
				svc: testService(ann(annotations.SvcNLBTargetType, TargetIP), ports(corev1.ServicePort{
					Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, TargetPort: intstr.FromString("web")})),
				facts: ServiceFacts{EndpointPorts: map[string]int32{"http": 9090}},
			},
			want: []sgrules.Need{tcp(9090)},
		},
		{
			name: "ip targets: named targetPort without endpoints yet: nothing",
			args: args{svc: testService(ann(annotations.SvcNLBTargetType, TargetIP), ports(corev1.ServicePort{
				Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, TargetPort: intstr.FromString("web")}))},
			want: nil,
		},
		{
			name: "backend SG disabled: same needs, from the frontend SG",
			args: args{svc: testService(), s: func(s *Settings) { s.EnableBackendSG = false }},
			want: []sgrules.Need{tcp(30080)},
		},
		{
			name: "custom SGs without manage: no needs",
			args: args{svc: testService(ann(annotations.SvcSecurityGroups, "sg-1"))},
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testSettings()
			if tt.args.s != nil {
				tt.args.s(&s)
			}
			st := mustBuild(t, tt.args.svc, s, tt.args.facts)
			if diff := cmp.Diff(tt.want, st.Networking.Needs); diff != "" {
				t.Errorf("needs mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBuildServiceTargetGroups(t *testing.T) {
	type tgView struct {
		Protocol, TargetType string
		Port, TrafficPort    int32
		TargetPortName       string
		HealthCheck          HealthCheck
		ListenerPort         int32
	}
	ipTargets := ann(annotations.SvcNLBTargetType, TargetIP)
	tests := []struct {
		name  string
		svc   *corev1.Service
		facts ServiceFacts
		want  []tgView
	}{
		{
			name: "instance targets: NodePort, traffic-port TCP health check",
			svc:  testService(),
			want: []tgView{{Protocol: "TCP", TargetType: TargetInstance, Port: 30080, TrafficPort: 30080, HealthCheck: HealthCheck{Protocol: "TCP", Port: TrafficPort}, ListenerPort: 80}},
		},
		{
			name: "instance targets, externalTrafficPolicy Local: HTTP health check on the HC NodePort",
			svc: testService(func(s *corev1.Service) {
				s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal
				s.Spec.HealthCheckNodePort = 32100
			}),
			want: []tgView{{Protocol: "TCP", TargetType: TargetInstance, Port: 30080, TrafficPort: 30080, HealthCheck: HealthCheck{Protocol: "HTTP", Port: "32100", Path: "/healthz"}, ListenerPort: 80}},
		},
		{
			name: "ip targets with a numeric targetPort",
			svc:  testService(ipTargets),
			want: []tgView{{Protocol: "TCP", TargetType: TargetIP, Port: 8080, TrafficPort: 8080, HealthCheck: HealthCheck{Protocol: "TCP", Port: TrafficPort}, ListenerPort: 80}},
		},
		{
			name: "nlb-ip type means ip targets",
			svc:  testService(ann(annotations.SvcLoadBalancerType, "nlb-ip")),
			want: []tgView{{Protocol: "TCP", TargetType: TargetIP, Port: 8080, TrafficPort: 8080, HealthCheck: HealthCheck{Protocol: "TCP", Port: TrafficPort}, ListenerPort: 80}},
		},
		{
			name:  "ip targets with a named targetPort: TG port 1, traffic port from the endpoints",
			svc:   testService(ipTargets, ports(corev1.ServicePort{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, TargetPort: intstr.FromString("web")})),
			facts: ServiceFacts{EndpointPorts: map[string]int32{"http": 9090}},
			want:  []tgView{{Protocol: "TCP", TargetType: TargetIP, Port: 1, TrafficPort: 9090, TargetPortName: "web", HealthCheck: HealthCheck{Protocol: "TCP", Port: TrafficPort}, ListenerPort: 80}},
		},
		{
			// The API server defaults targetPort to port, but BuildService handles a zero
			// targetPort itself (targetPort()), so the TG port must agree with the traffic
			// port (naming.ServiceTargetGroupPort: "empty means ... port is used").
			name: "ip targets with no targetPort: the Service port",
			svc:  testService(ipTargets, ports(corev1.ServicePort{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80})),
			want: []tgView{{Protocol: "TCP", TargetType: TargetIP, Port: 80, TrafficPort: 80, HealthCheck: HealthCheck{Protocol: "TCP", Port: TrafficPort}, ListenerPort: 80}},
		},
		{
			name: "HTTP health check annotations",
			svc:  testService(ann(annotations.SvcHealthCheckProtocol, "http", annotations.SvcHealthCheckPath, "/ready", annotations.SvcHealthCheckPort, "8081")),
			want: []tgView{{Protocol: "TCP", TargetType: TargetInstance, Port: 30080, TrafficPort: 30080, HealthCheck: HealthCheck{Protocol: "HTTP", Port: "8081", Path: "/ready"}, ListenerPort: 80}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := mustBuild(t, tt.svc, testSettings(), tt.facts)
			var got []tgView
			for i, tg := range st.TargetGroups {
				v := tgView{Protocol: tg.Protocol, TargetType: tg.TargetType, Port: tg.Port, TrafficPort: tg.TrafficPort,
					TargetPortName: tg.TargetPortName, HealthCheck: tg.HealthCheck}
				if i < len(st.Listeners) {
					v.ListenerPort = st.Listeners[i].Port
					if st.Listeners[i].TargetGroup != tg.ResourceID {
						t.Errorf("listener %d forwards to %q, want %q", i, st.Listeners[i].TargetGroup, tg.ResourceID)
					}
				}
				got = append(got, v)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("target groups mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestBuildServiceNamesAndTags checks the managed SG, load balancer and target group
// against naming's formulas: the names are how lbsg finds upstream's resources.
func TestBuildServiceNamesAndTags(t *testing.T) {
	svc := testService(ann(annotations.SvcAdditionalTags, "team=web, cost=1"))
	s := testSettings()
	s.DefaultTags = map[string]string{"env": "prod", "team": "platform"}
	st := mustBuild(t, svc, s, ServiceFacts{})

	stack := map[string]string{naming.TagCluster: testCluster, naming.ServiceStackTag: "shop/web"}
	with := func(extra map[string]string) map[string]string { return naming.MergeTags(stack, extra) }

	if diff := cmp.Diff(Owner{Kind: "Service", Namespace: "shop", Name: "web"}, st.Owner); diff != "" {
		t.Errorf("owner mismatch (-want +got):\n%s", diff)
	}
	if st.StackID != "shop/web" {
		t.Errorf("StackID = %q, want shop/web", st.StackID)
	}
	wantSG := &SecurityGroup{
		Name:        naming.ServiceSGName(testCluster, "shop", "web", string(svc.UID)),
		Description: naming.ManagedSGDescription,
		// --default-tags win over the annotation's tags unless DefaultTagsLowPriority.
		Tags:    with(map[string]string{naming.ServiceResourceTag: naming.ManagedSGResourceID, "env": "prod", "team": "platform", "cost": "1"}),
		Ingress: []sgrules.Rule{cidr("tcp", 80, 80, "0.0.0.0/0")},
	}
	if diff := cmp.Diff(wantSG, st.ManagedSG); diff != "" {
		t.Errorf("managed SG mismatch (-want +got):\n%s", diff)
	}
	wantLB := LoadBalancer{
		Name:          naming.ServiceLBName(testCluster, "shop", "web", string(svc.UID), SchemeInternal),
		Type:          TypeNetwork,
		Scheme:        SchemeInternal,
		IPAddressType: IPv4,
		Frontend:      FrontendManaged,
		UseBackendSG:  true,
		Tags:          with(map[string]string{naming.ServiceResourceTag: naming.LoadBalancerResourceID, "env": "prod", "team": "platform", "cost": "1"}),
	}
	if diff := cmp.Diff(wantLB, st.LoadBalancer); diff != "" {
		t.Errorf("load balancer mismatch (-want +got):\n%s", diff)
	}
	if len(st.TargetGroups) != 1 {
		t.Fatalf("got %d target groups, want 1", len(st.TargetGroups))
	}
	tg := st.TargetGroups[0]
	wantName := naming.ServiceTargetGroupName(naming.TargetGroupNameInput{Cluster: testCluster, Namespace: "shop", Name: "web",
		UID: string(svc.UID), Port: 80, TargetGroupPort: 30080, TargetType: TargetInstance, Protocol: "TCP", HealthCheckProtocol: "TCP"})
	if tg.Name != wantName {
		t.Errorf("target group name = %q, want %q", tg.Name, wantName)
	}
	if tg.ResourceID != naming.TargetGroupResourceID("shop", "web", 80) {
		t.Errorf("target group ResourceID = %q", tg.ResourceID)
	}
	wantTGTags := with(map[string]string{naming.ServiceResourceTag: "shop/web:80", "env": "prod", "team": "platform", "cost": "1"})
	if diff := cmp.Diff(wantTGTags, tg.Tags); diff != "" {
		t.Errorf("target group tags mismatch (-want +got):\n%s", diff)
	}

	t.Run("low-priority default tags", func(t *testing.T) {
		s := s
		s.DefaultTagsLowPriority = true
		st := mustBuild(t, svc, s, ServiceFacts{})
		if got := st.ManagedSG.Tags["team"]; got != "web" {
			t.Errorf("team tag = %q, want the annotation's web", got)
		}
	})
	t.Run("aws-load-balancer-name overrides the LB name only", func(t *testing.T) {
		st := mustBuild(t, testService(ann(annotations.SvcLoadBalancerName, "my-nlb")), testSettings(), ServiceFacts{})
		if st.LoadBalancer.Name != "my-nlb" {
			t.Errorf("LB name = %q, want my-nlb", st.LoadBalancer.Name)
		}
		if st.ManagedSG.Name != wantSG.Name {
			t.Errorf("SG name = %q, want %q", st.ManagedSG.Name, wantSG.Name)
		}
	})
	t.Run("tracking tags cannot be set by additional tags", func(t *testing.T) {
		st, problems := BuildService(testService(ann(annotations.SvcAdditionalTags, naming.TagCluster+"=evil")), testSettings(), ServiceFacts{})
		if st != nil || len(problems) != 1 || problems[0].Key != annotations.SvcAdditionalTags {
			t.Errorf("got stack %v, problems %v; want one problem on %s", st != nil, problems, annotations.SvcAdditionalTags)
		}
	})
}

func TestBuildServiceScheme(t *testing.T) {
	type args struct {
		svc      *corev1.Service
		defaults string
		facts    ServiceFacts
	}
	tests := []struct {
		name string
		args args
		want string
	}{
		{name: "built-in default", args: args{svc: testService()}, want: SchemeInternal},
		{name: "--default-load-balancer-scheme", args: args{svc: testService(), defaults: SchemeInternet}, want: SchemeInternet},
		{name: "annotation", args: args{svc: testService(ann(annotations.SvcScheme, SchemeInternet))}, want: SchemeInternet},
		{name: "legacy internal annotation false", args: args{svc: testService(ann(annotations.SvcInternal, "false"))}, want: SchemeInternet},
		{name: "annotation beats the existing LB", args: args{
			svc:   testService(ann(annotations.SvcScheme, SchemeInternal)),
			facts: ServiceFacts{LBExists: true, LBHasSGs: true, LBScheme: SchemeInternet}}, want: SchemeInternal},
		{name: "existing LB beats the default", args: args{
			svc: testService(), defaults: SchemeInternal,
			facts: ServiceFacts{LBExists: true, LBHasSGs: true, LBScheme: SchemeInternet}}, want: SchemeInternet},
		{name: "scheme of a LB that does not exist is ignored", args: args{
			svc: testService(), defaults: SchemeInternal, facts: ServiceFacts{LBScheme: SchemeInternet}}, want: SchemeInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testSettings()
			s.DefaultScheme = tt.args.defaults
			st := mustBuild(t, tt.args.svc, s, tt.args.facts)
			if st.LoadBalancer.Scheme != tt.want {
				t.Errorf("scheme = %q, want %q", st.LoadBalancer.Scheme, tt.want)
			}
			// The LB name hashes the scheme, so a scheme change replaces the NLB.
			if want := naming.ServiceLBName(testCluster, "shop", "web", string(tt.args.svc.UID), tt.want); st.LoadBalancer.Name != want {
				t.Errorf("LB name = %q, want %q", st.LoadBalancer.Name, want)
			}
		})
	}
}

func TestBuildServiceLegacy(t *testing.T) {
	gateOff := func(s *Settings) { s.NLBSecurityGroup = false }
	tcp := func(p int32) sgrules.Need { return sgrules.Need{Protocol: sgrules.ProtoTCP, Port: p} }
	tests := []struct {
		name string
		svc  *corev1.Service
		want []LegacyNeed
	}{
		{
			name: "TCP instance targets, client IP preserved, default range on an internal NLB: the VPC, no HC rule",
			svc:  testService(),
			want: []LegacyNeed{{Need: tcp(30080), Peers: []string{PeerVPC}}},
		},
		{
			name: "source ranges with client IP preserved: traffic from the ranges, HC from the subnets",
			svc:  testService(sourceRanges("10.1.0.0/16")),
			want: []LegacyNeed{{Need: tcp(30080), Peers: []string{"10.1.0.0/16"}}, {Need: tcp(30080), Peers: []string{PeerSubnets}}},
		},
		{
			name: "ip targets without client IP: the subnets",
			svc:  testService(ann(annotations.SvcNLBTargetType, TargetIP)),
			want: []LegacyNeed{{Need: tcp(8080), Peers: []string{PeerSubnets}}},
		},
		{
			name: "internet-facing default range",
			svc:  testService(ann(annotations.SvcScheme, SchemeInternet)),
			want: []LegacyNeed{{Need: tcp(30080), Peers: []string{"0.0.0.0/0"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testSettings()
			gateOff(&s)
			st := mustBuild(t, tt.svc, s, ServiceFacts{})
			if st.Networking.Source != "" || !st.Networking.Manage {
				t.Errorf("networking = %+v, want managed legacy rules", st.Networking)
			}
			if diff := cmp.Diff(tt.want, st.Networking.Legacy); diff != "" {
				t.Errorf("legacy needs mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// BuildService must not modify the Service it reads.
func TestBuildServiceDoesNotMutate(t *testing.T) {
	svc := testService(sourceRanges("10.0.0.0/8", "2001:db8::/32"), ann(annotations.SvcIPAddressType, DualStack, annotations.SvcICMPForPathMTU, "on"))
	before := svc.DeepCopy()
	mustBuild(t, svc, testSettings(), ServiceFacts{})
	if diff := cmp.Diff(before, svc); diff != "" {
		t.Errorf("BuildService modified the Service (-before +after):\n%s", diff)
	}
}
