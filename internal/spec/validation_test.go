package spec

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/lbsg/lbsg/internal/annotations"
	"github.com/lbsg/lbsg/internal/sgrules"
)

func groupProblems(ing *networkingv1.Ingress, params *ClassParams) (*Stack, []*Problem) {
	members := asMembers(ing)
	members[0].Params = params
	return BuildIngressGroup(implicitGroup(ing), members, testSettings(), defaultFacts())
}

// problemOn returns the problem on key, failing when a stack was built or no problem names
// the key.
func problemOn(t *testing.T, st *Stack, problems []*Problem, key string) *Problem {
	t.Helper()
	if st != nil {
		t.Fatalf("a stack was built; want a problem on %s", key)
	}
	for _, p := range problems {
		if p.Key == key {
			return p
		}
	}
	t.Fatalf("no problem on %s in %v", key, problems)
	return nil
}

// Reserved tracking tags (issue §1.1): a tenant must not be able to tag its resources as
// lbsg's backend SG or as another stack's.
func TestTrackingTagsCannotBeForgedFromServiceAnnotation(t *testing.T) {
	for _, tag := range []string{
		"elbv2.k8s.aws/resource=backend-sg", "elbv2.k8s.aws/cluster=other", "ingress.k8s.aws/stack=team",
		"service.k8s.aws/stack=ns/other", "kubernetes.io/cluster/prod=owned", "aws:cloudformation=x",
		"Elbv2.K8s.Aws/resource=backend-sg", "ok=1, ingress.k8s.aws/resource=LoadBalancer",
	} {
		t.Run(tag, func(t *testing.T) {
			st, problems := BuildService(testService(ann(annotations.SvcAdditionalTags, tag)), testSettings(), ServiceFacts{})
			p := problemOn(t, st, problems, annotations.SvcAdditionalTags)
			if !strings.Contains(p.Reason, "is reserved") || !strings.Contains(p.Fix, "remove the tag or rename its key") {
				t.Errorf("problem %q does not name the reserved key and the fix", p.Error())
			}
		})
	}
}

func TestTrackingTagsCannotBeForgedFromIngressAnnotation(t *testing.T) {
	for _, tag := range []string{"elbv2.k8s.aws/resource=backend-sg", "ingress.k8s.aws/stack=other", "service.k8s.aws/resource=x", "kubernetes.io/cluster/c=shared"} {
		t.Run(tag, func(t *testing.T) {
			st, problems := groupProblems(testIngress("web", ingAnn(annotations.IngTags, tag)), nil)
			p := problemOn(t, st, problems, annotations.IngTags)
			if !strings.Contains(p.Reason, "is reserved") {
				t.Errorf("problem %q does not say the key is reserved", p.Error())
			}
		})
	}
}

func TestTrackingTagsCannotBeForgedFromIngressClassParams(t *testing.T) {
	params := &ClassParams{Name: "p", Tags: map[string]string{"elbv2.k8s.aws/resource": "backend-sg", "team": "a"}}
	st, problems := groupProblems(testIngress("web"), params)
	p := problemOn(t, st, problems, "IngressClassParams p spec.tags")
	if !strings.Contains(p.Reason, `tag key "elbv2.k8s.aws/resource" is reserved`) {
		t.Errorf("problem %q does not name the key", p.Error())
	}
}

// TestNameTagIsReservedInEveryTagsSetting guards issue 15 §1.4: a Name tag asked for by a
// Service, an Ingress or IngressClassParams would land on the stack's managed SG and make it
// answer to other load balancers' security-groups references of that name.
func TestNameTagIsReservedInEveryTagsSetting(t *testing.T) {
	check := func(t *testing.T, p *Problem) {
		t.Helper()
		if !strings.Contains(p.Reason, `tag key "Name" is reserved`) || !strings.Contains(p.Fix, "remove the Name tag") {
			t.Errorf("problem %q does not name the reserved key and the fix", p.Error())
		}
	}
	t.Run("Service annotation", func(t *testing.T) {
		st, problems := BuildService(testService(ann(annotations.SvcAdditionalTags, "team=a,Name=corp-only")), testSettings(), ServiceFacts{})
		check(t, problemOn(t, st, problems, annotations.SvcAdditionalTags))
	})
	t.Run("Ingress annotation", func(t *testing.T) {
		st, problems := groupProblems(testIngress("web", ingAnn(annotations.IngTags, "Name=corp-only")), nil)
		check(t, problemOn(t, st, problems, annotations.IngTags))
	})
	t.Run("IngressClassParams", func(t *testing.T) {
		st, problems := groupProblems(testIngress("web"), &ClassParams{Name: "p", Tags: map[string]string{"Name": "corp-only"}})
		check(t, problemOn(t, st, problems, "IngressClassParams p spec.tags"))
	})
	t.Run("lower-case name is an ordinary tag", func(t *testing.T) {
		if _, problems := BuildService(testService(ann(annotations.SvcAdditionalTags, "name=web")), testSettings(), ServiceFacts{}); len(problems) > 0 {
			t.Errorf("problems: %v", problems)
		}
	})
}

// Empty values (issue §1.10): present but empty is bad input, never the default.
func TestEmptyServiceAnnotationValuesAreErrors(t *testing.T) {
	for _, key := range annotations.ServiceKeys {
		if key == annotations.SvcLoadBalancerType {
			continue // with no loadBalancerClass, an empty type means the Service is not lbsg's
		}
		for _, v := range []string{"", "  "} {
			t.Run(fmt.Sprintf("%s=%q", key, v), func(t *testing.T) {
				svc := testService(ann(key, v))
				svc.Spec.LoadBalancerClass = strPtr(testClass)
				st, problems := BuildService(svc, testSettings(), ServiceFacts{})
				p := problemOn(t, st, problems, key)
				want := fmt.Sprintf("annotation %s=%q: the value is empty; fix: set a value, or remove the annotation to use the default", key, v)
				if p.Error() != want {
					t.Errorf("got  %s\nwant %s", p.Error(), want)
				}
			})
		}
	}
}

func TestEmptyIngressAnnotationValuesAreErrors(t *testing.T) {
	keys := append(append([]string(nil), annotations.IngressKeys...), annotations.BackendKeys...)
	for _, key := range keys {
		t.Run(key, func(t *testing.T) {
			st, problems := groupProblems(testIngress("web", ingAnn(key, "")), nil)
			p := problemOn(t, st, problems, key)
			if p.Reason != "the value is empty (Ingress shop/web)" {
				t.Errorf("reason %q", p.Reason)
			}
		})
	}
	t.Run("on the backend Service", func(t *testing.T) {
		facts := albFacts(albService("web", svcAnn(annotations.IngHealthCheckPath, " ")), apiService())
		st, problems := BuildIngressGroup(implicitGroup(testIngress("web")), asMembers(testIngress("web")), testSettings(), facts)
		p := problemOn(t, st, problems, annotations.IngHealthCheckPath)
		if !strings.Contains(p.Reason, "the value is empty (on Service)") {
			t.Errorf("reason %q", p.Reason)
		}
	})
}

func TestEmptyPrefixListOpensNothing(t *testing.T) {
	// Upstream opens nothing for an empty prefix list; lbsg used to open 0.0.0.0/0.
	st, problems := BuildService(testService(ann(annotations.SvcPrefixLists, "")), testSettings(), ServiceFacts{})
	problemOn(t, st, problems, annotations.SvcPrefixLists)
	st, problems = groupProblems(testIngress("web", ingAnn(annotations.IngPrefixLists, "")), nil)
	problemOn(t, st, problems, annotations.IngPrefixLists)
}

func TestEmptyListElementsAreErrors(t *testing.T) {
	tests := []struct{ key, value string }{
		{annotations.SvcSourceRanges, "10.0.0.0/8,,192.168.0.0/16"},
		{annotations.SvcSecurityGroups, "sg-1,"},
		{annotations.SvcSubnets, ",subnet-1"},
		{annotations.SvcPrefixLists, "pl-0a, ,pl-0b"},
		{annotations.SvcAdditionalTags, "a=1,,b=2"},
		{annotations.SvcTargetNodeLabels, "pool=web,"},
	}
	for _, tc := range tests {
		t.Run(tc.key, func(t *testing.T) {
			st, problems := BuildService(testService(ann(tc.key, tc.value)), testSettings(), ServiceFacts{})
			p := problemOn(t, st, problems, tc.key)
			if !strings.Contains(p.Reason, "is empty") || p.Value != tc.value {
				t.Errorf("problem %q", p.Error())
			}
		})
	}
}

// Canonical CIDRs (issue §1.4): what lbsg sends is what AWS stores, so nothing flaps.
func TestNonCanonicalCIDRsAreUsedInCanonicalForm(t *testing.T) {
	dual := ann(annotations.SvcIPAddressType, "dualstack")
	tests := []struct {
		name      string
		svc       *Stack
		wantPeers []string
		wantNote  string
	}{
		{"host bits in the annotation", mustBuild(t, testService(ann(annotations.SvcSourceRanges, "10.0.0.1/8")), testSettings(), ServiceFacts{}),
			[]string{"10.0.0.0/8"}, `annotation service.beta.kubernetes.io/load-balancer-source-ranges: CIDR "10.0.0.1/8" has host bits set; lbsg uses 10.0.0.0/8`},
		{"host bits in spec.loadBalancerSourceRanges", mustBuild(t, testService(sourceRanges("192.168.1.7/24")), testSettings(), ServiceFacts{}),
			[]string{"192.168.1.0/24"}, `spec.loadBalancerSourceRanges: CIDR "192.168.1.7/24" has host bits set; lbsg uses 192.168.1.0/24`},
		{"upper-case IPv6", mustBuild(t, testService(dual, ann(annotations.SvcSourceRanges, "2001:DB8:0::/32")), testSettings(), ServiceFacts{}),
			[]string{"2001:db8::/32"}, `CIDR "2001:DB8:0::/32" is not in canonical form; lbsg uses 2001:db8::/32`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var peers []string
			for _, r := range tc.svc.ManagedSG.Ingress {
				peers = append(peers, r.Peer)
			}
			if diff := cmp.Diff(tc.wantPeers, peers); diff != "" {
				t.Errorf("peers (-want +got):\n%s", diff)
			}
			if len(tc.svc.Notices) != 1 || tc.svc.Notices[0].Reason != NoticeCIDRCanonicalized || !strings.Contains(tc.svc.Notices[0].Message, tc.wantNote) {
				t.Errorf("notices %v, want one %s containing %q", tc.svc.Notices, NoticeCIDRCanonicalized, tc.wantNote)
			}
		})
	}
	t.Run("Ingress annotation and IngressClassParams", func(t *testing.T) {
		st := mustBuildOne(t, testIngress("web", ingAnn(annotations.IngInboundCIDRs, "10.1.2.3/16")))
		if got := st.ManagedSG.Ingress[0].Peer; got != "10.1.0.0/16" || len(st.Notices) != 1 || st.Notices[0].Ingress != "shop/web" {
			t.Errorf("peer %s, notices %v", got, st.Notices)
		}
		st, problems := groupProblems(testIngress("web"), &ClassParams{Name: "p", InboundCIDRs: []string{"172.16.5.5/12"}})
		if len(problems) > 0 {
			t.Fatal(problems)
		}
		if got := st.ManagedSG.Ingress[0].Peer; got != "172.16.0.0/12" || len(st.Notices) != 1 {
			t.Errorf("peer %s, notices %v", got, st.Notices)
		}
	})
}

func TestMalformedCIDRsAreErrors(t *testing.T) {
	for _, c := range []string{"10.0.0.0/08", "::/00", "010.0.0.0/8", "10.0.0.0/8 ", "::ffff:10.0.0.0/104", "fe80::1%eth0/64"} {
		t.Run(c, func(t *testing.T) {
			st, problems := BuildService(testService(sourceRanges(c)), testSettings(), ServiceFacts{})
			if c == "10.0.0.0/8 " { // spec entries are trimmed; this one is fine
				if len(problems) > 0 || st == nil {
					t.Errorf("problems %v", problems)
				}
				return
			}
			problemOn(t, st, problems, "spec.loadBalancerSourceRanges")
			st, problems = groupProblems(testIngress("web", ingAnn(annotations.IngInboundCIDRs, c)), nil)
			problemOn(t, st, problems, annotations.IngInboundCIDRs)
			st, problems = groupProblems(testIngress("web"), &ClassParams{Name: "p", InboundCIDRs: []string{c}})
			problemOn(t, st, problems, "IngressClassParams p spec.inboundCIDRs")
		})
	}
}

func TestIPv6CIDROnIPv4LoadBalancerIsDetectedByAddressFamily(t *testing.T) {
	// "::0/0" and "0::/0" are IPv6 whatever their spelling; the check uses the parsed family.
	for _, c := range []string{"::0/0", "0:0::/0", "2001:DB8::/32"} {
		t.Run(c, func(t *testing.T) {
			st, problems := BuildService(testService(ann(annotations.SvcSourceRanges, c)), testSettings(), ServiceFacts{})
			p := problemOn(t, st, problems, annotations.SvcSourceRanges)
			if !strings.Contains(p.Reason, "unsupported v6 cidr") {
				t.Errorf("problem %q", p.Error())
			}
			st, problems = groupProblems(testIngress("web", ingAnn(annotations.IngInboundCIDRs, c)), nil)
			p = problemOn(t, st, problems, annotations.IngInboundCIDRs)
			if !strings.Contains(p.Reason, "IPv6 CIDR") {
				t.Errorf("problem %q", p.Error())
			}
		})
	}
}

// AWS limits (issue §1.15): checked before the first write.
func TestMoreThanFiveSecurityGroupsPerLoadBalancerAreRejected(t *testing.T) {
	five := "sg-1,sg-2,sg-3,sg-4,sg-5"
	six := five + ",sg-6"
	tests := []struct {
		name, sgs, manage string
		wantProblem       string
	}{
		{"five custom SGs without the backend SG", five, "", ""},
		{"five custom SGs plus the backend SG", five, "true", "5 security groups plus the shared backend security group lbsg attaches: 6 exceed the limit of 5 per load balancer"},
		{"four custom SGs plus the backend SG", "sg-1,sg-2,sg-3,sg-4", "true", ""},
		{"six custom SGs", six, "false", "6 security groups exceed the limit of 5 per load balancer"},
		{"duplicates count once", five + ",sg-1", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kv := []string{annotations.SvcSecurityGroups, tc.sgs}
			ikv := []string{annotations.IngSecurityGroups, tc.sgs}
			if tc.manage != "" {
				kv = append(kv, annotations.SvcManageBackendRules, tc.manage)
				ikv = append(ikv, annotations.IngManageBackendRules, tc.manage)
			}
			st, problems := BuildService(testService(ann(kv...)), testSettings(), ServiceFacts{})
			ist, iproblems := groupProblems(testIngress("web", ingAnn(ikv...)), nil)
			if tc.wantProblem == "" {
				if len(problems)+len(iproblems) > 0 {
					t.Errorf("unexpected problems %v %v", problems, iproblems)
				}
				return
			}
			for _, p := range []*Problem{problemOn(t, st, problems, annotations.SvcSecurityGroups), problemOn(t, ist, iproblems, annotations.IngSecurityGroups)} {
				if p.Reason != tc.wantProblem || p.Fix == "" || p.Value != tc.sgs {
					t.Errorf("problem %q, want reason %q", p.Error(), tc.wantProblem)
				}
			}
		})
	}
}

func TestTagLimitsAreCheckedBeforeAnyWrite(t *testing.T) {
	many := func(n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = fmt.Sprintf("k%d=v", i)
		}
		return strings.Join(parts, ",")
	}
	tests := []struct {
		name, tags string
		defaults   int
		wantKey    string
		want       string
	}{
		{"value over 256 characters", "team=" + strings.Repeat("x", 300), 0, annotations.SvcAdditionalTags, `the value of tag "team" has 300 characters; AWS allows at most 256`},
		{"key over 128 characters", strings.Repeat("k", 129) + "=v", 0, annotations.SvcAdditionalTags, "has 129 characters; AWS allows at most 128"},
		{"character AWS refuses", "team=a;b", 0, annotations.SvcAdditionalTags, "a character AWS does not accept"},
		{"more than 50 in the annotation", many(51), 0, annotations.SvcAdditionalTags, "51 tags; AWS allows at most 50 per resource"},
		{"50 after merging lbsg's own", many(48), 0, annotations.SvcAdditionalTags, "would get 51 tags (48 from " + annotations.SvcAdditionalTags + ", 0 from --default-tags"},
		{"50 after merging default tags", many(10), 40, annotations.SvcAdditionalTags, "would get 53 tags"},
		{"47 is fine", many(47), 0, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := testSettings()
			s.DefaultTags = map[string]string{}
			for i := 0; i < tc.defaults; i++ {
				s.DefaultTags[fmt.Sprintf("d%d", i)] = "v"
			}
			st, problems := BuildService(testService(ann(annotations.SvcAdditionalTags, tc.tags)), s, ServiceFacts{})
			if tc.wantKey == "" {
				if len(problems) > 0 {
					t.Errorf("unexpected %v", problems)
				}
				return
			}
			if p := problemOn(t, st, problems, tc.wantKey); !strings.Contains(p.Reason, tc.want) {
				t.Errorf("problem %q, want %q", p.Error(), tc.want)
			}
		})
	}
	t.Run("Ingress tags", func(t *testing.T) {
		st, problems := groupProblems(testIngress("web", ingAnn(annotations.IngTags, many(48))), nil)
		if p := problemOn(t, st, problems, annotations.IngTags); !strings.Contains(p.Reason, "would get 51 tags") {
			t.Errorf("problem %q", p.Error())
		}
	})
}

func TestHealthCheckSettingsOutsideAWSLimitsAreRejected(t *testing.T) {
	tests := []struct {
		key, value, want string
	}{
		{annotations.SvcHealthCheckPort, "99999", "must be traffic-port or a port number 1-65535"},
		{annotations.SvcHealthCheckPort, "0", "must be traffic-port or a port number 1-65535"},
		{annotations.SvcHealthCheckPath, "/" + strings.Repeat("a", 1024), "at most 1024 characters (it has 1025)"},
		{annotations.SvcHealthCheckPath, "/health z", "cannot contain spaces"},
		{annotations.SvcHealthCheckPath, "healthz", `must start with "/"`},
	}
	for _, tc := range tests {
		t.Run(tc.key+"="+annotations.Shorten(tc.value), func(t *testing.T) {
			st, problems := BuildService(testService(ann(annotations.SvcHealthCheckProtocol, "HTTP", tc.key, tc.value)), testSettings(), ServiceFacts{})
			if p := problemOn(t, st, problems, tc.key); !strings.Contains(p.Reason, tc.want) {
				t.Errorf("problem %q, want %q", p.Error(), tc.want)
			}
		})
	}
	for _, v := range []string{"99999", "0", "-1"} {
		st, problems := groupProblems(testIngress("web", ingAnn(annotations.IngHealthCheckPort, v)), nil)
		problemOn(t, st, problems, annotations.IngHealthCheckPort)
	}
}

func TestAbsurdlyLongValuesGiveShortMessages(t *testing.T) {
	long := strings.Repeat("x", 4096)
	svcCases := []string{annotations.SvcScheme, annotations.SvcNLBTargetType, annotations.SvcHealthCheckPort,
		annotations.SvcPrivateLinkEnforce, annotations.SvcSourceRanges, annotations.SvcPrefixLists, annotations.SvcAdditionalTags,
		annotations.SvcSecurityGroups}
	for _, key := range svcCases {
		t.Run(key, func(t *testing.T) {
			v := long
			if key == annotations.SvcSecurityGroups {
				ids := make([]string, 60)
				for i := range ids {
					ids[i] = fmt.Sprintf("sg-0123456789abcd%03d", i)
				}
				v = strings.Join(ids, ",")
			}
			_, problems := BuildService(testService(ann(key, v)), testSettings(), ServiceFacts{})
			if len(problems) == 0 {
				t.Fatal("no problem")
			}
			for _, p := range problems {
				if msg := p.Error(); len(msg) > 600 || !strings.Contains(msg, "…") || !strings.Contains(msg, "fix: ") || !strings.Contains(msg, key) {
					t.Errorf("message of %d characters: %.300s", len(msg), msg)
				}
			}
		})
	}
	for _, key := range []string{annotations.IngScheme, annotations.IngListenPorts, annotations.IngTargetType, annotations.IngInboundCIDRs} {
		t.Run(key, func(t *testing.T) {
			_, problems := groupProblems(testIngress("web", ingAnn(key, long)), nil)
			for _, p := range problems {
				if msg := p.Error(); len(msg) > 600 || !strings.Contains(msg, "fix: ") {
					t.Errorf("message of %d characters: %.300s", len(msg), msg)
				}
			}
		})
	}
}

// Unsupported upstream keys (issue §1.6): one notice per object, and the object still builds.
func TestUnsupportedUpstreamAnnotationsGiveOneNotice(t *testing.T) {
	svc := testService(ann(annotations.ServicePrefix+"aws-load-balancer-eip-allocations", "eipalloc-1",
		"service.beta.kubernetes.io/not-upstream", "x"))
	st := mustBuild(t, svc, testSettings(), ServiceFacts{})
	want := []Notice{{Reason: NoticeUnsupportedAnnotations, Message: "annotations not implemented by lbsg: " +
		"service.beta.kubernetes.io/aws-load-balancer-eip-allocations; lbsg neither applies nor reverts these settings: whatever AWS has stays as it is; " +
		"fix: set them in AWS yourself, or remove the annotations"}}
	if diff := cmp.Diff(want, st.Notices); diff != "" {
		t.Errorf("notices (-want +got):\n%s", diff)
	}

	// Protective keys (WAF, authentication...) are refused, not noticed
	// (TestProtectiveAnnotationsFailClosed); those that ask for no protection are noticed.
	ing := testIngress("web", ingAnn(annotations.IngressPrefix+"waf-acl-id", "none",
		annotations.IngressPrefix+"frontend-nlb-scheme", "internal"))
	ist := mustBuildOne(t, ing)
	if len(ist.Notices) != 1 || ist.Notices[0].Ingress != "shop/web" || ist.Notices[0].Reason != NoticeUnsupportedAnnotations ||
		!strings.Contains(ist.Notices[0].Message, "alb.ingress.kubernetes.io/frontend-nlb-scheme, alb.ingress.kubernetes.io/waf-acl-id;") {
		t.Errorf("notices %v", ist.Notices)
	}
	if st := mustBuildOne(t, testIngress("web")); len(st.Notices) != 0 {
		t.Errorf("notices without unsupported keys: %v", st.Notices)
	}
}

func TestIngressClassParamsPrefixListsAreChecked(t *testing.T) {
	st, problems := groupProblems(testIngress("web"), &ClassParams{Name: "p", PrefixLists: []string{"pl-0a", "my-list"}})
	if p := problemOn(t, st, problems, "IngressClassParams p spec.prefixListsIDs"); !strings.Contains(p.Reason, `not a managed prefix list ID: "my-list"`) {
		t.Errorf("problem %q", p.Error())
	}
}

func TestOverlongSecurityGroupAndSubnetRefsAreRejected(t *testing.T) {
	long := "sg-1," + strings.Repeat("n", 300)
	st, problems := BuildService(testService(ann(annotations.SvcSecurityGroups, long)), testSettings(), ServiceFacts{})
	if p := problemOn(t, st, problems, annotations.SvcSecurityGroups); !strings.Contains(p.Reason, "has 300 characters; an ID or Name tag has at most 256") {
		t.Errorf("problem %q", p.Error())
	}
	st, problems = groupProblems(testIngress("web", ingAnn(annotations.IngSubnets, long)), nil)
	problemOn(t, st, problems, annotations.IngSubnets)
}

// What AWS stores for a CIDR rule is the masked, canonical network; the desired rules must
// be spelled the same, or every diff authorizes one form and revokes the other.
func TestCanonicalCIDRRulesMatchWhatAWSStores(t *testing.T) {
	dual := ann(annotations.SvcIPAddressType, "dualstack")
	st := mustBuild(t, testService(dual, ann(annotations.SvcSourceRanges, "10.0.0.1/8,2001:DB8:0:0:1::5/80")), testSettings(), ServiceFacts{})
	// The observed rules, as EC2 reports them after authorizing the desired ones.
	stored := []sgrules.Rule{cidr("tcp", 80, 80, "10.0.0.0/8"), cidr("tcp", 80, 80, "2001:db8:0:0:1::/80")}
	authorize, revoke := sgrules.Diff(st.ManagedSG.Ingress, stored, nil)
	if len(authorize)+len(revoke) != 0 {
		t.Errorf("diff against the stored rules: authorize %v, revoke %v", authorize, revoke)
	}
}

func TestListenerAndRuleQuotasAreCheckedBeforeAnyWrite(t *testing.T) {
	var ps []corev1.ServicePort
	for i := int32(0); i < 51; i++ {
		ps = append(ps, tcpPort(fmt.Sprintf("p%d", i), 1000+i, 30000+i))
	}
	st, problems := BuildService(testService(ports(ps...)), testSettings(), ServiceFacts{})
	if p := problemOn(t, st, problems, "spec.ports"); !strings.Contains(p.Reason, "51 listeners; a load balancer can have at most 50") {
		t.Errorf("problem %q", p.Error())
	}
	if _, problems := BuildService(testService(ports(ps[:50]...)), testSettings(), ServiceFacts{}); len(problems) > 0 {
		t.Errorf("50 ports: %v", problems)
	}

	ing := testIngress("web")
	var paths []networkingv1.HTTPIngressPath
	for i := 0; i < 101; i++ {
		paths = append(paths, prefixPath(fmt.Sprintf("/p%d", i), svcBackend("web", 80)))
	}
	ing.Spec.Rules = []networkingv1.IngressRule{httpRule("", paths...)}
	st, problems = groupProblems(ing, nil)
	if p := problemOn(t, st, problems, "spec.rules"); !strings.Contains(p.Reason, "101 listener rules") {
		t.Errorf("problem %q", p.Error())
	}
}
