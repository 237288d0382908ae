package e2e

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	elbv2api "github.com/lbsg/lbsg/api/v1beta1"
	"github.com/lbsg/lbsg/internal/localenv"
)

const svcAnn = "service.beta.kubernetes.io/aws-load-balancer-"

// targetGroupOfLB returns the one target group the load balancer's listeners forward to.
func (h *harness) targetGroupOfLB(lbARN string) elbtypes.TargetGroup {
	h.t.Helper()
	out, err := h.elb.DescribeTargetGroups(h.ctx, &elbv2.DescribeTargetGroupsInput{LoadBalancerArn: aws.String(lbARN)})
	if err != nil {
		h.t.Fatalf("describe target groups of %s: %v", lbARN, err)
	}
	if len(out.TargetGroups) != 1 {
		h.t.Fatalf("load balancer %s has %d target groups, want 1", lbARN, len(out.TargetGroups))
	}
	return out.TargetGroups[0]
}

func (h *harness) lbAttributes(arn string) map[string]string {
	h.t.Helper()
	out, err := h.elb.DescribeLoadBalancerAttributes(h.ctx, &elbv2.DescribeLoadBalancerAttributesInput{LoadBalancerArn: aws.String(arn)})
	if err != nil {
		h.t.Fatalf("describe load balancer attributes: %v", err)
	}
	m := map[string]string{}
	for _, a := range out.Attributes {
		m[aws.ToString(a.Key)] = aws.ToString(a.Value)
	}
	return m
}

func (h *harness) tgAttributes(arn string) map[string]string {
	h.t.Helper()
	out, err := h.elb.DescribeTargetGroupAttributes(h.ctx, &elbv2.DescribeTargetGroupAttributesInput{TargetGroupArn: aws.String(arn)})
	if err != nil {
		h.t.Fatalf("describe target group attributes: %v", err)
	}
	m := map[string]string{}
	for _, a := range out.Attributes {
		m[aws.ToString(a.Key)] = aws.ToString(a.Value)
	}
	return m
}

func (h *harness) listenerAttributes(arn string) map[string]string {
	h.t.Helper()
	out, err := h.elb.DescribeListenerAttributes(h.ctx, &elbv2.DescribeListenerAttributesInput{ListenerArn: aws.String(arn)})
	if err != nil {
		h.t.Fatalf("describe listener attributes: %v", err)
	}
	m := map[string]string{}
	for _, a := range out.Attributes {
		m[aws.ToString(a.Key)] = aws.ToString(a.Value)
	}
	return m
}

// wantAttrs says which of want differ in have, or "".
func wantAttrs(what string, want, have map[string]string) string {
	var bad []string
	for k, v := range want {
		if have[k] != v {
			bad = append(bad, fmt.Sprintf("%s=%q (want %q)", k, have[k], v))
		}
	}
	if len(bad) > 0 {
		return what + ": " + strings.Join(bad, ", ")
	}
	return ""
}

func healthString(tg elbtypes.TargetGroup) string {
	codes := ""
	if tg.Matcher != nil {
		codes = aws.ToString(tg.Matcher.HttpCode) + aws.ToString(tg.Matcher.GrpcCode)
	}
	return fmt.Sprintf("%s:%s%s interval=%d timeout=%d healthy=%d unhealthy=%d codes=%s", tg.HealthCheckProtocol, aws.ToString(tg.HealthCheckPort),
		aws.ToString(tg.HealthCheckPath), aws.ToInt32(tg.HealthCheckIntervalSeconds), aws.ToInt32(tg.HealthCheckTimeoutSeconds),
		aws.ToInt32(tg.HealthyThresholdCount), aws.ToInt32(tg.UnhealthyThresholdCount), codes)
}

// An NLB Service with upstream's health-check, proxy-protocol and attribute annotations gets
// them in AWS; a changed attribute is applied, and one set behind lbsg's back that the user
// did not name is left alone.
func TestNLBHealthCheckSettingsAndAttributesReachAWS(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	h.create(webserver("hc", map[string]string{
		svcAnn + "healthcheck-protocol":              "HTTP",
		svcAnn + "healthcheck-path":                  "/healthz",
		svcAnn + "healthcheck-interval":              "10",
		svcAnn + "healthcheck-timeout":               "6",
		svcAnn + "healthcheck-healthy-threshold":     "3",
		svcAnn + "healthcheck-unhealthy-threshold":   "4",
		svcAnn + "healthcheck-success-codes":         "200-399",
		svcAnn + "proxy-protocol":                    "*",
		svcAnn + "target-group-attributes":           "deregistration_delay.timeout_seconds=30",
		svcAnn + "attributes":                        "deletion_protection.enabled=true",
		svcAnn + "cross-zone-load-balancing-enabled": "true",
		svcAnn + "listener-attributes.TCP-80":        "tcp.idle_timeout.seconds=400",
	}))
	host := h.waitHostname("hc")
	var lb *elbtypes.LoadBalancer
	for _, l := range h.loadBalancers() {
		if aws.ToString(l.DNSName) == host {
			lb = &l
		}
	}
	if lb == nil {
		t.Fatalf("no load balancer %s", host)
	}
	lbARN := aws.ToString(lb.LoadBalancerArn)
	h.eventually("health check and attributes in AWS", 60*time.Second, func() string {
		tg := h.targetGroupOfLB(lbARN)
		if got, want := healthString(tg), "HTTP:traffic-port/healthz interval=10 timeout=6 healthy=3 unhealthy=4 codes=200-399"; got != want {
			return "health check " + got + ", want " + want
		}
		if bad := wantAttrs("target group", map[string]string{"proxy_protocol_v2.enabled": "true", "deregistration_delay.timeout_seconds": "30"},
			h.tgAttributes(aws.ToString(tg.TargetGroupArn))); bad != "" {
			return bad
		}
		if bad := wantAttrs("load balancer", map[string]string{"deletion_protection.enabled": "true", "load_balancing.cross_zone.enabled": "true"},
			h.lbAttributes(lbARN)); bad != "" {
			return bad
		}
		ls := h.listenersOf(lbARN)
		if len(ls) != 1 {
			return fmt.Sprintf("%d listeners", len(ls))
		}
		return wantAttrs("listener", map[string]string{"tcp.idle_timeout.seconds": "400"}, h.listenerAttributes(aws.ToString(ls[0].ListenerArn)))
	})

	// Someone sets an attribute lbsg was not asked about; the user changes one they own.
	if _, err := h.elb.ModifyLoadBalancerAttributes(h.ctx, &elbv2.ModifyLoadBalancerAttributesInput{LoadBalancerArn: aws.String(lbARN),
		Attributes: []elbtypes.LoadBalancerAttribute{{Key: aws.String("access_logs.s3.prefix"), Value: aws.String("by-hand")}}}); err != nil {
		t.Fatal(err)
	}
	h.patchAnnotations("hc", map[string]string{svcAnn + "attributes": "deletion_protection.enabled=false",
		svcAnn + "healthcheck-healthy-threshold": "5"})
	h.eventually("the changed attribute and threshold", 60*time.Second, func() string {
		if got := aws.ToInt32(h.targetGroupOfLB(lbARN).HealthyThresholdCount); got != 5 {
			return fmt.Sprintf("healthy threshold %d", got)
		}
		return wantAttrs("load balancer", map[string]string{"deletion_protection.enabled": "false", "load_balancing.cross_zone.enabled": "true",
			"access_logs.s3.prefix": "by-hand"}, h.lbAttributes(lbARN))
	})
	h.quiesce()
	if got := h.lbAttributes(lbARN)["access_logs.s3.prefix"]; got != "by-hand" {
		t.Errorf("an attribute the user did not set was rewritten: access_logs.s3.prefix=%q", got)
	}

	// Once in step, a reconcile writes nothing: every setting is compared with what AWS has.
	before := h.counts()
	h.patchAnnotations("hc", map[string]string{"example.com/touch": "1"})
	time.Sleep(2 * time.Second)
	h.quiesce()
	if writes := h.counts().Sub(before).Mutating(); len(writes) > 0 {
		t.Errorf("a reconcile of a Service in step wrote %v", writes)
	}
}

// A bad health-check or attribute value gets a Warning Event naming the key, and the
// condition says so; the Service's NLB is not built from it.
func TestNLBBadHealthCheckOrAttributeValueGivesEvent(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	h.create(webserver("badhc", map[string]string{
		svcAnn + "healthcheck-healthy-threshold": "11",
		svcAnn + "attributes":                    "deletion_protection.enabled=yes",
	}))
	h.waitEvent("badhc", "FailedBuildModel", svcAnn+"healthcheck-healthy-threshold")
	h.waitEvent("badhc", "FailedBuildModel", "deletion_protection.enabled must be true or false")
	if msg := conditionMessage(h.service("badhc")); !strings.Contains(msg, "from 2 to 10") {
		t.Errorf("condition %q does not name the fix", msg)
	}
}

// An Ingress with upstream's health-check and attribute annotations, some of them on the
// backend Service, gets them on its ALB and target group.
func TestALBHealthCheckSettingsAndAttributesReachAWS(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	h.ensureIngressClass(albClass, "")
	const ingAnn = "alb.ingress.kubernetes.io/"
	h.create(backendService("hcecho", 30090, map[string]string{
		ingAnn + "healthcheck-path":        "/ready",
		ingAnn + "success-codes":           "200,204",
		ingAnn + "target-group-attributes": "deregistration_delay.timeout_seconds=20",
	}))
	h.create(ingress("hcecho", "hcecho", map[string]string{
		ingAnn + "scheme":                       "internet-facing",
		ingAnn + "healthcheck-interval-seconds": "20",
		ingAnn + "healthcheck-timeout-seconds":  "8",
		ingAnn + "healthy-threshold-count":      "3",
		ingAnn + "unhealthy-threshold-count":    "5",
		ingAnn + "success-codes":                "200", // the Service's value wins
		ingAnn + "load-balancer-attributes":     "idle_timeout.timeout_seconds=120,routing.http2.enabled=false",
		ingAnn + "listener-attributes.HTTP-80":  "routing.http.response.server.enabled=false",
	}))
	host := h.waitIngressHostname("hcecho")
	lbARN := aws.ToString(h.albByHostname(host).LoadBalancerArn)
	h.eventually("health check and attributes in AWS", 60*time.Second, func() string {
		tg := h.targetGroupOfLB(lbARN)
		if got, want := healthString(tg), "HTTP:traffic-port/ready interval=20 timeout=8 healthy=3 unhealthy=5 codes=200,204"; got != want {
			return "health check " + got + ", want " + want
		}
		if bad := wantAttrs("target group", map[string]string{"deregistration_delay.timeout_seconds": "20"},
			h.tgAttributes(aws.ToString(tg.TargetGroupArn))); bad != "" {
			return bad
		}
		if bad := wantAttrs("load balancer", map[string]string{"idle_timeout.timeout_seconds": "120", "routing.http2.enabled": "false"},
			h.lbAttributes(lbARN)); bad != "" {
			return bad
		}
		ls := h.listenersOf(lbARN)
		if len(ls) != 1 {
			return fmt.Sprintf("%d listeners", len(ls))
		}
		return wantAttrs("listener", map[string]string{"routing.http.response.server.enabled": "false"}, h.listenerAttributes(aws.ToString(ls[0].ListenerArn)))
	})

	h.patchIngressAnnotations("hcecho", map[string]string{ingAnn + "load-balancer-attributes": "idle_timeout.timeout_seconds=90,routing.http2.enabled=false"})
	h.eventually("the changed attribute", 60*time.Second, func() string {
		return wantAttrs("load balancer", map[string]string{"idle_timeout.timeout_seconds": "90"}, h.lbAttributes(lbARN))
	})

	h.quiesce()
	before := h.counts()
	h.patchIngressAnnotations("hcecho", map[string]string{"example.com/touch": "1"})
	time.Sleep(2 * time.Second)
	h.quiesce()
	if writes := h.counts().Sub(before).Mutating(); len(writes) > 0 {
		t.Errorf("a reconcile of an Ingress in step wrote %v", writes)
	}

	h.patchIngressAnnotations("hcecho", map[string]string{ingAnn + "healthy-threshold-count": "1"})
	h.waitIngressEvent("hcecho", "FailedBuildModel", ingAnn+"healthy-threshold-count")
}

// IngressClassParams spec.loadBalancerAttributes win over the annotation, key by key, and
// spec.subnets.ids names the ALB's subnets.
func TestIngressClassParamsLoadBalancerAttributesAndSubnets(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	// An untagged subnet that discovery would never pick, in the first subnet's zone.
	extra, err := h.ec2.CreateSubnet(h.ctx, &ec2.CreateSubnetInput{VpcId: aws.String(h.world.VPCID), CidrBlock: aws.String("10.0.200.0/24"),
		AvailabilityZone: aws.String(h.world.Subnets[0].AZ)})
	if err != nil {
		t.Fatal(err)
	}
	subnets := []string{aws.ToString(extra.Subnet.SubnetId), h.world.Subnets[1].ID}
	h.create(&elbv2api.IngressClassParams{ObjectMeta: metav1.ObjectMeta{Name: "attrs"},
		Spec: elbv2api.IngressClassParamsSpec{Scheme: aws.String(elbv2api.SchemeInternetFacing),
			Subnets:                &elbv2api.SubnetSelector{IDs: subnets},
			LoadBalancerAttributes: []elbv2api.Attribute{{Key: "idle_timeout.timeout_seconds", Value: "200"}}}})
	h.ensureIngressClass("alb-attrs", "attrs")
	h.create(backendService("attrsecho", 30091, nil))
	ing := ingress("attrsecho", "attrsecho", map[string]string{
		"alb.ingress.kubernetes.io/load-balancer-attributes": "idle_timeout.timeout_seconds=120,routing.http2.enabled=false"})
	ing.Spec.IngressClassName = aws.String("alb-attrs")
	h.create(ing)
	lb := h.albByHostname(h.waitIngressHostname("attrsecho"))
	var got []string
	for _, az := range lb.AvailabilityZones {
		got = append(got, aws.ToString(az.SubnetId))
	}
	sort.Strings(got)
	sort.Strings(subnets)
	if !reflect.DeepEqual(got, subnets) {
		t.Errorf("ALB subnets %v, want %v", got, subnets)
	}
	h.eventually("the class's attributes", 60*time.Second, func() string {
		return wantAttrs("load balancer", map[string]string{"idle_timeout.timeout_seconds": "200", "routing.http2.enabled": "false"},
			h.lbAttributes(aws.ToString(lb.LoadBalancerArn)))
	})
}

// backend-protocol-version on the backend Service makes a gRPC target group, probed on
// ELBv2's gRPC health-check path with gRPC success codes.
func TestALBBackendProtocolVersionGRPCReachesAWS(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	h.ensureIngressClass(albClass, "")
	h.create(backendService("grpcecho", 30092, map[string]string{
		"alb.ingress.kubernetes.io/backend-protocol-version": "GRPC",
		"alb.ingress.kubernetes.io/success-codes":            "0-12",
	}))
	h.create(ingress("grpcecho", "grpcecho", map[string]string{"alb.ingress.kubernetes.io/scheme": "internet-facing"}))
	lbARN := aws.ToString(h.albByHostname(h.waitIngressHostname("grpcecho")).LoadBalancerArn)
	h.eventually("a gRPC target group", 60*time.Second, func() string {
		tg := h.targetGroupOfLB(lbARN)
		if v := aws.ToString(tg.ProtocolVersion); v != "GRPC" {
			return "protocol version " + v
		}
		if tg.Matcher == nil || aws.ToString(tg.Matcher.GrpcCode) != "0-12" || aws.ToString(tg.HealthCheckPath) != "/AWS.ALB/healthcheck" {
			return "health check " + healthString(tg)
		}
		return ""
	})
	before := h.counts()
	h.patchIngressAnnotations("grpcecho", map[string]string{"example.com/touch": "1"})
	time.Sleep(2 * time.Second)
	h.quiesce()
	if writes := h.counts().Sub(before).Mutating(); len(writes) > 0 {
		t.Errorf("a reconcile of an Ingress in step wrote %v", writes)
	}
}

// An attribute key of the right shape that AWS does not know is refused by AWS: the refusal
// reaches the Service as a Warning Event naming the attribute, and once the key is fixed the
// NLB is finished.
func TestNLBAttributeAWSRefusesIsReported(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	h.create(webserver("unknownattr", map[string]string{svcAnn + "attributes": "no_such.attribute=1"}))
	h.waitEvent("unknownattr", "FailedDeployModel", "no_such.attribute")
	h.patchAnnotations("unknownattr", map[string]string{svcAnn + "attributes": "deletion_protection.enabled=false"})
	h.waitHostname("unknownattr")
}
