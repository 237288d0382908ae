package spec

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/lbsg/lbsg/internal/annotations"
	"github.com/lbsg/lbsg/internal/authz"
	"github.com/lbsg/lbsg/internal/naming"
	"github.com/lbsg/lbsg/internal/sgrules"
)

const (
	albClassName = "alb"
	testCertARN  = "arn:aws:acm:us-east-1:111122223333:certificate/0a1b2c3d"
	testCertARN2 = "arn:aws:acm:us-east-1:111122223333:certificate/9f8e7d6c"
)

func strPtr(s string) *string { return &s }

// ingOpt changes a test Ingress.
type ingOpt func(*networkingv1.Ingress)

// testIngress is an Ingress shop/<name> of class alb with one rule: path "/" (Prefix) to
// Service web port 80. Each opt changes it.
func testIngress(name string, opts ...ingOpt) *networkingv1.Ingress {
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name, Annotations: map[string]string{}},
		Spec: networkingv1.IngressSpec{
			IngressClassName: strPtr(albClassName),
			Rules:            []networkingv1.IngressRule{httpRule("", prefixPath("/", svcBackend("web", 80)))},
		},
	}
	for _, o := range opts {
		o(ing)
	}
	return ing
}

func ingAnn(kv ...string) ingOpt {
	return func(ing *networkingv1.Ingress) {
		for i := 0; i+1 < len(kv); i += 2 {
			ing.Annotations[kv[i]] = kv[i+1]
		}
	}
}

func inGroup(name string) ingOpt { return ingAnn(annotations.IngGroupName, name) }

func inNamespace(ns string) ingOpt {
	return func(ing *networkingv1.Ingress) { ing.Namespace = ns }
}

func withRules(rules ...networkingv1.IngressRule) ingOpt {
	return func(ing *networkingv1.Ingress) { ing.Spec.Rules = rules }
}

func withDefaultBackend(svc string, port int32) ingOpt {
	return func(ing *networkingv1.Ingress) {
		be := svcBackend(svc, port)
		ing.Spec.DefaultBackend = &be
	}
}

func httpRule(host string, paths ...networkingv1.HTTPIngressPath) networkingv1.IngressRule {
	return networkingv1.IngressRule{Host: host, IngressRuleValue: networkingv1.IngressRuleValue{
		HTTP: &networkingv1.HTTPIngressRuleValue{Paths: paths}}}
}

func ingPath(p string, pt *networkingv1.PathType, be networkingv1.IngressBackend) networkingv1.HTTPIngressPath {
	return networkingv1.HTTPIngressPath{Path: p, PathType: pt, Backend: be}
}

func pathType(pt networkingv1.PathType) *networkingv1.PathType { return &pt }

func prefixPath(p string, be networkingv1.IngressBackend) networkingv1.HTTPIngressPath {
	return ingPath(p, pathType(networkingv1.PathTypePrefix), be)
}

func exactPath(p string, be networkingv1.IngressBackend) networkingv1.HTTPIngressPath {
	return ingPath(p, pathType(networkingv1.PathTypeExact), be)
}

func svcBackend(name string, port int32) networkingv1.IngressBackend {
	return networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
		Name: name, Port: networkingv1.ServiceBackendPort{Number: port}}}
}

func svcBackendNamed(name, port string) networkingv1.IngressBackend {
	return networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
		Name: name, Port: networkingv1.ServiceBackendPort{Name: port}}}
}

// albService is a NodePort Service shop/<name> with port "http" 80 -> 8080, NodePort 30080.
func albService(name string, mods ...func(*corev1.Service)) *corev1.Service {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name, UID: types.UID("uid-" + name), Annotations: map[string]string{}},
		Spec: corev1.ServiceSpec{
			Type:  corev1.ServiceTypeNodePort,
			Ports: []corev1.ServicePort{{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, TargetPort: intstr.FromInt32(8080), NodePort: 30080}},
		},
	}
	for _, m := range mods {
		m(svc)
	}
	return svc
}

func svcPorts(ps ...corev1.ServicePort) func(*corev1.Service) {
	return func(s *corev1.Service) { s.Spec.Ports = ps }
}

func svcAnn(kv ...string) func(*corev1.Service) {
	return func(s *corev1.Service) {
		for i := 0; i+1 < len(kv); i += 2 {
			s.Annotations[kv[i]] = kv[i+1]
		}
	}
}

func svcNamespace(ns string) func(*corev1.Service) {
	return func(s *corev1.Service) { s.Namespace = ns }
}

// apiService is shop/api: port "http" 8080 -> 9000, NodePort 31080.
func apiService() *corev1.Service {
	return albService("api", svcPorts(corev1.ServicePort{Name: "http", Protocol: corev1.ProtocolTCP, Port: 8080,
		TargetPort: intstr.FromInt32(9000), NodePort: 31080}))
}

func albFacts(svcs ...*corev1.Service) IngressFacts {
	f := IngressFacts{Services: map[string]*corev1.Service{}}
	for _, s := range svcs {
		f.Services[s.Namespace+"/"+s.Name] = s
	}
	return f
}

// extTG is a target group made outside Kubernetes.
const extTG = "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/ext/1"

// defaultFacts holds the Services shop/web and shop/api, and the target group extTG.
func defaultFacts() IngressFacts {
	f := albFacts(albService("web"), apiService())
	f.ForwardTargetGroups = map[string]authz.Owner{extTG: {Class: authz.External}}
	return f
}

func asMembers(ings ...*networkingv1.Ingress) []IngressMember {
	out := make([]IngressMember, len(ings))
	for i, ing := range ings {
		out[i] = IngressMember{Ingress: ing, ClassName: albClassName}
	}
	return out
}

func implicitGroup(ing *networkingv1.Ingress) IngressGroupID {
	return IngressGroupID{Namespace: ing.Namespace, Name: ing.Name}
}

var teamGroup = IngressGroupID{Name: "team"}

// mustBuildGroup builds the stack and fails the test on problems.
func mustBuildGroup(t *testing.T, g IngressGroupID, members []IngressMember, s Settings, facts IngressFacts) *Stack {
	t.Helper()
	st, problems := BuildIngressGroup(g, members, s, facts)
	if len(problems) > 0 {
		for _, p := range problems {
			t.Errorf("unexpected problem: %v", p)
		}
		t.FailNow()
	}
	if st == nil {
		t.Fatal("BuildIngressGroup returned neither a stack nor problems")
	}
	return st
}

// mustBuildOne builds the implicit group of one Ingress with the default settings and facts.
func mustBuildOne(t *testing.T, ing *networkingv1.Ingress) *Stack {
	t.Helper()
	return mustBuildGroup(t, implicitGroup(ing), asMembers(ing), testSettings(), defaultFacts())
}

// checkProblems compares problems with the wanted ones: Key and Value exactly, Reason and
// Fix by substring. Every problem must name a fix.
func checkProblems(t *testing.T, want []wantProblem, problems []*Problem) {
	t.Helper()
	var got []wantProblem
	for i, p := range problems {
		g := wantProblem{Key: p.Key, Value: p.Value, Reason: p.Reason, Fix: p.Fix}
		if i < len(want) {
			if strings.Contains(g.Reason, want[i].Reason) {
				g.Reason = want[i].Reason
			}
			if strings.Contains(g.Fix, want[i].Fix) {
				g.Fix = want[i].Fix
			}
		}
		got = append(got, g)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problems mismatch (-want +got; Reason and Fix are substrings):\n%s", diff)
	}
	for _, p := range problems {
		if p.Fix == "" {
			t.Errorf("problem %v names no fix", p)
		}
	}
}

func tcpNeed(p int32) sgrules.Need { return sgrules.Need{Protocol: sgrules.ProtoTCP, Port: p} }

// upstreamTGName is upstream's ALB target group name (buildTargetGroupName in
// pkg/ingress/model_build_target_group.go): sha256 over cluster, group ID, Ingress
// namespace, Ingress name, Service UID, backend port, target group port, target type,
// protocol and protocol version; shown as k8s-<svc ns:8>-<svc name:8>-<hash:10>.
func upstreamTGName(cluster, groupID, ingNS, ingName, svcUID, port string, tgPort int32, targetType, proto, svcNS, svcName string) string {
	h := sha256.New()
	for _, part := range []string{cluster, groupID, ingNS, ingName, svcUID, port, strconv.Itoa(int(tgPort)), targetType, proto, "HTTP1"} {
		h.Write([]byte(part))
	}
	sum := hex.EncodeToString(h.Sum(nil))
	clip := func(s string, n int) string {
		var b strings.Builder
		for _, c := range s {
			if ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') {
				b.WriteRune(c)
			}
		}
		if b.Len() > n {
			return b.String()[:n]
		}
		return b.String()
	}
	return "k8s-" + clip(svcNS, 8) + "-" + clip(svcName, 8) + "-" + sum[:10]
}

// TestBuildIngressGroupDefaults checks the whole stack of one Ingress with no annotations.
func TestBuildIngressGroupDefaults(t *testing.T) {
	ing := testIngress("web")
	s := testSettings()
	s.DefaultTags = map[string]string{"env": "prod"}
	st := mustBuildGroup(t, implicitGroup(ing), asMembers(ing), s, defaultFacts())

	stack := map[string]string{naming.TagCluster: testCluster, naming.IngressStackTag: "shop/web"}
	with := func(extra map[string]string) map[string]string { return naming.MergeTags(stack, extra) }

	if diff := cmp.Diff(Owner{Kind: "Ingress", Namespace: "shop", Name: "web"}, st.Owner); diff != "" {
		t.Errorf("owner mismatch (-want +got):\n%s", diff)
	}
	if st.StackID != "shop/web" || st.StackTag != naming.IngressStackTag || st.ResourceTag != naming.IngressResourceTag {
		t.Errorf("StackID, StackTag, ResourceTag = %q, %q, %q; want shop/web, %s, %s",
			st.StackID, st.StackTag, st.ResourceTag, naming.IngressStackTag, naming.IngressResourceTag)
	}
	wantLB := LoadBalancer{
		Name:          naming.IngressLBName(testCluster, false, "shop", "web", SchemeInternal),
		Type:          TypeApplication,
		Scheme:        SchemeInternal,
		IPAddressType: IPv4,
		Frontend:      FrontendManaged,
		UseBackendSG:  true,
		Tags:          with(map[string]string{naming.IngressResourceTag: naming.LoadBalancerResourceID, "env": "prod"}),
	}
	if diff := cmp.Diff(wantLB, st.LoadBalancer); diff != "" {
		t.Errorf("load balancer mismatch (-want +got):\n%s", diff)
	}
	wantSG := &SecurityGroup{
		Name:        naming.IngressSGName(testCluster, "shop", "web"),
		Description: "[k8s] Managed SecurityGroup for LoadBalancer",
		Tags: map[string]string{
			"elbv2.k8s.aws/cluster":    testCluster,
			"ingress.k8s.aws/stack":    "shop/web",
			"ingress.k8s.aws/resource": "ManagedLBSecurityGroup",
			"env":                      "prod",
		},
		Ingress: []sgrules.Rule{cidr("tcp", 80, 80, "0.0.0.0/0")},
	}
	if diff := cmp.Diff(wantSG, st.ManagedSG); diff != "" {
		t.Errorf("managed SG mismatch (-want +got):\n%s", diff)
	}
	if len(st.TargetGroups) != 1 {
		t.Fatalf("got %d target groups, want 1", len(st.TargetGroups))
	}
	tg := st.TargetGroups[0]
	// The name's hash is checked by TestBuildIngressGroupTargetGroupNameUpstream.
	if !strings.HasPrefix(tg.Name, "k8s-shop-web-") || len(tg.Name) != len("k8s-shop-web-")+10 {
		t.Errorf("target group name = %q, want k8s-shop-web-<10 hex>", tg.Name)
	}
	tg.Name = ""
	wantTG := TargetGroup{
		ResourceID:       "shop/web-web:80",
		Protocol:         "HTTP",
		Port:             30080,
		TrafficPort:      30080,
		TargetType:       TargetInstance,
		HealthCheck:      HealthCheck{Protocol: "HTTP", Port: TrafficPort, Path: "/"},
		Tags:             with(map[string]string{naming.IngressResourceTag: "shop/web-web:80", "env": "prod"}),
		ServicePort:      80,
		ServicePortName:  "http",
		ServiceNamespace: "shop",
		ServiceName:      "web",
	}
	if diff := cmp.Diff(wantTG, tg); diff != "" {
		t.Errorf("target group mismatch (-want +got):\n%s", diff)
	}
	wantListeners := []Listener{{Port: 80, Protocol: "HTTP",
		Rules: []ListenerRule{{Priority: 1, Paths: []string{"/*"}, TargetGroup: "shop/web-web:80"}}}}
	if diff := cmp.Diff(wantListeners, st.Listeners); diff != "" {
		t.Errorf("listeners mismatch (-want +got):\n%s", diff)
	}
	wantNet := TargetNetworking{Manage: true, Source: SourceBackend, Needs: []sgrules.Need{tcpNeed(30080)}}
	if diff := cmp.Diff(wantNet, st.Networking); diff != "" {
		t.Errorf("networking mismatch (-want +got):\n%s", diff)
	}
	if len(st.Notices) != 0 {
		t.Errorf("unexpected notices: %v", st.Notices)
	}

	t.Run("low-priority default tags", func(t *testing.T) {
		s := s
		s.DefaultTagsLowPriority = true
		ing := testIngress("web", ingAnn(annotations.IngTags, "env=dev"))
		st := mustBuildGroup(t, implicitGroup(ing), asMembers(ing), s, defaultFacts())
		if got := st.ManagedSG.Tags["env"]; got != "dev" {
			t.Errorf("env tag = %q, want the annotation's dev", got)
		}
	})
	t.Run("default tags win by default", func(t *testing.T) {
		ing := testIngress("web", ingAnn(annotations.IngTags, "env=dev, team=web"))
		st := mustBuildGroup(t, implicitGroup(ing), asMembers(ing), s, defaultFacts())
		want := with(map[string]string{naming.IngressResourceTag: naming.ManagedSGResourceID, "env": "prod", "team": "web"})
		if diff := cmp.Diff(want, st.ManagedSG.Tags); diff != "" {
			t.Errorf("managed SG tags mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("tracking tags cannot be set by the tags annotation", func(t *testing.T) {
		ing := testIngress("web", ingAnn(annotations.IngTags, naming.IngressStackTag+"=evil"))
		st, problems := BuildIngressGroup(implicitGroup(ing), asMembers(ing), testSettings(), defaultFacts())
		if st != nil || len(problems) != 1 || problems[0].Key != annotations.IngTags || !strings.Contains(problems[0].Reason, "reserved") {
			t.Errorf("got stack %v, problems %v; want one reserved-key problem on %s", st != nil, problems, annotations.IngTags)
		}
	})
	t.Run("load-balancer-name overrides the ALB name only", func(t *testing.T) {
		st := mustBuildOne(t, testIngress("web", ingAnn(annotations.IngLoadBalancerName, "my-alb")))
		if st.LoadBalancer.Name != "my-alb" {
			t.Errorf("LB name = %q, want my-alb", st.LoadBalancer.Name)
		}
		if st.ManagedSG.Name != wantSG.Name {
			t.Errorf("SG name = %q, want %q", st.ManagedSG.Name, wantSG.Name)
		}
	})
	t.Run("subnets annotation", func(t *testing.T) {
		st := mustBuildOne(t, testIngress("web", ingAnn(annotations.IngSubnets, "subnet-0a, my-subnet")))
		if diff := cmp.Diff([]string{"subnet-0a", "my-subnet"}, st.LoadBalancer.SubnetRefs); diff != "" {
			t.Errorf("subnet refs mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("certificate without listen-ports: HTTPS 443", func(t *testing.T) {
		st := mustBuildOne(t, testIngress("web", ingAnn(annotations.IngCertificateARN, testCertARN)))
		want := []Listener{{Port: 443, Protocol: "HTTPS", Certificates: []string{testCertARN}, SSLPolicy: annotations.DefaultSSLPolicy, SSLPolicyIsDefault: true,
			Rules: []ListenerRule{{Priority: 1, Paths: []string{"/*"}, TargetGroup: "shop/web-web:80"}}}}
		if diff := cmp.Diff(want, st.Listeners); diff != "" {
			t.Errorf("listeners mismatch (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]sgrules.Rule{cidr("tcp", 443, 443, "0.0.0.0/0")}, st.ManagedSG.Ingress); diff != "" {
			t.Errorf("managed SG ingress mismatch (-want +got):\n%s", diff)
		}
	})
}

func TestBuildIngressGroupFrontendRules(t *testing.T) {
	const plA, plB = "pl-00aa11", "pl-00bb22"
	httpAndHTTPS := ingAnn(annotations.IngListenPorts, `[{"HTTP":80},{"HTTPS":443}]`, annotations.IngCertificateARN, testCertARN)
	tests := []struct {
		name   string
		ing    *networkingv1.Ingress
		params *ClassParams
		want   []sgrules.Rule
	}{
		{
			name: "default 0.0.0.0/0 on ipv4",
			ing:  testIngress("web"),
			want: []sgrules.Rule{cidr("tcp", 80, 80, "0.0.0.0/0")},
		},
		{
			name: "explicit ipv4",
			ing:  testIngress("web", ingAnn(annotations.IngIPAddressType, "ipv4")),
			want: []sgrules.Rule{cidr("tcp", 80, 80, "0.0.0.0/0")},
		},
		{
			name: "dualstack adds ::/0",
			ing:  testIngress("web", ingAnn(annotations.IngIPAddressType, "dualstack")),
			want: []sgrules.Rule{cidr("tcp", 80, 80, "0.0.0.0/0"), cidr("tcp", 80, 80, "::/0")},
		},
		{
			name: "dualstack-without-public-ipv4 adds ::/0",
			ing:  testIngress("web", ingAnn(annotations.IngIPAddressType, "dualstack-without-public-ipv4")),
			want: []sgrules.Rule{cidr("tcp", 80, 80, "0.0.0.0/0"), cidr("tcp", 80, 80, "::/0")},
		},
		{
			name: "ports x CIDRs",
			ing:  testIngress("web", httpAndHTTPS, ingAnn(annotations.IngInboundCIDRs, "10.0.0.0/8, 192.168.0.0/16")),
			want: []sgrules.Rule{
				cidr("tcp", 80, 80, "10.0.0.0/8"), cidr("tcp", 80, 80, "192.168.0.0/16"),
				cidr("tcp", 443, 443, "10.0.0.0/8"), cidr("tcp", 443, 443, "192.168.0.0/16"),
			},
		},
		{
			name: "dualstack with v4 and v6 CIDRs",
			ing:  testIngress("web", ingAnn(annotations.IngIPAddressType, "dualstack", annotations.IngInboundCIDRs, "2001:db8::/32,10.0.0.0/8")),
			want: []sgrules.Rule{cidr("tcp", 80, 80, "10.0.0.0/8"), cidr("tcp", 80, 80, "2001:db8::/32")},
		},
		{
			name: "host bits give the network AWS stores",
			ing:  testIngress("web", ingAnn(annotations.IngInboundCIDRs, "10.0.0.1/24")),
			want: []sgrules.Rule{cidr("tcp", 80, 80, "10.0.0.0/24")},
		},
		{
			name: "prefix lists only: no default CIDR",
			ing:  testIngress("web", httpAndHTTPS, ingAnn(annotations.IngPrefixLists, plA+", "+plB)),
			want: []sgrules.Rule{
				prefixList("tcp", 80, plA), prefixList("tcp", 80, plB),
				prefixList("tcp", 443, plA), prefixList("tcp", 443, plB),
			},
		},
		{
			name: "prefix lists and CIDRs",
			ing:  testIngress("web", ingAnn(annotations.IngPrefixLists, plA, annotations.IngInboundCIDRs, "10.0.0.0/8")),
			want: []sgrules.Rule{cidr("tcp", 80, 80, "10.0.0.0/8"), prefixList("tcp", 80, plA)},
		},
		{
			name: "duplicate CIDRs collapse",
			ing:  testIngress("web", ingAnn(annotations.IngInboundCIDRs, "10.0.0.0/8,10.0.0.0/8")),
			want: []sgrules.Rule{cidr("tcp", 80, 80, "10.0.0.0/8")},
		},
		{
			name:   "IngressClassParams inboundCIDRs win over the annotation",
			ing:    testIngress("web", ingAnn(annotations.IngInboundCIDRs, "10.0.0.0/8")),
			params: &ClassParams{Name: "p", InboundCIDRs: []string{"192.0.2.0/24"}},
			want:   []sgrules.Rule{cidr("tcp", 80, 80, "192.0.2.0/24")},
		},
		{
			name:   "IngressClassParams prefix lists win over the annotation",
			ing:    testIngress("web", ingAnn(annotations.IngPrefixLists, plA)),
			params: &ClassParams{Name: "p", PrefixLists: []string{plB}},
			want:   []sgrules.Rule{prefixList("tcp", 80, plB)},
		},
		{
			name:   "IngressClassParams ipAddressType dualstack wins over the annotation",
			ing:    testIngress("web", ingAnn(annotations.IngIPAddressType, "ipv4")),
			params: &ClassParams{Name: "p", IPAddressType: "dualstack"},
			want:   []sgrules.Rule{cidr("tcp", 80, 80, "0.0.0.0/0"), cidr("tcp", 80, 80, "::/0")},
		},
		{
			name:   "empty IngressClassParams change nothing",
			ing:    testIngress("web", ingAnn(annotations.IngInboundCIDRs, "10.0.0.0/8")),
			params: &ClassParams{Name: "p"},
			want:   []sgrules.Rule{cidr("tcp", 80, 80, "10.0.0.0/8")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := asMembers(tt.ing)
			m[0].Params = tt.params
			st := mustBuildGroup(t, implicitGroup(tt.ing), m, testSettings(), defaultFacts())
			if st.ManagedSG == nil {
				t.Fatalf("no managed SG; frontend = %q", st.LoadBalancer.Frontend)
			}
			if diff := cmp.Diff(tt.want, st.ManagedSG.Ingress); diff != "" {
				t.Errorf("managed SG ingress mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestBuildIngressGroupExplicitGroup merges three Ingresses (reference §2.4): ports are
// merged, the CIDRs of the members that set them apply to their ports, and a port nobody
// restricts is open to 0.0.0.0/0. Rule priorities follow group.order, then namespace/name.
func TestBuildIngressGroupExplicitGroup(t *testing.T) {
	alpha := func(opts ...ingOpt) *networkingv1.Ingress {
		return testIngress("alpha", append([]ingOpt{inGroup("team"),
			ingAnn(annotations.IngListenPorts, `[{"HTTP":80}]`),
			withRules(httpRule("", prefixPath("/a", svcBackend("web", 80))))}, opts...)...)
	}
	beta := testIngress("beta", inGroup("team"), ingAnn(
		annotations.IngGroupOrder, "-5",
		annotations.IngListenPorts, `[{"HTTP":80},{"HTTPS":443}]`,
		annotations.IngCertificateARN, testCertARN,
		annotations.IngInboundCIDRs, "172.16.0.0/12, 10.0.0.0/8",
	), withRules(httpRule("beta.example.com", prefixPath("/", svcBackend("api", 8080)))))
	gamma := testIngress("gamma", inGroup("team"), ingAnn(annotations.IngListenPorts, `[{"HTTP":8080}]`),
		withRules(httpRule("", exactPath("/g", svcBackend("web", 80)))))

	wantRules := []sgrules.Rule{
		cidr("tcp", 80, 80, "10.0.0.0/8"), cidr("tcp", 80, 80, "172.16.0.0/12"),
		cidr("tcp", 443, 443, "10.0.0.0/8"), cidr("tcp", 443, 443, "172.16.0.0/12"),
		cidr("tcp", 8080, 8080, "0.0.0.0/0"),
	}
	wantListeners := []Listener{
		{Port: 80, Protocol: "HTTP", Rules: []ListenerRule{
			{Priority: 1, Hosts: []string{"beta.example.com"}, Paths: []string{"/*"}, TargetGroup: "shop/beta-api:8080"},
			{Priority: 2, Paths: []string{"/a", "/a/*"}, TargetGroup: "shop/alpha-web:80"},
		}},
		{Port: 443, Protocol: "HTTPS", Certificates: []string{testCertARN}, SSLPolicy: annotations.DefaultSSLPolicy, SSLPolicyIsDefault: true, Rules: []ListenerRule{
			{Priority: 1, Hosts: []string{"beta.example.com"}, Paths: []string{"/*"}, TargetGroup: "shop/beta-api:8080"},
		}},
		{Port: 8080, Protocol: "HTTP", Rules: []ListenerRule{
			{Priority: 1, Paths: []string{"/g"}, TargetGroup: "shop/gamma-web:80"},
		}},
	}
	tests := []struct {
		name    string
		members []*networkingv1.Ingress
	}{
		{name: "alpha sets no CIDRs", members: []*networkingv1.Ingress{gamma, alpha(), beta}},
		{name: "alpha sets the same CIDRs in another order", members: []*networkingv1.Ingress{beta, gamma,
			alpha(ingAnn(annotations.IngInboundCIDRs, "10.0.0.0/8,172.16.0.0/12"))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := mustBuildGroup(t, teamGroup, asMembers(tt.members...), testSettings(), defaultFacts())
			if diff := cmp.Diff(Owner{Kind: "IngressGroup", Name: "team"}, st.Owner); diff != "" {
				t.Errorf("owner mismatch (-want +got):\n%s", diff)
			}
			if st.StackID != "team" {
				t.Errorf("StackID = %q, want team", st.StackID)
			}
			if want := naming.IngressGroupSGName(testCluster, "team"); st.ManagedSG.Name != want {
				t.Errorf("SG name = %q, want %q", st.ManagedSG.Name, want)
			}
			if want := naming.IngressLBName(testCluster, true, "", "team", SchemeInternal); st.LoadBalancer.Name != want {
				t.Errorf("LB name = %q, want %q", st.LoadBalancer.Name, want)
			}
			if got := st.ManagedSG.Tags[naming.IngressStackTag]; got != "team" {
				t.Errorf("SG stack tag = %q, want team", got)
			}
			if diff := cmp.Diff(wantRules, st.ManagedSG.Ingress); diff != "" {
				t.Errorf("managed SG ingress mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(wantListeners, st.Listeners); diff != "" {
				t.Errorf("listeners mismatch (-want +got):\n%s", diff)
			}
			var ids []string
			for _, tg := range st.TargetGroups {
				ids = append(ids, tg.ResourceID)
				if got := tg.Tags[naming.IngressStackTag]; got != "team" {
					t.Errorf("TG %s stack tag = %q, want team", tg.ResourceID, got)
				}
			}
			if diff := cmp.Diff([]string{"shop/beta-api:8080", "shop/alpha-web:80", "shop/gamma-web:80"}, ids); diff != "" {
				t.Errorf("target groups mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]sgrules.Need{tcpNeed(30080), tcpNeed(31080)}, st.Networking.Needs); diff != "" {
				t.Errorf("needs mismatch (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("several certificates on one HTTPS port: merged, the first member's first", func(t *testing.T) {
		other := testIngress("delta", inGroup("team"), ingAnn(annotations.IngListenPorts, `[{"HTTPS":443}]`,
			annotations.IngCertificateARN, testCertARN2+","+testCertARN))
		st := mustBuildGroup(t, teamGroup, asMembers(other, beta), testSettings(), defaultFacts())
		for _, l := range st.Listeners {
			if l.Port == 443 {
				if diff := cmp.Diff([]string{testCertARN, testCertARN2}, l.Certificates); diff != "" {
					t.Errorf("certificates mismatch (-want +got):\n%s", diff)
				}
			}
		}
	})
	t.Run("group members in several namespaces", func(t *testing.T) {
		a := testIngress("x", inGroup("team"), inNamespace("zeta"))
		b := testIngress("y", inGroup("team"))
		facts := albFacts(albService("web"), albService("web", svcNamespace("zeta")))
		st := mustBuildGroup(t, teamGroup, asMembers(a, b), testSettings(), facts)
		var got []string
		for _, r := range st.Listeners[0].Rules {
			got = append(got, strconv.Itoa(int(r.Priority))+" "+r.TargetGroup)
		}
		if diff := cmp.Diff([]string{"1 shop/y-web:80", "2 zeta/x-web:80"}, got); diff != "" {
			t.Errorf("rules mismatch (-want +got):\n%s", diff)
		}
	})
}

// TestBuildIngressGroupConflicts: members that disagree on an exclusive setting make the
// group fail with one problem naming the key and both values.
func TestBuildIngressGroupConflicts(t *testing.T) {
	type args struct {
		a, b    []string // annotations of shop/a and shop/b, both in group "team"
		aParams *ClassParams
		aOpts   []ingOpt
		bOpts   []ingOpt
		s       func(*Settings)
	}
	tests := []struct {
		name string
		args args
		want []wantProblem
	}{
		{
			name: "security-groups",
			args: args{a: []string{annotations.IngSecurityGroups, "sg-1, sg-2"}, b: []string{annotations.IngSecurityGroups, "sg-3"}},
			want: []wantProblem{{Key: annotations.IngSecurityGroups, Value: "shop/a: [sg-1 sg-2] | shop/b: [sg-3]",
				Reason: "conflicting securityGroups", Fix: "same value"}},
		},
		{
			name: "manage-backend-security-group-rules with custom SGs",
			args: args{
				a: []string{annotations.IngSecurityGroups, "sg-1", annotations.IngManageBackendRules, "true"},
				b: []string{annotations.IngSecurityGroups, "sg-1", annotations.IngManageBackendRules, "false"},
			},
			want: []wantProblem{{Key: annotations.IngManageBackendRules, Value: "shop/a: true | shop/b: false",
				Reason: "conflicting manage backend security group rules settings", Fix: "same value"}},
		},
		{
			name: "ip-address-type",
			args: args{a: []string{annotations.IngIPAddressType, "dualstack"}, b: []string{annotations.IngIPAddressType, "ipv4"}},
			want: []wantProblem{{Key: annotations.IngIPAddressType, Value: "shop/a: dualstack | shop/b: ipv4",
				Reason: "conflicting IPAddressType", Fix: "same value"}},
		},
		{
			name: "ip-address-type from IngressClassParams against the annotation",
			args: args{aParams: &ClassParams{Name: "p", IPAddressType: "dualstack"}, b: []string{annotations.IngIPAddressType, "ipv4"}},
			want: []wantProblem{{Key: annotations.IngIPAddressType, Value: "shop/a: dualstack | shop/b: ipv4",
				Reason: "conflicting IPAddressType", Fix: "same value"}},
		},
		{
			name: "scheme",
			args: args{a: []string{annotations.IngScheme, "internet-facing"}, b: []string{annotations.IngScheme, "internal"}},
			want: []wantProblem{{Key: annotations.IngScheme, Value: "shop/a: internet-facing | shop/b: internal",
				Reason: "conflicting scheme", Fix: "same value"}},
		},
		{
			name: "tags: one key, two values",
			args: args{a: []string{annotations.IngTags, "team=x, cost=1"}, b: []string{annotations.IngTags, "team=y,cost=1"}},
			want: []wantProblem{{Key: annotations.IngTags, Value: "shop/a: team=x | shop/b: team=y",
				Reason: "conflicting tag team: x | y", Fix: "same value"}},
		},
		{
			name: "subnets",
			args: args{a: []string{annotations.IngSubnets, "subnet-1"}, b: []string{annotations.IngSubnets, "subnet-2"}},
			want: []wantProblem{{Key: annotations.IngSubnets, Value: "shop/a: [subnet-1] | shop/b: [subnet-2]",
				Reason: "conflicting subnets", Fix: "same value"}},
		},
		{
			name: "load-balancer-name",
			args: args{a: []string{annotations.IngLoadBalancerName, "alb-a"}, b: []string{annotations.IngLoadBalancerName, "alb-b"}},
			want: []wantProblem{{Key: annotations.IngLoadBalancerName, Value: "shop/a: alb-a | shop/b: alb-b",
				Reason: "conflicting load-balancer-name", Fix: "same value"}},
		},
		{
			name: "protocol on one port",
			args: args{
				a: []string{annotations.IngListenPorts, `[{"HTTP":8443}]`},
				b: []string{annotations.IngListenPorts, `[{"HTTPS":8443}]`, annotations.IngCertificateARN, testCertARN},
			},
			want: []wantProblem{{Key: annotations.IngListenPorts, Value: "shop/a: HTTP:8443 | shop/b: HTTPS:8443",
				Reason: "conflicting protocol for port 8443", Fix: "one protocol per port"}},
		},
		{
			name: "inbound-cidrs on one port",
			args: args{a: []string{annotations.IngInboundCIDRs, "10.0.0.0/8"}, b: []string{annotations.IngInboundCIDRs, "192.168.0.0/16"}},
			want: []wantProblem{{Key: annotations.IngInboundCIDRs, Value: "shop/a: [10.0.0.0/8] | shop/b: [192.168.0.0/16]",
				Reason: "conflicting inbound-cidrs for port 80", Fix: "same inbound-cidrs"}},
		},
		{
			name: "inbound-cidrs: a subset is a conflict too",
			args: args{a: []string{annotations.IngInboundCIDRs, "10.0.0.0/8"}, b: []string{annotations.IngInboundCIDRs, "10.0.0.0/8,192.168.0.0/16"}},
			want: []wantProblem{{Key: annotations.IngInboundCIDRs, Value: "shop/a: [10.0.0.0/8] | shop/b: [10.0.0.0/8 192.168.0.0/16]",
				Reason: "conflicting inbound-cidrs for port 80", Fix: "same inbound-cidrs"}},
		},
		{
			name: "prefix lists on one port",
			args: args{a: []string{annotations.IngPrefixLists, "pl-0a"}, b: []string{annotations.IngPrefixLists, "pl-0b"}},
			want: []wantProblem{{Key: annotations.IngPrefixLists, Value: "shop/a: [pl-0a] | shop/b: [pl-0b]",
				Reason: "conflicting inbound-prefix-lists for port 80", Fix: "same prefix lists"}},
		},
		{
			name: "two default backends",
			args: args{aOpts: []ingOpt{withDefaultBackend("web", 80)}, bOpts: []ingOpt{withDefaultBackend("api", 8080)}},
			want: []wantProblem{{Key: "spec.defaultBackend", Value: "shop/a | shop/b",
				Reason: "more than one member of Ingress group team sets a default backend", Fix: "one member only"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := testIngress("a", append([]ingOpt{inGroup("team"), ingAnn(tt.args.a...)}, tt.args.aOpts...)...)
			b := testIngress("b", append([]ingOpt{inGroup("team"), ingAnn(tt.args.b...)}, tt.args.bOpts...)...)
			m := asMembers(b, a)
			m[1].Params = tt.args.aParams
			s := testSettings()
			if tt.args.s != nil {
				tt.args.s(&s)
			}
			st, problems := BuildIngressGroup(teamGroup, m, s, defaultFacts())
			if st != nil {
				t.Errorf("BuildIngressGroup returned a stack together with problems")
			}
			checkProblems(t, tt.want, problems)
		})
	}
}

// TestBuildIngressGroupAgreements: settings that members give equally, or that only one
// member sets, are not conflicts.
func TestBuildIngressGroupAgreements(t *testing.T) {
	tests := []struct {
		name  string
		a, b  []string
		check func(t *testing.T, st *Stack)
	}{
		{
			name: "security-groups in another order are the same set",
			a:    []string{annotations.IngSecurityGroups, "sg-1, sg-2"},
			b:    []string{annotations.IngSecurityGroups, "sg-2,sg-1"},
			check: func(t *testing.T, st *Stack) {
				if diff := cmp.Diff([]string{"sg-1", "sg-2"}, st.LoadBalancer.CustomSGRefs); diff != "" {
					t.Errorf("custom SG refs mismatch (-want +got):\n%s", diff)
				}
			},
		},
		{
			name: "security-groups on one member make the whole group custom",
			a:    []string{annotations.IngSecurityGroups, "my-sg"},
			check: func(t *testing.T, st *Stack) {
				if st.LoadBalancer.Frontend != FrontendCustom || st.ManagedSG != nil {
					t.Errorf("frontend = %q, managed SG = %v; want custom and none", st.LoadBalancer.Frontend, st.ManagedSG)
				}
			},
		},
		{
			name: "tags with different keys merge",
			a:    []string{annotations.IngTags, "team=web"},
			b:    []string{annotations.IngTags, "cost=1, team=web"},
			check: func(t *testing.T, st *Stack) {
				if st.ManagedSG.Tags["team"] != "web" || st.ManagedSG.Tags["cost"] != "1" {
					t.Errorf("SG tags = %v, want team=web and cost=1", st.ManagedSG.Tags)
				}
			},
		},
		{
			name: "scheme set by one member",
			b:    []string{annotations.IngScheme, "internet-facing"},
			check: func(t *testing.T, st *Stack) {
				if st.LoadBalancer.Scheme != SchemeInternet {
					t.Errorf("scheme = %q, want internet-facing", st.LoadBalancer.Scheme)
				}
			},
		},
		{
			name: "prefix lists from one member and CIDRs from another are both kept",
			a:    []string{annotations.IngPrefixLists, "pl-0a"},
			b:    []string{annotations.IngInboundCIDRs, "10.0.0.0/8"},
			check: func(t *testing.T, st *Stack) {
				want := []sgrules.Rule{cidr("tcp", 80, 80, "10.0.0.0/8"), prefixList("tcp", 80, "pl-0a")}
				if diff := cmp.Diff(want, st.ManagedSG.Ingress); diff != "" {
					t.Errorf("managed SG ingress mismatch (-want +got):\n%s", diff)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := testIngress("a", inGroup("team"), ingAnn(tt.a...))
			b := testIngress("b", inGroup("team"), ingAnn(tt.b...))
			tt.check(t, mustBuildGroup(t, teamGroup, asMembers(a, b), testSettings(), defaultFacts()))
		})
	}
}

func TestBuildIngressGroupProblems(t *testing.T) {
	namedTarget := svcPorts(corev1.ServicePort{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, TargetPort: intstr.FromString("web")})
	type args struct {
		ing    *networkingv1.Ingress
		member func(*IngressMember)
		s      func(*Settings)
		facts  *IngressFacts
	}
	factsWith := func(svcs ...*corev1.Service) *IngressFacts { f := albFacts(svcs...); return &f }
	tests := []struct {
		name string
		args args
		want []wantProblem
	}{
		{
			name: "listen-ports: invalid JSON",
			args: args{ing: testIngress("web", ingAnn(annotations.IngListenPorts, `[{"HTTP":80}`))},
			want: []wantProblem{{Key: annotations.IngListenPorts, Value: `[{"HTTP":80}`,
				Reason: "failed to parse listen-ports configuration", Fix: `[{"HTTP":80},{"HTTPS":443}]`}},
		},
		{
			name: "listen-ports: empty list",
			args: args{ing: testIngress("web", ingAnn(annotations.IngListenPorts, `[]`))},
			want: []wantProblem{{Key: annotations.IngListenPorts, Value: `[]`, Reason: "empty listen-ports configuration", Fix: "JSON list"}},
		},
		{
			name: "listen-ports: port out of range",
			args: args{ing: testIngress("web", ingAnn(annotations.IngListenPorts, `[{"HTTP":70000}]`))},
			want: []wantProblem{{Key: annotations.IngListenPorts, Value: `[{"HTTP":70000}]`,
				Reason: "listen port must be within [1, 65535]: 70000", Fix: "JSON list"}},
		},
		{
			name: "listen-ports: protocol not HTTP or HTTPS",
			args: args{ing: testIngress("web", ingAnn(annotations.IngListenPorts, `[{"TCP":80}]`))},
			want: []wantProblem{{Key: annotations.IngListenPorts, Value: `[{"TCP":80}]`,
				Reason: "listen protocol must be within [HTTP, HTTPS]: TCP", Fix: "JSON list"}},
		},
		{
			name: "HTTPS without a certificate",
			args: args{ing: testIngress("web", ingAnn(annotations.IngListenPorts, `[{"HTTP":80},{"HTTPS":443}]`))},
			want: []wantProblem{{Key: annotations.IngListenPorts, Value: `[{"HTTP":80},{"HTTPS":443}]`,
				Reason: "HTTPS listener on port 443 has no certificate", Fix: annotations.IngCertificateARN}},
		},
		{
			name: "HTTPS with an empty certificate-arn",
			args: args{ing: testIngress("web", ingAnn(annotations.IngListenPorts, `[{"HTTPS":443}]`, annotations.IngCertificateARN, ""))},
			want: []wantProblem{
				{Key: annotations.IngCertificateARN, Reason: "the value is empty", Fix: "remove the annotation to use the default"},
				{Key: annotations.IngListenPorts, Value: `[{"HTTPS":443}]`,
					Reason: "HTTPS listener on port 443 has no certificate", Fix: annotations.IngCertificateARN}},
		},
		{
			name: "bad inbound CIDR",
			args: args{ing: testIngress("web", ingAnn(annotations.IngInboundCIDRs, "10.0.0.0/8,10.0.0.0/33"))},
			want: []wantProblem{{Key: annotations.IngInboundCIDRs, Value: "10.0.0.0/8,10.0.0.0/33",
				Reason: "invalid inbound-cidrs settings", Fix: "CIDRs"}},
		},
		{
			name: "IPv6 CIDR on an ipv4 ALB is an error (upstream drops it), reported once for all ports",
			args: args{ing: testIngress("web", ingAnn(annotations.IngInboundCIDRs, "10.0.0.0/8,2001:db8::/32",
				annotations.IngListenPorts, `[{"HTTP":80},{"HTTP":8080}]`))},
			want: []wantProblem{{Key: annotations.IngInboundCIDRs, Value: "2001:db8::/32",
				Reason: "IPv6 CIDR 2001:db8::/32 on an ipv4 load balancer", Fix: annotations.IngIPAddressType + " to dualstack"}},
		},
		{
			name: "IPv6 CIDR from IngressClassParams on an ipv4 ALB",
			args: args{ing: testIngress("web"), member: func(m *IngressMember) { m.Params = &ClassParams{Name: "p", InboundCIDRs: []string{"::/0"}} }},
			want: []wantProblem{{Key: "IngressClassParams p spec.inboundCIDRs", Value: "::/0",
				Reason: "IPv6 CIDR ::/0 on an ipv4 load balancer", Fix: "dualstack"}},
		},
		{
			name: "bad CIDR in IngressClassParams",
			args: args{ing: testIngress("web"), member: func(m *IngressMember) { m.Params = &ClassParams{Name: "p", InboundCIDRs: []string{"bogus"}} }},
			want: []wantProblem{{Key: "IngressClassParams p spec.inboundCIDRs", Value: "bogus",
				Reason: "invalid CIDR in IngressClassParams InboundCIDR", Fix: "CIDRs such as"}},
		},
		{
			name: "missing IngressClassParams",
			args: args{ing: testIngress("web"), member: func(m *IngressMember) { m.MissingParams = "web-params" }},
			want: []wantProblem{{Key: "spec.ingressClassName", Value: albClassName,
				Reason: "IngressClass alb refers to IngressClassParams web-params, which does not exist (Ingress shop/web)",
				Fix:    "create the IngressClassParams"}},
		},
		{
			name: "WAF in IngressClassParams fails closed",
			args: args{ing: testIngress("web"), member: func(m *IngressMember) {
				m.Params = &ClassParams{Name: "p", WAFv2ACLArn: "arn:aws:wafv2:us-west-2:1:regional/webacl/corp/1"}
			}},
			want: []wantProblem{{Key: "IngressClassParams p spec.wafv2AclArn", Value: "arn:aws:wafv2:us-west-2:1:regional/webacl/corp/1",
				Reason: "lbsg does not implement this security setting yet", Fix: "remove the setting"}},
		},
		{
			name: "authentication annotation fails closed",
			args: args{ing: testIngress("web", ingAnn("alb.ingress.kubernetes.io/auth-type", "cognito"))},
			want: []wantProblem{{Key: "alb.ingress.kubernetes.io/auth-type", Value: "cognito",
				Reason: "serving the Ingress without it would fail open", Fix: "protect the traffic another way"}},
		},
		{
			name: "bad sslRedirectPort in IngressClassParams",
			args: args{ing: testIngress("web"), member: func(m *IngressMember) { m.Params = &ClassParams{Name: "p", SSLRedirectPort: "https"} }},
			want: []wantProblem{{Key: "IngressClassParams p spec.sslRedirectPort", Value: "https", Reason: "ssl-redirect must be the port number"}},
		},
		{
			name: "invalid group name in IngressClassParams",
			args: args{ing: testIngress("web"), member: func(m *IngressMember) { m.Params = &ClassParams{Name: "p", Group: "Bad_Group"} }},
			want: []wantProblem{{Key: "IngressClassParams p spec.group.name", Value: "Bad_Group",
				Reason: "groupName must consist of lower case alphanumeric characters"}},
		},
		{
			name: "action annotation without its config",
			args: args{ing: testIngress("web", ingAnn("alb.ingress.kubernetes.io/actions.redirect", `{"type":"redirect"}`))},
			want: []wantProblem{{Key: "alb.ingress.kubernetes.io/actions.redirect", Value: `{"type":"redirect"}`,
				Reason: "a redirect action has no redirectConfig (Ingress shop/web)", Fix: "add redirectConfig"}},
		},
		{
			name: "Service not found",
			args: args{ing: testIngress("web", withRules(httpRule("", prefixPath("/", svcBackend("nosuch", 80)))))},
			want: []wantProblem{{Key: "spec.rules[0].http.paths[0].backend.service.name", Value: "nosuch",
				Reason: "Service shop/nosuch not found (Ingress shop/web)", Fix: "create the Service"}},
		},
		{
			name: "Service port number not found",
			args: args{ing: testIngress("web", withRules(httpRule("", prefixPath("/", svcBackend("web", 9999)))))},
			want: []wantProblem{{Key: "spec.rules[0].http.paths[0].backend.service.port", Value: "9999",
				Reason: "Service shop/web has no port 9999", Fix: "name a port the Service defines"}},
		},
		{
			name: "Service port name not found",
			args: args{ing: testIngress("web", withRules(httpRule("", prefixPath("/", svcBackendNamed("web", "grpc")))))},
			want: []wantProblem{{Key: "spec.rules[0].http.paths[0].backend.service.port", Value: "grpc",
				Reason: "Service shop/web has no port grpc", Fix: "name a port the Service defines"}},
		},
		{
			name: "second path of the second rule names its place",
			args: args{ing: testIngress("web", withRules(
				httpRule("a.example.com", prefixPath("/", svcBackend("web", 80))),
				httpRule("b.example.com", prefixPath("/", svcBackend("web", 80)), prefixPath("/x", svcBackend("gone", 80)))))},
			want: []wantProblem{{Key: "spec.rules[1].http.paths[1].backend.service.name", Value: "gone",
				Reason: "Service shop/gone not found", Fix: "create the Service"}},
		},
		{
			name: "default backend Service not found",
			args: args{ing: testIngress("web", withDefaultBackend("nosuch", 80))},
			want: []wantProblem{{Key: "spec.defaultBackend.service.name", Value: "nosuch",
				Reason: "Service shop/nosuch not found", Fix: "create the Service"}},
		},
		{
			name: "instance targets with a ClusterIP Service",
			args: args{ing: testIngress("web"), facts: factsWith(albService("web", func(s *corev1.Service) {
				s.Spec.Type = corev1.ServiceTypeClusterIP
				s.Spec.Ports[0].NodePort = 0
			}))},
			want: []wantProblem{{Key: annotations.IngTargetType, Value: TargetInstance,
				Reason: "Service shop/web is of type ClusterIP; instance targets need type NodePort or LoadBalancer", Fix: annotations.IngTargetType + ": ip"}},
		},
		{
			name: "instance targets by --default-target-type with a ClusterIP Service",
			args: args{ing: testIngress("web"), s: func(s *Settings) { s.DefaultTargetType = TargetInstance },
				facts: factsWith(albService("web", func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeClusterIP }))},
			want: []wantProblem{{Key: annotations.IngTargetType, Value: TargetInstance,
				Reason: "is of type ClusterIP", Fix: "NodePort"}},
		},
		{
			name: "unknown target type",
			args: args{ing: testIngress("web", ingAnn(annotations.IngTargetType, "pod"))},
			want: []wantProblem{{Key: annotations.IngTargetType, Value: "pod", Reason: "unknown targetType: pod", Fix: "instance"}},
		},
		{
			name: "unknown target type on the Service says so",
			args: args{ing: testIngress("web"), facts: factsWith(albService("web", svcAnn(annotations.IngTargetType, "pod")))},
			want: []wantProblem{{Key: annotations.IngTargetType, Value: "pod", Reason: "(on Service)", Fix: "instance"}},
		},
		{
			name: "Exact path with a wildcard",
			args: args{ing: testIngress("web", withRules(httpRule("", exactPath("/a*", svcBackend("web", 80)))))},
			want: []wantProblem{{Key: "spec.rules[0].http.paths[0].path", Value: "/a*",
				Reason: "exact path shouldn't contain wildcards: /a*", Fix: "ImplementationSpecific"}},
		},
		{
			name: "Prefix path with a wildcard",
			args: args{ing: testIngress("web", withRules(httpRule("", prefixPath("/a?", svcBackend("web", 80)))))},
			want: []wantProblem{{Key: "spec.rules[0].http.paths[0].path", Value: "/a?",
				Reason: "prefix path shouldn't contain wildcards: /a?", Fix: "ImplementationSpecific"}},
		},
		{
			name: "use-annotation backend without its action annotation",
			args: args{ing: testIngress("web", withRules(httpRule("", prefixPath("/", svcBackendNamed("redirect", "use-annotation")))))},
			want: []wantProblem{{Key: "spec.rules[0].http.paths[0].backend.service.name", Value: "redirect",
				Reason: "the backend uses port use-annotation but the Ingress has no annotation alb.ingress.kubernetes.io/actions.redirect",
				Fix:    "add the annotation alb.ingress.kubernetes.io/actions.redirect"}},
		},
		{
			name: "resource backends are not supported",
			args: args{ing: testIngress("web", withRules(httpRule("", prefixPath("/", networkingv1.IngressBackend{
				Resource: &corev1.TypedLocalObjectReference{Kind: "Bucket", Name: "b"}}))))},
			want: []wantProblem{{Key: "spec.rules[0].http.paths[0].backend", Value: "resource",
				Reason: "only Service backends are supported", Fix: "point the backend at a Service"}},
		},
		{
			name: "named healthcheck-port for ip targets on a named targetPort",
			args: args{ing: testIngress("web", ingAnn(annotations.IngTargetType, TargetIP, annotations.IngHealthCheckPort, "http")),
				facts: factsWith(albService("web", namedTarget))},
			want: []wantProblem{{Key: annotations.IngHealthCheckPort, Value: "http",
				Reason: `health check port "http" maps to the named target port "web"; ip targets need a numeric one`, Fix: "traffic-port"}},
		},
		{
			name: "named healthcheck-port the Service does not have",
			args: args{ing: testIngress("web", ingAnn(annotations.IngHealthCheckPort, "metrics"))},
			want: []wantProblem{{Key: annotations.IngHealthCheckPort, Value: "metrics",
				Reason: `Service shop/web has no port named "metrics"`, Fix: "traffic-port"}},
		},
		{
			name: "bad group.order",
			args: args{ing: testIngress("web", ingAnn(annotations.IngGroupOrder, "first"))},
			want: []wantProblem{{Key: annotations.IngGroupOrder, Value: "first", Reason: "not a whole number", Fix: "-1000 to 1000"}},
		},
		{
			name: "custom SGs, manage annotation true, backend SG disabled",
			args: args{
				ing: testIngress("web", ingAnn(annotations.IngSecurityGroups, "sg-1", annotations.IngManageBackendRules, "true")),
				s:   func(s *Settings) { s.EnableBackendSG = false },
			},
			want: []wantProblem{{Key: annotations.IngManageBackendRules, Value: "true",
				Reason: "backendSG feature is required to manage worker node SG rules when frontendSG manually specified",
				Fix:    "--enable-backend-security-group=true"}},
		},
		{
			name: "custom SGs, manage flag on, backend SG disabled",
			args: args{
				ing: testIngress("web", ingAnn(annotations.IngSecurityGroups, "sg-1")),
				s:   func(s *Settings) { s.EnableBackendSG, s.EnableManageBackendSGRules = false, true },
			},
			want: []wantProblem{{Key: annotations.IngManageBackendRules, Value: "true (from --enable-manage-backend-security-group-rules)",
				Reason: "backendSG feature is required to manage worker node SG rules when frontendSG manually specified",
				Fix:    "set the annotation to false"}},
		},
		{
			name: "all problems at once, sorted by key",
			args: args{ing: testIngress("web",
				ingAnn(annotations.IngScheme, "public", annotations.IngInboundCIDRs, "bogus"),
				withRules(httpRule("", prefixPath("/", svcBackend("nosuch", 80)))))},
			want: []wantProblem{
				{Key: annotations.IngInboundCIDRs, Value: "bogus", Reason: "invalid inbound-cidrs settings", Fix: "CIDR"},
				{Key: annotations.IngScheme, Value: "public", Reason: "unknown scheme", Fix: "internet-facing"},
				{Key: "spec.rules[0].http.paths[0].backend.service.name", Value: "nosuch", Reason: "not found", Fix: "create the Service"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testSettings()
			if tt.args.s != nil {
				tt.args.s(&s)
			}
			facts := defaultFacts()
			if tt.args.facts != nil {
				facts = *tt.args.facts
			}
			m := asMembers(tt.args.ing)
			if tt.args.member != nil {
				tt.args.member(&m[0])
			}
			st, problems := BuildIngressGroup(implicitGroup(tt.args.ing), m, s, facts)
			if st != nil {
				t.Errorf("BuildIngressGroup returned a stack together with problems")
			}
			checkProblems(t, tt.want, problems)
		})
	}
}

func TestBuildIngressGroupFrontend(t *testing.T) {
	type args struct {
		ing *networkingv1.Ingress
		s   func(*Settings)
	}
	tests := []struct {
		name string
		args args
		want frontendView
	}{
		{
			name: "managed frontend with backend SG",
			args: args{ing: testIngress("web")},
			want: frontendView{Frontend: FrontendManaged, UseBackendSG: true, HasManagedSG: true, Manage: true, Source: SourceBackend},
		},
		{
			name: "managed frontend, backend SG disabled: targets admit the frontend SG",
			args: args{ing: testIngress("web"), s: func(s *Settings) { s.EnableBackendSG = false }},
			want: frontendView{Frontend: FrontendManaged, HasManagedSG: true, Manage: true, Source: SourceFrontend},
		},
		{
			name: "managed frontend: manage annotation false is ignored",
			args: args{ing: testIngress("web", ingAnn(annotations.IngManageBackendRules, "false"))},
			want: frontendView{Frontend: FrontendManaged, UseBackendSG: true, HasManagedSG: true, Manage: true, Source: SourceBackend},
		},
		{
			name: "custom SGs: manage defaults to false",
			args: args{ing: testIngress("web", ingAnn(annotations.IngSecurityGroups, "sg-1, my-sg"))},
			want: frontendView{Frontend: FrontendCustom, CustomSGRefs: []string{"sg-1", "my-sg"}},
		},
		{
			name: "custom SGs with manage annotation true: backend SG attached",
			args: args{ing: testIngress("web", ingAnn(annotations.IngSecurityGroups, "sg-1", annotations.IngManageBackendRules, "true"))},
			want: frontendView{Frontend: FrontendCustom, CustomSGRefs: []string{"sg-1"}, UseBackendSG: true, Manage: true, Source: SourceBackend},
		},
		{
			name: "custom SGs with the cluster-wide manage flag",
			args: args{ing: testIngress("web", ingAnn(annotations.IngSecurityGroups, "sg-1")), s: func(s *Settings) { s.EnableManageBackendSGRules = true }},
			want: frontendView{Frontend: FrontendCustom, CustomSGRefs: []string{"sg-1"}, UseBackendSG: true, Manage: true, Source: SourceBackend},
		},
		{
			name: "custom SGs: annotation false beats the flag",
			args: args{
				ing: testIngress("web", ingAnn(annotations.IngSecurityGroups, "sg-1", annotations.IngManageBackendRules, "false")),
				s:   func(s *Settings) { s.EnableManageBackendSGRules = true },
			},
			want: frontendView{Frontend: FrontendCustom, CustomSGRefs: []string{"sg-1"}},
		},
		{
			name: "custom SGs, manage false, backend SG disabled: no problem",
			args: args{ing: testIngress("web", ingAnn(annotations.IngSecurityGroups, "sg-1")), s: func(s *Settings) { s.EnableBackendSG = false }},
			want: frontendView{Frontend: FrontendCustom, CustomSGRefs: []string{"sg-1"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testSettings()
			if tt.args.s != nil {
				tt.args.s(&s)
			}
			st := mustBuildGroup(t, implicitGroup(tt.args.ing), asMembers(tt.args.ing), s, defaultFacts())
			if diff := cmp.Diff(tt.want, viewFrontend(st)); diff != "" {
				t.Errorf("frontend mismatch (-want +got):\n%s", diff)
			}
			if !st.Networking.Manage && len(st.Networking.Needs) > 0 {
				t.Errorf("unmanaged networking has needs: %v", st.Networking.Needs)
			}
			if st.Networking.Manage && len(st.Networking.Needs) == 0 {
				t.Errorf("managed networking has no needs")
			}
		})
	}
}

func TestBuildIngressGroupNeeds(t *testing.T) {
	withMetrics := svcPorts(
		corev1.ServicePort{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, TargetPort: intstr.FromInt32(8080), NodePort: 30080},
		corev1.ServicePort{Name: "metrics", Protocol: corev1.ProtocolTCP, Port: 9100, TargetPort: intstr.FromInt32(9101), NodePort: 30910},
	)
	namedTarget := svcPorts(corev1.ServicePort{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, TargetPort: intstr.FromString("web")})
	ipAnn := ingAnn(annotations.IngTargetType, TargetIP)
	type args struct {
		ing   *networkingv1.Ingress
		svc   *corev1.Service
		s     func(*Settings)
		ports map[string]map[string]int32
	}
	tests := []struct {
		name string
		args args
		want []sgrules.Need
	}{
		{name: "instance target: the NodePort", args: args{ing: testIngress("web")}, want: []sgrules.Need{tcpNeed(30080)}},
		{
			name: "numeric health-check port differing from the NodePort",
			args: args{ing: testIngress("web", ingAnn(annotations.IngHealthCheckPort, "10256"))},
			want: []sgrules.Need{tcpNeed(10256), tcpNeed(30080)},
		},
		{
			name: "numeric health-check port equal to the NodePort adds nothing",
			args: args{ing: testIngress("web", ingAnn(annotations.IngHealthCheckPort, "30080"))},
			want: []sgrules.Need{tcpNeed(30080)},
		},
		{
			name: "traffic-port adds nothing",
			args: args{ing: testIngress("web", ingAnn(annotations.IngHealthCheckPort, "traffic-port"))},
			want: []sgrules.Need{tcpNeed(30080)},
		},
		{
			name: "health-check port on the Service wins over the Ingress",
			args: args{ing: testIngress("web", ingAnn(annotations.IngHealthCheckPort, "10256")),
				svc: albService("web", svcAnn(annotations.IngHealthCheckPort, "10257"))},
			want: []sgrules.Need{tcpNeed(10257), tcpNeed(30080)},
		},
		{
			name: "named health-check port, instance targets: its NodePort",
			args: args{ing: testIngress("web", ingAnn(annotations.IngHealthCheckPort, "metrics")), svc: albService("web", withMetrics)},
			want: []sgrules.Need{tcpNeed(30080), tcpNeed(30910)},
		},
		{
			name: "named health-check port, ip targets: its numeric target port",
			args: args{ing: testIngress("web", ipAnn, ingAnn(annotations.IngHealthCheckPort, "metrics")), svc: albService("web", withMetrics)},
			want: []sgrules.Need{tcpNeed(8080), tcpNeed(9101)},
		},
		{name: "ip targets on the Ingress: the numeric targetPort", args: args{ing: testIngress("web", ipAnn)}, want: []sgrules.Need{tcpNeed(8080)}},
		{
			name: "ip targets on the Service win over instance on the Ingress",
			args: args{ing: testIngress("web", ingAnn(annotations.IngTargetType, TargetInstance)), svc: albService("web", svcAnn(annotations.IngTargetType, TargetIP))},
			want: []sgrules.Need{tcpNeed(8080)},
		},
		{
			name: "--default-target-type ip",
			args: args{ing: testIngress("web"), s: func(s *Settings) { s.DefaultTargetType = TargetIP }},
			want: []sgrules.Need{tcpNeed(8080)},
		},
		{
			name: "ip targets, named targetPort resolved from the endpoints",
			args: args{ing: testIngress("web", ipAnn), svc: albService("web", namedTarget), ports: map[string]map[string]int32{"shop/web": {"http": 9090}}},
			want: []sgrules.Need{tcpNeed(9090)},
		},
		{
			name: "ip targets, named targetPort without endpoints yet: nothing",
			args: args{ing: testIngress("web", ipAnn), svc: albService("web", namedTarget)},
			want: nil,
		},
		{
			name: "ip targets, no targetPort: the Service port",
			args: args{ing: testIngress("web", ipAnn), svc: albService("web", svcPorts(corev1.ServicePort{Name: "http", Port: 80}))},
			want: []sgrules.Need{tcpNeed(80)},
		},
		{
			name: "--disable-restricted-sg-rules: all tcp ports",
			args: args{ing: testIngress("web", ingAnn(annotations.IngHealthCheckPort, "10256")), s: func(s *Settings) { s.DisableRestrictedSGRules = true }},
			want: []sgrules.Need{{Protocol: sgrules.ProtoTCP, AllPorts: true}},
		},
		{
			name: "backend SG disabled: same needs, from the frontend SG",
			args: args{ing: testIngress("web"), s: func(s *Settings) { s.EnableBackendSG = false }},
			want: []sgrules.Need{tcpNeed(30080)},
		},
		{
			name: "custom SGs without manage: no needs",
			args: args{ing: testIngress("web", ingAnn(annotations.IngSecurityGroups, "sg-1"))},
			want: nil,
		},
		{
			name: "one backend used by several paths and the default backend: one need",
			args: args{ing: testIngress("web", withDefaultBackend("web", 80), withRules(httpRule("",
				prefixPath("/a", svcBackend("web", 80)), prefixPath("/b", svcBackend("web", 80)))))},
			want: []sgrules.Need{tcpNeed(30080)},
		},
		{
			name: "several Services, sorted",
			args: args{ing: testIngress("web", withRules(httpRule("",
				prefixPath("/api", svcBackend("api", 8080)), prefixPath("/", svcBackend("web", 80)))))},
			want: []sgrules.Need{tcpNeed(30080), tcpNeed(31080)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testSettings()
			if tt.args.s != nil {
				tt.args.s(&s)
			}
			svc := tt.args.svc
			if svc == nil {
				svc = albService("web")
			}
			facts := albFacts(svc, apiService())
			facts.EndpointPorts = tt.args.ports
			st := mustBuildGroup(t, implicitGroup(tt.args.ing), asMembers(tt.args.ing), s, facts)
			if diff := cmp.Diff(tt.want, st.Networking.Needs); diff != "" {
				t.Errorf("needs mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBuildIngressGroupTargetGroups(t *testing.T) {
	type tgView struct {
		ResourceID, Protocol, TargetType string
		Port, TrafficPort                int32
		TargetPortName                   string
		HealthCheck                      HealthCheck
		NodeSelector                     map[string]string
	}
	namedTarget := svcPorts(corev1.ServicePort{Name: "http", Protocol: corev1.ProtocolTCP, Port: 80, TargetPort: intstr.FromString("web")})
	type args struct {
		ing   *networkingv1.Ingress
		svc   *corev1.Service
		ports map[string]map[string]int32
	}
	tests := []struct {
		name string
		args args
		want tgView
	}{
		{
			name: "instance",
			args: args{ing: testIngress("web")},
			want: tgView{ResourceID: "shop/web-web:80", Protocol: "HTTP", TargetType: TargetInstance, Port: 30080, TrafficPort: 30080,
				HealthCheck: HealthCheck{Protocol: "HTTP", Port: TrafficPort, Path: "/"}},
		},
		{
			name: "ip, numeric targetPort",
			args: args{ing: testIngress("web", ingAnn(annotations.IngTargetType, TargetIP))},
			want: tgView{ResourceID: "shop/web-web:80", Protocol: "HTTP", TargetType: TargetIP, Port: 8080, TrafficPort: 8080,
				HealthCheck: HealthCheck{Protocol: "HTTP", Port: TrafficPort, Path: "/"}},
		},
		{
			name: "ip, named targetPort with endpoints: port 1, traffic on the endpoint port",
			args: args{ing: testIngress("web", ingAnn(annotations.IngTargetType, TargetIP)), svc: albService("web", namedTarget),
				ports: map[string]map[string]int32{"shop/web": {"http": 9090}}},
			want: tgView{ResourceID: "shop/web-web:80", Protocol: "HTTP", TargetType: TargetIP, Port: 1, TrafficPort: 9090, TargetPortName: "web",
				HealthCheck: HealthCheck{Protocol: "HTTP", Port: TrafficPort, Path: "/"}},
		},
		{
			name: "backend by port name: resource ID has the name",
			args: args{ing: testIngress("web", withRules(httpRule("", prefixPath("/", svcBackendNamed("web", "http")))))},
			want: tgView{ResourceID: "shop/web-web:http", Protocol: "HTTP", TargetType: TargetInstance, Port: 30080, TrafficPort: 30080,
				HealthCheck: HealthCheck{Protocol: "HTTP", Port: TrafficPort, Path: "/"}},
		},
		{
			name: "backend protocol, health-check protocol, path and node labels",
			args: args{ing: testIngress("web", ingAnn(annotations.IngBackendProtocol, "https", annotations.IngHealthCheckProtocol, "HTTP",
				annotations.IngHealthCheckPath, "/healthz", annotations.IngTargetNodeLabels, "pool=web"))},
			want: tgView{ResourceID: "shop/web-web:80", Protocol: "HTTPS", TargetType: TargetInstance, Port: 30080, TrafficPort: 30080,
				HealthCheck: HealthCheck{Protocol: "HTTP", Port: TrafficPort, Path: "/healthz"}, NodeSelector: map[string]string{"pool": "web"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := tt.args.svc
			if svc == nil {
				svc = albService("web")
			}
			facts := albFacts(svc)
			facts.EndpointPorts = tt.args.ports
			st := mustBuildGroup(t, implicitGroup(tt.args.ing), asMembers(tt.args.ing), testSettings(), facts)
			if len(st.TargetGroups) != 1 {
				t.Fatalf("got %d target groups, want 1", len(st.TargetGroups))
			}
			tg := st.TargetGroups[0]
			got := tgView{ResourceID: tg.ResourceID, Protocol: tg.Protocol, TargetType: tg.TargetType, Port: tg.Port, TrafficPort: tg.TrafficPort,
				TargetPortName: tg.TargetPortName, HealthCheck: tg.HealthCheck, NodeSelector: tg.NodeSelector}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("target group mismatch (-want +got):\n%s", diff)
			}
			if tg.ServiceNamespace != "shop" || tg.ServiceName != "web" || tg.ServicePort != 80 || tg.ServicePortName != "http" {
				t.Errorf("target group Service = %s/%s port %d (%q), want shop/web port 80 (http)", tg.ServiceNamespace, tg.ServiceName, tg.ServicePort, tg.ServicePortName)
			}
		})
	}
}

// TestBuildIngressGroupTargetGroupNameUpstream: a target group must get upstream's name, or
// lbsg replaces every target group upstream created when it takes a group over (the
// planner matches target groups by name too).
func TestBuildIngressGroupTargetGroupNameUpstream(t *testing.T) {
	tests := []struct {
		name string
		g    IngressGroupID
		ing  *networkingv1.Ingress
		want string
	}{
		{
			name: "implicit group, instance target",
			ing:  testIngress("web"),
			want: upstreamTGName(testCluster, "shop/web", "shop", "web", "uid-web", "80", 30080, TargetInstance, "HTTP", "shop", "web"),
		},
		{
			name: "explicit group, ip target",
			g:    teamGroup,
			ing:  testIngress("front", inGroup("team"), ingAnn(annotations.IngTargetType, TargetIP)),
			want: upstreamTGName(testCluster, "team", "shop", "front", "uid-web", "80", 8080, TargetIP, "HTTP", "shop", "web"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := tt.g
			if g == (IngressGroupID{}) {
				g = implicitGroup(tt.ing)
			}
			st := mustBuildGroup(t, g, asMembers(tt.ing), testSettings(), defaultFacts())
			// Upstream hashes the Ingress namespace and name and the Service UID; any other
			// name would make a takeover replace every target group upstream created.
			if got := st.TargetGroups[0].Name; got != tt.want {
				t.Errorf("target group name = %q, want upstream's %q", got, tt.want)
			}
		})
	}
	t.Run("two members of a group on one Service port get two names", func(t *testing.T) {
		a := testIngress("a", inGroup("team"))
		b := testIngress("b", inGroup("team"))
		st := mustBuildGroup(t, teamGroup, asMembers(a, b), testSettings(), defaultFacts())
		if len(st.TargetGroups) != 2 {
			t.Fatalf("got %d target groups, want 2 (one per Ingress backend)", len(st.TargetGroups))
		}
		// The Ingress name is hashed, so the two target groups (shop/a-web:80 and
		// shop/b-web:80) get different names; AWS allows one target group per name.
		if st.TargetGroups[0].Name == st.TargetGroups[1].Name {
			t.Errorf("target groups %s and %s share the name %q", st.TargetGroups[0].ResourceID, st.TargetGroups[1].ResourceID, st.TargetGroups[0].Name)
		}
	})
}

func TestBuildIngressGroupScheme(t *testing.T) {
	type args struct {
		ing      *networkingv1.Ingress
		params   *ClassParams
		defaults string
		facts    IngressFacts
	}
	tests := []struct {
		name string
		args args
		want string
	}{
		{name: "built-in default", args: args{ing: testIngress("web")}, want: SchemeInternal},
		{name: "--default-load-balancer-scheme", args: args{ing: testIngress("web"), defaults: SchemeInternet}, want: SchemeInternet},
		{name: "annotation", args: args{ing: testIngress("web", ingAnn(annotations.IngScheme, SchemeInternet))}, want: SchemeInternet},
		{name: "IngressClassParams win over the annotation", args: args{
			ing:    testIngress("web", ingAnn(annotations.IngScheme, SchemeInternal)),
			params: &ClassParams{Name: "p", Scheme: SchemeInternet}}, want: SchemeInternet},
		{name: "annotation beats the existing ALB", args: args{
			ing:   testIngress("web", ingAnn(annotations.IngScheme, SchemeInternal)),
			facts: IngressFacts{LBExists: true, LBScheme: SchemeInternet}}, want: SchemeInternal},
		{name: "existing ALB beats the default", args: args{
			ing: testIngress("web"), defaults: SchemeInternal,
			facts: IngressFacts{LBExists: true, LBScheme: SchemeInternet}}, want: SchemeInternet},
		{name: "scheme of an ALB that does not exist is ignored", args: args{
			ing: testIngress("web"), facts: IngressFacts{LBScheme: SchemeInternet}}, want: SchemeInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := testSettings()
			s.DefaultScheme = tt.args.defaults
			facts := tt.args.facts
			facts.Services = defaultFacts().Services
			m := asMembers(tt.args.ing)
			m[0].Params = tt.args.params
			st := mustBuildGroup(t, implicitGroup(tt.args.ing), m, s, facts)
			if st.LoadBalancer.Scheme != tt.want {
				t.Errorf("scheme = %q, want %q", st.LoadBalancer.Scheme, tt.want)
			}
			// The ALB name hashes the scheme; the SG name does not.
			if want := naming.IngressLBName(testCluster, false, "shop", "web", tt.want); st.LoadBalancer.Name != want {
				t.Errorf("LB name = %q, want %q", st.LoadBalancer.Name, want)
			}
			if want := naming.IngressSGName(testCluster, "shop", "web"); st.ManagedSG.Name != want {
				t.Errorf("SG name = %q, want %q", st.ManagedSG.Name, want)
			}
		})
	}
}

func TestBuildIngressGroupClassParams(t *testing.T) {
	ing := testIngress("web", ingAnn(
		annotations.IngIPAddressType, "ipv4",
		annotations.IngTags, "team=web, cost=1",
		annotations.IngInboundCIDRs, "10.0.0.0/8",
	))
	m := asMembers(ing)
	m[0].Params = &ClassParams{Name: "p", IPAddressType: "dualstack", InboundCIDRs: []string{"192.0.2.0/24", "2001:db8::/32"},
		Tags: map[string]string{"team": "platform"}}
	st := mustBuildGroup(t, implicitGroup(ing), m, testSettings(), defaultFacts())
	if st.LoadBalancer.IPAddressType != DualStack {
		t.Errorf("IP address type = %q, want dualstack", st.LoadBalancer.IPAddressType)
	}
	wantRules := []sgrules.Rule{cidr("tcp", 80, 80, "192.0.2.0/24"), cidr("tcp", 80, 80, "2001:db8::/32")}
	if diff := cmp.Diff(wantRules, st.ManagedSG.Ingress); diff != "" {
		t.Errorf("managed SG ingress mismatch (-want +got):\n%s", diff)
	}
	for what, tags := range map[string]map[string]string{"LB": st.LoadBalancer.Tags, "SG": st.ManagedSG.Tags, "TG": st.TargetGroups[0].Tags} {
		if tags["team"] != "platform" || tags["cost"] != "1" {
			t.Errorf("%s tags = %v, want the class's team=platform and the annotation's cost=1", what, tags)
		}
	}
	t.Run("class tags make members agree", func(t *testing.T) {
		a := testIngress("a", inGroup("team"), ingAnn(annotations.IngTags, "team=x"))
		b := testIngress("b", inGroup("team"), ingAnn(annotations.IngTags, "team=y"))
		ms := asMembers(a, b)
		for i := range ms {
			ms[i].Params = &ClassParams{Name: "p", Tags: map[string]string{"team": "platform"}}
		}
		st := mustBuildGroup(t, teamGroup, ms, testSettings(), defaultFacts())
		if got := st.ManagedSG.Tags["team"]; got != "platform" {
			t.Errorf("team tag = %q, want platform", got)
		}
	})
}

func TestPathPatterns(t *testing.T) {
	tests := []struct {
		name    string
		path    string
		pt      *networkingv1.PathType
		want    []string
		wantErr string
	}{
		{name: "Exact", path: "/api", pt: pathType(networkingv1.PathTypeExact), want: []string{"/api"}},
		{name: "Exact keeps a trailing slash", path: "/api/", pt: pathType(networkingv1.PathTypeExact), want: []string{"/api/"}},
		{name: "Prefix /", path: "/", pt: pathType(networkingv1.PathTypePrefix), want: []string{"/*"}},
		{name: "Prefix /api", path: "/api", pt: pathType(networkingv1.PathTypePrefix), want: []string{"/api", "/api/*"}},
		{name: "Prefix /api/", path: "/api/", pt: pathType(networkingv1.PathTypePrefix), want: []string{"/api", "/api/*"}},
		{name: "ImplementationSpecific keeps wildcards", path: "/api/*", pt: pathType(networkingv1.PathTypeImplementationSpecific), want: []string{"/api/*"}},
		{name: "no pathType is ImplementationSpecific", path: "/x?z", want: []string{"/x?z"}},
		{name: "ImplementationSpecific empty path: no condition", path: "", pt: pathType(networkingv1.PathTypeImplementationSpecific), want: nil},
		{name: "Exact with *", path: "/a*", pt: pathType(networkingv1.PathTypeExact), wantErr: "exact path shouldn't contain wildcards: /a*"},
		{name: "Exact with ?", path: "/a?", pt: pathType(networkingv1.PathTypeExact), wantErr: "exact path shouldn't contain wildcards: /a?"},
		{name: "Prefix with *", path: "/a/*", pt: pathType(networkingv1.PathTypePrefix), wantErr: "prefix path shouldn't contain wildcards: /a/*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := pathPatterns(networkingv1.HTTPIngressPath{Path: tt.path, PathType: tt.pt})
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if gotErr != tt.wantErr {
				t.Errorf("error = %q, want %q", gotErr, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("patterns mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBuildIngressGroupListenerRules(t *testing.T) {
	be := svcBackend("web", 80)
	const tg = "shop/web-web:80"
	tests := []struct {
		name  string
		rules []networkingv1.IngressRule
		want  []ListenerRule
	}{
		{
			name: "path types",
			rules: []networkingv1.IngressRule{httpRule("",
				exactPath("/exact", be), prefixPath("/", be), prefixPath("/api/", be), ingPath("/img/*.png", nil, be))},
			want: []ListenerRule{
				{Priority: 1, Paths: []string{"/exact"}, TargetGroup: tg},
				{Priority: 2, Paths: []string{"/*"}, TargetGroup: tg},
				{Priority: 3, Paths: []string{"/api", "/api/*"}, TargetGroup: tg},
				{Priority: 4, Paths: []string{"/img/*.png"}, TargetGroup: tg},
			},
		},
		{
			name:  "host only: an ImplementationSpecific empty path matches the host alone",
			rules: []networkingv1.IngressRule{httpRule("a.example.com", ingPath("", pathType(networkingv1.PathTypeImplementationSpecific), be))},
			want:  []ListenerRule{{Priority: 1, Hosts: []string{"a.example.com"}, TargetGroup: tg}},
		},
		{
			name:  "neither host nor path: /*",
			rules: []networkingv1.IngressRule{httpRule("", ingPath("", nil, be))},
			want:  []ListenerRule{{Priority: 1, Paths: []string{"/*"}, TargetGroup: tg}},
		},
		{
			name: "several hosts, in order; a rule without http is skipped",
			rules: []networkingv1.IngressRule{
				httpRule("a.example.com", prefixPath("/", be)),
				{Host: "nohttp.example.com"},
				httpRule("b.example.com", exactPath("/b", be)),
			},
			want: []ListenerRule{
				{Priority: 1, Hosts: []string{"a.example.com"}, Paths: []string{"/*"}, TargetGroup: tg},
				{Priority: 2, Hosts: []string{"b.example.com"}, Paths: []string{"/b"}, TargetGroup: tg},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ing := testIngress("web", withRules(tt.rules...))
			st := mustBuildOne(t, ing)
			if len(st.Listeners) != 1 {
				t.Fatalf("got %d listeners, want 1", len(st.Listeners))
			}
			if diff := cmp.Diff(tt.want, st.Listeners[0].Rules); diff != "" {
				t.Errorf("rules mismatch (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("default backend only: forward default action, no rules", func(t *testing.T) {
		st := mustBuildOne(t, testIngress("web", withRules(), withDefaultBackend("api", 8080)))
		want := []Listener{{Port: 80, Protocol: "HTTP", TargetGroup: "shop/web-api:8080"}}
		if diff := cmp.Diff(want, st.Listeners); diff != "" {
			t.Errorf("listeners mismatch (-want +got):\n%s", diff)
		}
	})
}

// TestBuildIngressGroupDefaultBackendPerPort: upstream gives each listener the default
// backend of the members that listen on its port (buildListenerDefaultActions in
// pkg/ingress/model_build_listener.go is called with the Ingresses of that port only).
func TestBuildIngressGroupDefaultBackendPerPort(t *testing.T) {
	a := testIngress("a", inGroup("team"), withDefaultBackend("web", 80), ingAnn(annotations.IngListenPorts, `[{"HTTP":80}]`))
	c := testIngress("c", inGroup("team"), ingAnn(annotations.IngListenPorts, `[{"HTTP":8080}]`))
	t.Run("a default backend applies to its member's ports only", func(t *testing.T) {
		st := mustBuildGroup(t, teamGroup, asMembers(a, c), testSettings(), defaultFacts())
		got := map[int32]string{}
		for _, l := range st.Listeners {
			got[l.Port] = l.TargetGroup
		}
		// A default backend serves its own Ingress's ports: port 8080, where only shop/c
		// listens, answers 404 as upstream does.
		if diff := cmp.Diff(map[int32]string{80: "shop/a-web:80", 8080: ""}, got); diff != "" {
			t.Errorf("listener default target groups mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("default backends on different ports do not conflict", func(t *testing.T) {
		c2 := testIngress("c", inGroup("team"), withDefaultBackend("api", 8080), ingAnn(annotations.IngListenPorts, `[{"HTTP":8080}]`))
		// Members whose listeners do not overlap may both set a default backend: each
		// listener's default action comes from the members on its port, as upstream.
		st, problems := BuildIngressGroup(teamGroup, asMembers(a, c2), testSettings(), defaultFacts())
		checkProblems(t, nil, problems)
		if st == nil {
			return
		}
		got := map[int32]string{}
		for _, l := range st.Listeners {
			got[l.Port] = l.TargetGroup
		}
		if diff := cmp.Diff(map[int32]string{80: "shop/a-web:80", 8080: "shop/c-api:8080"}, got); diff != "" {
			t.Errorf("listener default target groups mismatch (-want +got):\n%s", diff)
		}
	})
}

// TestBuildIngressGroupManageIgnoredWithManagedSG: manage-backend-security-group-rules is
// read only when security-groups is set (reference §2.2: "ignored with a managed SG"; seed
// 000: "This annotation gets ignored in the case of auto-generated security groups").
func TestBuildIngressGroupManageIgnoredWithManagedSG(t *testing.T) {
	a := testIngress("a", inGroup("team"), ingAnn(annotations.IngManageBackendRules, "true"))
	b := testIngress("b", inGroup("team"), ingAnn(annotations.IngManageBackendRules, "false"))
	// With a managed SG the annotation is never read (seed 000), so members that set it
	// differently do not conflict.
	st, problems := BuildIngressGroup(teamGroup, asMembers(a, b), testSettings(), defaultFacts())
	checkProblems(t, nil, problems)
	if st == nil {
		return
	}
	want := frontendView{Frontend: FrontendManaged, UseBackendSG: true, HasManagedSG: true, Manage: true, Source: SourceBackend}
	if diff := cmp.Diff(want, viewFrontend(st)); diff != "" {
		t.Errorf("frontend mismatch (-want +got):\n%s", diff)
	}
}

func TestIngressClassOf(t *testing.T) {
	class := func(name, controller string, isDefault bool) networkingv1.IngressClass {
		c := networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: networkingv1.IngressClassSpec{Controller: controller}}
		if isDefault {
			c.Annotations = map[string]string{"ingressclass.kubernetes.io/is-default-class": "true"}
		}
		return c
	}
	ours := class("alb", IngressController, false)
	nginx := class("nginx", "k8s.io/ingress-nginx", false)
	oursDefault := class("alb-default", IngressController, true)
	nginxDefault := class("nginx", "k8s.io/ingress-nginx", true)
	withClass := func(name string) ingOpt {
		return func(ing *networkingv1.Ingress) { ing.Spec.IngressClassName = strPtr(name) }
	}
	noClass := func(ing *networkingv1.Ingress) { ing.Spec.IngressClassName = nil }
	legacy := func(v string) ingOpt { return ingAnn(annotations.IngressClassAnnotation, v) }
	namedAlbOther := class("alb", "k8s.io/ingress-nginx", false)
	tests := []struct {
		name        string
		ing         *networkingv1.Ingress
		classes     []networkingv1.IngressClass
		rules       ClassRules
		wantClass   string // "" for nil
		wantOurs    bool
		wantRefused bool
		legacyFirst bool
	}{
		{name: "ingressClassName with our controller", ing: testIngress("web"), classes: []networkingv1.IngressClass{nginx, ours}, wantClass: "alb", wantOurs: true},
		{name: "ingressClassName with another controller", ing: testIngress("web", withClass("nginx")), classes: []networkingv1.IngressClass{nginx, ours}, wantClass: "nginx"},
		{name: "ingressClassName naming a missing class", ing: testIngress("web", withClass("gone")), classes: []networkingv1.IngressClass{nginx, ours}},
		{name: "ingressClassName wins over the default class", ing: testIngress("web", withClass("nginx")), classes: []networkingv1.IngressClass{nginx, oursDefault}, wantClass: "nginx"},
		{name: "legacy annotation alb", ing: testIngress("web", noClass, legacy("alb")), classes: []networkingv1.IngressClass{nginx}, wantOurs: true},
		// The IngressClass the annotation's value names applies, with its parameters.
		{name: "legacy annotation alb resolves to IngressClass alb", ing: testIngress("web", noClass, legacy("alb")), classes: []networkingv1.IngressClass{nginx, ours}, wantClass: "alb", wantOurs: true},
		{name: "legacy annotation alb, IngressClass alb of another controller", ing: testIngress("web", noClass, legacy("alb")), classes: []networkingv1.IngressClass{namedAlbOther}, wantOurs: true},
		{name: "legacy annotation of another controller", ing: testIngress("web", noClass, legacy("nginx")), classes: []networkingv1.IngressClass{ours}},
		{name: "legacy annotation wins over the default class", ing: testIngress("web", noClass, legacy("nginx")), classes: []networkingv1.IngressClass{oursDefault}},
		{name: "legacy annotation is exact: ALB is not alb", ing: testIngress("web", noClass, legacy("ALB")), classes: nil},
		{name: "no class: our default class", ing: testIngress("web", noClass), classes: []networkingv1.IngressClass{nginx, oursDefault}, wantClass: "alb-default", wantOurs: true},
		{name: "no class: another controller's default class", ing: testIngress("web", noClass), classes: []networkingv1.IngressClass{ours, nginxDefault}, wantClass: "nginx"},
		{name: "no class and no default class", ing: testIngress("web", noClass), classes: []networkingv1.IngressClass{ours, nginx}},
		// --ingress-class: the annotation's value lbsg serves; "" serves classless Ingresses too.
		{name: "--ingress-class=internal: legacy alb is not ours", ing: testIngress("web", noClass, legacy("alb")), classes: []networkingv1.IngressClass{ours},
			rules: ClassRules{LegacyClass: "internal"}},
		{name: "--ingress-class=internal: legacy internal is ours", ing: testIngress("web", noClass, legacy("internal")), classes: []networkingv1.IngressClass{ours},
			rules: ClassRules{LegacyClass: "internal"}, wantOurs: true},
		{name: "--ingress-class=internal: ingressClassName of any class of ours", ing: testIngress("web"), classes: []networkingv1.IngressClass{ours},
			rules: ClassRules{LegacyClass: "internal"}, wantClass: "alb", wantOurs: true},
		{name: "--ingress-class='': legacy alb is ours", ing: testIngress("web", noClass, legacy("alb")), rules: ClassRulesOf("", false, false), wantOurs: true},
		{name: "--ingress-class='': no class and no default class is ours", ing: testIngress("web", noClass), classes: []networkingv1.IngressClass{nginx},
			rules: ClassRulesOf("", false, false), wantOurs: true},
		{name: "--disable-ingress-class-annotation refuses legacy alb", ing: testIngress("web", noClass, legacy("alb")), classes: []networkingv1.IngressClass{ours},
			rules: ClassRules{DisableClassAnnotation: true}, wantOurs: true, wantRefused: true},
		{name: "--disable-ingress-class-annotation leaves other controllers' annotation alone", ing: testIngress("web", noClass, legacy("nginx")),
			rules: ClassRules{DisableClassAnnotation: true}},
		// The three rows below: the kubernetes.io/ingress.class annotation takes priority
		// over spec.ingressClassName, as upstream (classifyIngress).
		{name: "legacy annotation alb wins over ingressClassName of another controller",
			ing: testIngress("web", withClass("nginx"), legacy("alb")), classes: []networkingv1.IngressClass{nginx, ours}, wantClass: "alb", wantOurs: true, legacyFirst: true},
		{name: "legacy annotation of another controller wins over ingressClassName alb",
			ing: testIngress("web", legacy("nginx")), classes: []networkingv1.IngressClass{nginx, ours}, legacyFirst: true},
		{name: "both alb (the API server allows equal values), no IngressClass named alb",
			ing: testIngress("web", legacy("alb")), classes: []networkingv1.IngressClass{nginx}, wantOurs: true, legacyFirst: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, owned, refused := IngressClassOf(tt.ing, tt.classes, tt.rules)
			gotName := ""
			if got != nil {
				gotName = got.Name
			}
			// Rows marked legacyFirst check that the annotation, when set, decides alone.
			if gotName != tt.wantClass || owned != tt.wantOurs || (refused != nil) != tt.wantRefused {
				prefix := ""
				if tt.legacyFirst {
					prefix = "legacy annotation first: "
				}
				t.Errorf("%sIngressClassOf() = (%q, %v, %v), want (%q, %v, refused %v)", prefix, gotName, owned, refused, tt.wantClass, tt.wantOurs, tt.wantRefused)
			}
			if refused != nil && (refused.Key != annotations.IngressClassAnnotation || !strings.Contains(refused.Error(), "--disable-ingress-class-annotation")) {
				t.Errorf("refusal %q must name the annotation and the flag", refused.Error())
			}
		})
	}
}

func TestGroupNameRefused(t *testing.T) {
	ing := testIngress("web", ingAnn(annotations.IngGroupName, "shop"))
	off := ClassRules{DisableGroupNameAnnotation: true}
	if p := GroupNameRefused(ing, nil, ClassRules{}); p != nil {
		t.Errorf("refused without the flag: %v", p)
	}
	if p := GroupNameRefused(ing, nil, off); p == nil || p.Key != annotations.IngGroupName || p.Value != "shop" {
		t.Errorf("GroupNameRefused = %v, want the annotation refused", p)
	}
	if p := GroupNameRefused(ing, &ClassParams{Name: "p", Group: "team"}, off); p != nil {
		t.Errorf("the class's group decides, the annotation is moot: %v", p)
	}
	if p := GroupNameRefused(testIngress("web"), nil, off); p != nil {
		t.Errorf("no annotation: %v", p)
	}
}

func TestIngressGroupOf(t *testing.T) {
	tests := []struct {
		name   string
		ing    *networkingv1.Ingress
		params *ClassParams
		want   IngressGroupID
	}{
		{name: "no group: implicit", ing: testIngress("web"), want: IngressGroupID{Namespace: "shop", Name: "web"}},
		{name: "group.name", ing: testIngress("web", inGroup("team")), want: IngressGroupID{Name: "team"}},
		{name: "group.name with dots", ing: testIngress("web", inGroup("my-team.web")), want: IngressGroupID{Name: "my-team.web"}},
		{name: "IngressClassParams group wins over group.name", ing: testIngress("web", inGroup("team")),
			params: &ClassParams{Name: "p", Group: "shared"}, want: IngressGroupID{Name: "shared"}},
		{name: "IngressClassParams without group", ing: testIngress("web", inGroup("team")),
			params: &ClassParams{Name: "p"}, want: IngressGroupID{Name: "team"}},
		{name: "malformed group.name: implicit", ing: testIngress("web", inGroup("Team_A")), want: IngressGroupID{Namespace: "shop", Name: "web"}},
		{name: "empty group.name: implicit", ing: testIngress("web", inGroup("")), want: IngressGroupID{Namespace: "shop", Name: "web"}},
		{name: "group.name too long: implicit", ing: testIngress("web", inGroup(strings.Repeat("a", 64))), want: IngressGroupID{Namespace: "shop", Name: "web"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IngressGroupOf(tt.ing, tt.params); got != tt.want {
				t.Errorf("IngressGroupOf() = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestIngressGroupID(t *testing.T) {
	implicit := IngressGroupID{Namespace: "shop", Name: "web"}
	explicit := IngressGroupID{Name: "team"}
	type view struct {
		Explicit  bool
		String    string
		Finalizer string
		Owner     Owner
	}
	got := []view{
		{implicit.Explicit(), implicit.String(), implicit.Finalizer(), implicit.Owner()},
		{explicit.Explicit(), explicit.String(), explicit.Finalizer(), explicit.Owner()},
	}
	want := []view{
		{false, "shop/web", "ingress.k8s.aws/resources", Owner{Kind: "Ingress", Namespace: "shop", Name: "web"}},
		{true, "team", "group.ingress.k8s.aws/team", Owner{Kind: "IngressGroup", Name: "team"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("IngressGroupID mismatch (-want +got):\n%s", diff)
	}
}

func memberKeys(ms []IngressMember) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Ingress.Namespace+"/"+m.Ingress.Name)
	}
	return out
}

func TestSortMembers(t *testing.T) {
	order := func(v string) ingOpt { return ingAnn(annotations.IngGroupOrder, v) }
	ms := asMembers(
		testIngress("c"),
		testIngress("a", order("10")),
		testIngress("b", order("-1")),
		testIngress("d", inNamespace("alpha")),
		testIngress("e", order("not-a-number")), // sorts as 0; the build reports it
		testIngress("f", order("0")),
		testIngress("a", inNamespace("zulu"), order("-1")),
	)
	SortMembers(ms)
	want := []string{"shop/b", "zulu/a", "alpha/d", "shop/c", "shop/e", "shop/f", "shop/a"}
	if diff := cmp.Diff(want, memberKeys(ms)); diff != "" {
		t.Errorf("order mismatch (-want +got):\n%s", diff)
	}
}

// TestSortMembersUpstreamKey: upstream sorts members of equal order by the string
// "<namespace>/<name>" (sortGroupMembers in pkg/ingress/group_loader.go), and rule
// priorities follow that order. '-' sorts before '/', so "team-b/x" comes before "team/y".
func TestSortMembersUpstreamKey(t *testing.T) {
	ms := asMembers(testIngress("y", inNamespace("team")), testIngress("x", inNamespace("team-b")))
	SortMembers(ms)
	// Upstream compares "<namespace>/<name>" as one string, and "-" sorts before "/".
	if diff := cmp.Diff([]string{"team-b/x", "team/y"}, memberKeys(ms)); diff != "" {
		t.Errorf("order mismatch (-want +got):\n%s", diff)
	}
}

// BuildIngressGroup must not modify its inputs, and the order of members must not matter.
func TestBuildIngressGroupDoesNotMutate(t *testing.T) {
	a := testIngress("a", inGroup("team"), ingAnn(annotations.IngGroupOrder, "5", annotations.IngInboundCIDRs, "10.0.0.0/8"))
	b := testIngress("b", inGroup("team"), withDefaultBackend("api", 8080))
	ms := asMembers(a, b)
	before := []*networkingv1.Ingress{a.DeepCopy(), b.DeepCopy()}
	facts := defaultFacts()
	webBefore := facts.Services["shop/web"].DeepCopy()
	st1 := mustBuildGroup(t, teamGroup, ms, testSettings(), facts)
	if diff := cmp.Diff([]string{"shop/a", "shop/b"}, memberKeys(ms)); diff != "" {
		t.Errorf("BuildIngressGroup reordered its members (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(before, []*networkingv1.Ingress{a, b}); diff != "" {
		t.Errorf("BuildIngressGroup modified the Ingresses (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(webBefore, facts.Services["shop/web"]); diff != "" {
		t.Errorf("BuildIngressGroup modified a Service (-before +after):\n%s", diff)
	}
	st2 := mustBuildGroup(t, teamGroup, asMembers(b, a), testSettings(), defaultFacts())
	if diff := cmp.Diff(st1, st2); diff != "" {
		t.Errorf("member order changes the stack (-a,b +b,a):\n%s", diff)
	}
}
