package spec

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lbsg/lbsg/internal/annotations"
)

const nlbPrefix = "service.beta.kubernetes.io/aws-load-balancer-"

func TestServiceHealthSettingsAndAttributesReachTheStack(t *testing.T) {
	svc := testService(ports(tcpPort("http", 80, 30080), tcpPort("https", 443, 30443)), ann(
		nlbPrefix+"healthcheck-protocol", "HTTP",
		nlbPrefix+"healthcheck-interval", "10",
		nlbPrefix+"healthcheck-timeout", "6",
		nlbPrefix+"healthcheck-healthy-threshold", "3",
		nlbPrefix+"healthcheck-unhealthy-threshold", "3",
		nlbPrefix+"healthcheck-success-codes", "200-399",
		nlbPrefix+"proxy-protocol", "*",
		nlbPrefix+"target-group-attributes", "deregistration_delay.timeout_seconds=30",
		nlbPrefix+"attributes", "deletion_protection.enabled=true",
		nlbPrefix+"cross-zone-load-balancing-enabled", "true",
		nlbPrefix+"listener-attributes.TCP-443", "tcp.idle_timeout.seconds=400",
	))
	st := mustBuild(t, svc, testSettings(), ServiceFacts{})
	wantHC := HealthCheck{Protocol: "HTTP", Port: TrafficPort, Path: "/", Interval: 10, Timeout: 6, Healthy: 3, Unhealthy: 3, SuccessCodes: "200-399"}
	for _, tg := range st.TargetGroups {
		if diff := cmp.Diff(wantHC, tg.HealthCheck); diff != "" {
			t.Errorf("%s health check (-want +got):\n%s", tg.Name, diff)
		}
		if diff := cmp.Diff(map[string]string{"proxy_protocol_v2.enabled": "true", "deregistration_delay.timeout_seconds": "30"}, tg.Attributes); diff != "" {
			t.Errorf("%s attributes (-want +got):\n%s", tg.Name, diff)
		}
	}
	if diff := cmp.Diff(map[string]string{"deletion_protection.enabled": "true", "load_balancing.cross_zone.enabled": "true"}, st.LoadBalancer.Attributes); diff != "" {
		t.Errorf("load balancer attributes (-want +got):\n%s", diff)
	}
	for _, l := range st.Listeners {
		var want map[string]string
		if l.Port == 443 {
			want = map[string]string{"tcp.idle_timeout.seconds": "400"}
		}
		if diff := cmp.Diff(want, l.Attributes); diff != "" {
			t.Errorf("listener %d attributes (-want +got):\n%s", l.Port, diff)
		}
	}
	if len(st.Notices) != 0 {
		t.Errorf("notices %v", st.Notices)
	}
}

// Nothing set: nothing in the stack, so the planner never touches AWS's values.
func TestServiceWithoutHealthOrAttributeAnnotationsSetsNone(t *testing.T) {
	st := mustBuild(t, testService(), testSettings(), ServiceFacts{})
	hc := st.TargetGroups[0].HealthCheck
	if hc.Interval != 0 || hc.Timeout != 0 || hc.Healthy != 0 || hc.Unhealthy != 0 || hc.SuccessCodes != "" ||
		st.TargetGroups[0].Attributes != nil || st.LoadBalancer.Attributes != nil || st.Listeners[0].Attributes != nil {
		t.Errorf("stack sets health settings or attributes nobody asked for: %+v %+v", st.TargetGroups[0], st.LoadBalancer)
	}
}

func TestServiceSuccessCodesOnATCPHealthCheckAreIgnoredWithANotice(t *testing.T) {
	st := mustBuild(t, testService(ann(nlbPrefix+"healthcheck-success-codes", "200")), testSettings(), ServiceFacts{})
	if st.TargetGroups[0].HealthCheck.SuccessCodes != "" {
		t.Errorf("success codes on a TCP health check: %+v", st.TargetGroups[0].HealthCheck)
	}
	if len(st.Notices) != 1 || st.Notices[0].Reason != NoticeAttributesIgnored || !strings.Contains(st.Notices[0].Message, "fix: ") {
		t.Errorf("notices %v", st.Notices)
	}
}

func TestServiceListenerAttributesNamingNoListenerGiveANotice(t *testing.T) {
	st := mustBuild(t, testService(ann(nlbPrefix+"listener-attributes.TCP-81", "tcp.idle_timeout.seconds=400")), testSettings(), ServiceFacts{})
	if len(st.Notices) != 1 || !strings.Contains(st.Notices[0].Message, "listener-attributes.TCP-81 names no listener") {
		t.Errorf("notices %v", st.Notices)
	}
}

func TestServiceBadHealthOrAttributeValueIsAProblem(t *testing.T) {
	_, problems := BuildService(testService(ann(nlbPrefix+"healthcheck-timeout", "1", nlbPrefix+"proxy-protocol", "all")), testSettings(), ServiceFacts{})
	checkProblems(t, []wantProblem{
		{Key: nlbPrefix + "healthcheck-timeout", Value: "1", Reason: "from 2 to 120", Fix: "from 2 to 120"},
		{Key: nlbPrefix + "proxy-protocol", Value: "all", Reason: `only "*"`, Fix: `set it to "*"`},
	}, problems)
}

func TestIngressBackendHealthSettingsAndAttributes(t *testing.T) {
	web := albService("web", svcAnn(annotations.IngSuccessCodes, "200,204", annotations.IngTargetGroupAttributes, "stickiness.enabled=true"))
	ing := testIngress("front", ingAnn(
		annotations.IngHealthCheckInterval, "20",
		annotations.IngHealthCheckTimeout, "8",
		annotations.IngHealthyThreshold, "3",
		annotations.IngUnhealthyThreshold, "4",
		annotations.IngSuccessCodes, "200",
		annotations.IngLoadBalancerAttributes, "idle_timeout.timeout_seconds=120",
		annotations.IngListenerAttrsPrefix+"HTTP-80", "routing.http.response.server.enabled=false",
	))
	st := mustBuildGroup(t, implicitGroup(ing), asMembers(ing), testSettings(), albFacts(web))
	tg := st.TargetGroups[0]
	want := HealthCheck{Protocol: "HTTP", Port: TrafficPort, Path: "/", Interval: 20, Timeout: 8, Healthy: 3, Unhealthy: 4, SuccessCodes: "200,204"}
	if diff := cmp.Diff(want, tg.HealthCheck); diff != "" {
		t.Errorf("health check (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"stickiness.enabled": "true"}, tg.Attributes); diff != "" {
		t.Errorf("target group attributes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"idle_timeout.timeout_seconds": "120"}, st.LoadBalancer.Attributes); diff != "" {
		t.Errorf("load balancer attributes (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"routing.http.response.server.enabled": "false"}, st.Listeners[0].Attributes); diff != "" {
		t.Errorf("listener attributes (-want +got):\n%s", diff)
	}
}

func TestIngressGRPCBackendGetsGRPCHealthCheckPathAndVersion(t *testing.T) {
	ing := testIngress("front", ingAnn(annotations.IngBackendProtocolVersion, "GRPC"))
	st := mustBuildOne(t, ing)
	plain := mustBuildOne(t, testIngress("front"))
	tg := st.TargetGroups[0]
	if tg.ProtocolVersion != "GRPC" || tg.HealthCheck.Path != "/AWS.ALB/healthcheck" {
		t.Errorf("target group %+v", tg)
	}
	if tg.Name == plain.TargetGroups[0].Name {
		t.Errorf("a gRPC target group has the name of an HTTP1 one (%s): its protocol version cannot change in place", tg.Name)
	}
}

func TestIngressGroupMembersGivingOneAttributeTwoValuesConflict(t *testing.T) {
	a := testIngress("a", inGroup("team"), ingAnn(annotations.IngLoadBalancerAttributes, "idle_timeout.timeout_seconds=60"))
	b := testIngress("b", inGroup("team"), ingAnn(annotations.IngLoadBalancerAttributes, "idle_timeout.timeout_seconds=120,routing.http2.enabled=false"))
	_, problems := BuildIngressGroup(teamGroup, asMembers(a, b), testSettings(), defaultFacts())
	if len(problems) != 1 || problems[0].Key != annotations.IngLoadBalancerAttributes || !strings.Contains(problems[0].Reason, "idle_timeout.timeout_seconds") {
		t.Fatalf("problems %v", problems)
	}
	b.Annotations[annotations.IngLoadBalancerAttributes] = "idle_timeout.timeout_seconds=60,routing.http2.enabled=false"
	st := mustBuildGroup(t, teamGroup, asMembers(a, b), testSettings(), defaultFacts())
	if diff := cmp.Diff(map[string]string{"idle_timeout.timeout_seconds": "60", "routing.http2.enabled": "false"}, st.LoadBalancer.Attributes); diff != "" {
		t.Errorf("merged attributes (-want +got):\n%s", diff)
	}
}

func TestIngressClassParamsSubnetsAndLoadBalancerAttributes(t *testing.T) {
	ing := testIngress("front", ingAnn(annotations.IngSubnets, "subnet-ann", annotations.IngLoadBalancerAttributes, "idle_timeout.timeout_seconds=120,routing.http2.enabled=false"))
	member := func(p *ClassParams) []IngressMember {
		return []IngressMember{{Ingress: ing, ClassName: albClassName, Params: p}}
	}
	st := mustBuildGroup(t, implicitGroup(ing), member(&ClassParams{Name: "c", Subnets: []string{"subnet-1", "subnet-2"},
		LoadBalancerAttributes: map[string]string{"idle_timeout.timeout_seconds": "200"}}), testSettings(), defaultFacts())
	if diff := cmp.Diff([]string{"subnet-1", "subnet-2"}, st.LoadBalancer.SubnetRefs); diff != "" {
		t.Errorf("subnets (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"idle_timeout.timeout_seconds": "200", "routing.http2.enabled": "false"}, st.LoadBalancer.Attributes); diff != "" {
		t.Errorf("attributes: the class's must win key by key (-want +got):\n%s", diff)
	}

	st = mustBuildGroup(t, implicitGroup(ing), member(&ClassParams{Name: "c", SubnetTags: map[string][]string{"Name": {"public-a", "public-b"}}}), testSettings(), defaultFacts())
	if diff := cmp.Diff([]string{"public-a", "public-b"}, st.LoadBalancer.SubnetRefs); diff != "" {
		t.Errorf("subnets by Name tag (-want +got):\n%s", diff)
	}

	st = mustBuildGroup(t, implicitGroup(ing), member(&ClassParams{Name: "c", SubnetTags: map[string][]string{"team": {"a"}}}), testSettings(), defaultFacts())
	if diff := cmp.Diff([]string{"subnet-ann"}, st.LoadBalancer.SubnetRefs); diff != "" {
		t.Errorf("subnets with an unresolvable selector (-want +got):\n%s", diff)
	}
	found := false
	for _, n := range st.Notices {
		found = found || (n.Reason == NoticeAttributesIgnored && strings.Contains(n.Message, "spec.subnets.tags"))
	}
	if !found {
		t.Errorf("no notice for a tag selector lbsg cannot resolve: %v", st.Notices)
	}

	_, problems := BuildIngressGroup(implicitGroup(ing), member(&ClassParams{Name: "c", LoadBalancerAttributes: map[string]string{"deletion_protection.enabled": "on"}}),
		testSettings(), defaultFacts())
	if len(problems) != 1 || problems[0].Key != "IngressClassParams c spec.loadBalancerAttributes" || !strings.Contains(problems[0].Reason, "true or false") {
		t.Errorf("problems %v", problems)
	}
}
