package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbsg/lbsg/internal/app"
	"github.com/lbsg/lbsg/internal/cloud"
	"github.com/lbsg/lbsg/internal/config"
	"github.com/lbsg/lbsg/internal/explain"
	"github.com/lbsg/lbsg/internal/localenv"
	"github.com/lbsg/lbsg/internal/sgrules"
)

// TestExplainMatchesAWS converges a Service with a managed SG, a Service with a user SG, an
// NLB without SGs and an Ingress group of two Ingresses with the real controller on a local kube-apiserver
// and moto, adds foreign rules with the EC2 API, and checks that `lbsg explain` shows every
// rule AWS holds on every SG of each path, marks the foreign and over-exposed ones, and
// writes nothing to AWS.
func TestExplainMatchesAWS(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel) // after the processes localWorld started have stopped
	const cluster = "explain-cluster"
	moto, plane, world := localWorld(ctx, t, cluster)
	awsCfg, err := moto.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ec2c := ec2.NewFromConfig(awsCfg)
	flags := []string{"--cluster-name=" + cluster, "--aws-region=" + localenv.Region, "--aws-vpc-id=" + world.VPCID,
		"--aws-max-retries=0", "--aws-api-endpoints=EC2=" + moto.Endpoint + ",Elastic Load Balancing v2=" + moto.Endpoint}

	userSG := createSG(ctx, t, ec2c, world.VPCID, "explain-user", []ec2types.IpPermission{
		cidrPermission(80, "0.0.0.0/0"), cidrPermission(22, "10.0.0.0/8")})
	for _, o := range explainObjects(userSG) {
		if err := plane.Client.Create(ctx, o); err != nil {
			t.Fatalf("create %T %s: %v", o, o.GetName(), err)
		}
	}
	stop := runController(ctx, t, plane, flags)
	waitConverged(ctx, t, plane.Client, ec2c, world.NodeSGID)
	stop()

	// Foreign rules, written behind lbsg's back while it does not run: a wider client rule
	// on the managed SG and the NodePort opened to the world on the node SG.
	web := explainWith(ctx, t, flags, "Service", "default", "web")
	managedSG := sgWithRole(t, web.Graph, explain.RoleManaged)
	authorize(ctx, t, ec2c, managedSG, cidrPermission(80, "0.0.0.0/0"))
	authorize(ctx, t, ec2c, world.NodeSGID, cidrPermission(30081, "0.0.0.0/0"))

	t.Run("Service with a managed SG", func(t *testing.T) {
		r := explainWith(ctx, t, flags, "Service", "default", "web")
		g := r.Graph
		r.checkReadOnly(t)
		if testing.Verbose() {
			t.Logf("AWS calls of one explain:\n%s", r.calls)
		}
		compareWithAWS(ctx, t, ec2c, g)
		backend := sgWithRole(t, g, explain.RoleBackend)
		if g.LoadBalancer == nil || g.LoadBalancer.Frontend != "managed" {
			t.Fatalf("load balancer %+v", g.LoadBalancer)
		}
		checkRule(t, g, managedSG, "tcp 80 from 203.0.113.0/24", explain.RelationClient, false, "")
		checkRule(t, g, managedSG, "tcp 80 from 0.0.0.0/0", explain.RelationClient, true, "source 0.0.0.0/0 is wider than asked (203.0.113.0/24)")
		// The default rule budget of 1 opens one range for the four NodePorts of the
		// cluster: for this Service, three of them are beyond what it asked.
		checkRule(t, g, world.NodeSGID, "tcp 30081-30084 from "+backend, explain.RelationPath, false, "opens tcp 30082-30084, beyond this object's traffic and health-check ports")
		checkRule(t, g, world.NodeSGID, "tcp 30081 from 0.0.0.0/0", explain.RelationBypass, true, "directly, not through the load balancer")
		if g.Summary.Unreachable != 0 || len(g.TargetGroups) != 1 || len(g.TargetGroups[0].Targets) != len(world.Nodes) {
			t.Errorf("target groups %+v, summary %+v", g.TargetGroups, g.Summary)
		}
		if !slices.ContainsFunc(g.Paths, func(p explain.Path) bool {
			// Over-exposed only by the shared NodePort range on the node SG.
			return p.Client == "203.0.113.0/24" && p.FrontendSG == managedSG && p.ClientRule == "tcp 80 from 203.0.113.0/24" &&
				p.TargetSG == world.NodeSGID && p.TargetRule == "tcp 30081-30084 from "+backend && p.OverExposed && !p.Foreign
		}) {
			t.Errorf("no path from the asked range through lbsg's rules: %+v", g.Paths)
		}
	})

	t.Run("Service with a user SG", func(t *testing.T) {
		r := explainWith(ctx, t, flags, "Service", "default", "custom")
		g := r.Graph
		r.checkReadOnly(t)
		compareWithAWS(ctx, t, ec2c, g)
		if g.LoadBalancer == nil || g.LoadBalancer.Frontend != "custom" {
			t.Fatalf("load balancer %+v", g.LoadBalancer)
		}
		if got := sgWithRole(t, g, explain.RoleUser); got != userSG {
			t.Errorf("user SG %s, want %s", got, userSG)
		}
		checkRule(t, g, userSG, "tcp 80 from 0.0.0.0/0", explain.RelationClient, true, "")
		checkRule(t, g, userSG, "tcp 22 from 10.0.0.0/8", explain.RelationClient, true, "opens tcp 22, beyond the listener ports asked for")
	})

	t.Run("Ingress in a group of two", func(t *testing.T) {
		r := explainWith(ctx, t, flags, "Ingress", "default", "echo")
		g := r.Graph
		r.checkReadOnly(t)
		compareWithAWS(ctx, t, ec2c, g)
		if g.Stack != "IngressGroup shop" || !slices.Equal(g.Members, []string{"default/api", "default/echo"}) {
			t.Errorf("stack %q members %v", g.Stack, g.Members)
		}
		if len(g.Listeners) != 1 || len(g.Listeners[0].TargetGroups) != 2 {
			t.Errorf("listeners %+v, want one forwarding to both members' target groups", g.Listeners)
		}
		var ofEcho []string
		for _, tg := range g.TargetGroups {
			if tg.OfObject {
				ofEcho = append(ofEcho, tg.Service)
			}
		}
		if !slices.Equal(ofEcho, []string{"default/echo"}) {
			t.Errorf("target groups of the Ingress echo: %v, want only the one of Service default/echo", ofEcho)
		}
		ingSG := sgWithRole(t, g, explain.RoleManaged)
		backend := sgWithRole(t, g, explain.RoleBackend)
		checkRule(t, g, ingSG, "tcp 80 from 0.0.0.0/0", explain.RelationClient, false, "")
		checkRule(t, g, world.NodeSGID, "tcp 30081-30084 from "+backend, explain.RelationPath, false, "opens tcp 30081-30082")
		var tgs []string
		for _, p := range g.Paths {
			if !p.Bypass {
				tgs = append(tgs, p.TargetGroup)
			}
		}
		if len(slices.Compact(slices.Sorted(slices.Values(tgs)))) != 2 {
			t.Errorf("paths %+v, want paths to both members' target groups", g.Paths)
		}
	})

	t.Run("NLB without SGs", func(t *testing.T) {
		r := explainWith(ctx, t, flags, "Service", "default", "legacy")
		g := r.Graph
		r.checkReadOnly(t)
		compareWithAWS(ctx, t, ec2c, g)
		if g.LoadBalancer == nil || g.LoadBalancer.Frontend != "none" || len(g.SecurityGroups) != 1 {
			t.Fatalf("load balancer %+v, security groups %+v: want only the node SG", g.LoadBalancer, g.SecurityGroups)
		}
		checkRule(t, g, world.NodeSGID, "tcp 30085 from 198.51.100.0/24", explain.RelationPath, false, "")
		for _, sn := range world.Subnets {
			checkRule(t, g, world.NodeSGID, "tcp 30085 from "+sn.CIDR, explain.RelationPath, false, "")
		}
		checkRule(t, g, world.NodeSGID, "tcp 30081 from 0.0.0.0/0", explain.RelationOther, true, "")
		if !slices.ContainsFunc(g.Paths, func(p explain.Path) bool {
			return p.Client == "198.51.100.0/24" && p.FrontendSG == "" && p.Listener == "TCP:80" && !p.OverExposed && !p.Foreign
		}) {
			t.Errorf("no path from the asked range straight to the node SG: %+v", g.Paths)
		}
	})

	t.Run("command line", func(t *testing.T) {
		out, code, err := runLbsg(ctx, append([]string{"explain", "service", "default/web"}, flags...)...)
		if code != 0 {
			t.Fatalf("exit %d (%v):\n%s", code, err, out)
		}
		for _, want := range []string{"Service default/web", "203.0.113.0/24 -> " + managedSG + " [tcp 80 from 203.0.113.0/24] -> TCP:80 -> ",
			"(bypasses the load balancer)  (OVER-EXPOSED, FOREIGN)", "summary: "} {
			if !strings.Contains(out, want) {
				t.Errorf("text lacks %q:\n%s", want, out)
			}
		}
		if testing.Verbose() {
			_, _ = os.Stdout.WriteString(out)
		}
		out, code, err = runLbsg(ctx, append([]string{"explain", "ingress", "default/api", "-o", "dot"}, flags...)...)
		if code != 0 || !strings.HasPrefix(out, "digraph explain {") || !strings.Contains(out, `label="IngressGroup shop"`) {
			t.Errorf("dot: exit %d (%v):\n%s", code, err, out)
		}
		out, code, err = runLbsg(ctx, append([]string{"explain", "svc", "default/custom", "-o", "json"}, flags...)...)
		var g explain.Graph
		if code != 0 || json.Unmarshal([]byte(out), &g) != nil || g.Schema != explain.Schema || g.Object.Name != "custom" {
			t.Errorf("json: exit %d (%v):\n%s", code, err, out)
		}
		for args, want := range map[string]string{
			"service default/missing": "Service default/missing not found",
			"service default/plain":   "is not served by lbsg",
			"pod default/web":         `cannot explain "pod"`,
			"service a/b/c":           "use NAMESPACE/NAME",
		} {
			out, code, err := runLbsg(ctx, append(append([]string{"explain"}, strings.Fields(args)...), flags...)...)
			if code != 1 || err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("explain %s: exit %d, error %v, want %q:\n%s", args, code, err, want, out)
			}
		}
	})
}

type explained struct {
	Graph explain.Graph
	calls cloud.Counts
}

// checkReadOnly fails the test if explain wrote to AWS.
func (r explained) checkReadOnly(t *testing.T) {
	t.Helper()
	if m := r.calls.Mutating(); len(m) != 0 {
		t.Errorf("lbsg explain wrote to AWS: %v", m)
	}
}

// explainWith builds the graph of one object with a fresh engine, as the command does, and
// keeps the engine's AWS call counts.
func explainWith(ctx context.Context, t *testing.T, flags []string, kind, namespace, name string) explained {
	t.Helper()
	cfg := &config.Config{}
	fs := pflag.NewFlagSet("lbsg", pflag.ContinueOnError)
	cfg.AddFlags(fs)
	if err := fs.Parse(flags); err != nil {
		t.Fatal(err)
	}
	engine, clients, err := app.NewEngine(ctx, cfg, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := kubeClient()
	if err != nil {
		t.Fatal(err)
	}
	in, err := explainInput(ctx, c, engine, kind, namespace, name)
	if err != nil {
		t.Fatalf("explain %s %s/%s: %v", kind, namespace, name, err)
	}
	return explained{Graph: explain.Build(in), calls: clients.Calls.Snapshot()}
}

// compareWithAWS checks that every SG of the graph holds exactly the rules AWS reports.
func compareWithAWS(ctx context.Context, t *testing.T, e *ec2.Client, g explain.Graph) {
	t.Helper()
	if len(g.SecurityGroups) == 0 {
		t.Fatal("the graph has no security groups")
	}
	for _, sg := range g.SecurityGroups {
		var got []string
		for _, r := range sg.Rules {
			got = append(got, r.Text)
		}
		slices.Sort(got)
		if want := awsRules(ctx, t, e, sg.ID); !slices.Equal(got, want) {
			t.Errorf("%s (%v): graph rules\n  %v\nAWS rules\n  %v", sg.ID, sg.Roles, got, want)
		}
	}
}

// awsRules reads an SG's inbound rules straight from the EC2 API, one source per rule.
func awsRules(ctx context.Context, t *testing.T, e *ec2.Client, id string) []string {
	t.Helper()
	out, err := e.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}})
	if err != nil || len(out.SecurityGroups) != 1 {
		t.Fatalf("describe %s: %v", id, err)
	}
	var rules []string
	for _, p := range out.SecurityGroups[0].IpPermissions {
		k := sgrules.Key{Protocol: aws.ToString(p.IpProtocol), FromPort: aws.ToInt32(p.FromPort), ToPort: aws.ToInt32(p.ToPort)}.Canonical()
		add := func(kind sgrules.PeerKind, peer string) {
			k.PeerKind, k.Peer = kind, peer
			rules = append(rules, k.String())
		}
		for _, r := range p.IpRanges {
			add(sgrules.PeerCIDR, aws.ToString(r.CidrIp))
		}
		for _, r := range p.Ipv6Ranges {
			add(sgrules.PeerCIDRv6, aws.ToString(r.CidrIpv6))
		}
		for _, r := range p.PrefixListIds {
			add(sgrules.PeerPrefixList, aws.ToString(r.PrefixListId))
		}
		for _, r := range p.UserIdGroupPairs {
			add(sgrules.PeerSG, aws.ToString(r.GroupId))
		}
	}
	slices.Sort(rules)
	return rules
}

func checkRule(t *testing.T, g explain.Graph, sgID, text, relation string, foreign bool, over string) {
	t.Helper()
	for _, sg := range g.SecurityGroups {
		if sg.ID != sgID {
			continue
		}
		for _, r := range sg.Rules {
			if r.Text != text {
				continue
			}
			got := strings.Join(r.OverExposure, "; ")
			if r.Relation != relation || r.Foreign != foreign || (over == "") != (got == "") || !strings.Contains(got, over) {
				t.Errorf("%s %q: relation %s foreign %v over-exposure %q; want %s %v %q", sgID, text, r.Relation, r.Foreign, got, relation, foreign, over)
			}
			return
		}
		t.Errorf("%s has no rule %q: %+v", sgID, text, sg.Rules)
		return
	}
	t.Errorf("no SG %s in the graph", sgID)
}

func sgWithRole(t *testing.T, g explain.Graph, role string) string {
	t.Helper()
	for _, sg := range g.SecurityGroups {
		if slices.Contains(sg.Roles, role) {
			return sg.ID
		}
	}
	t.Fatalf("no %s SG in the graph: %+v", role, g.SecurityGroups)
	return ""
}

func cidrPermission(port int32, cidr string) ec2types.IpPermission {
	return ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port),
		IpRanges: []ec2types.IpRange{{CidrIp: aws.String(cidr)}}}
}

func createSG(ctx context.Context, t *testing.T, e *ec2.Client, vpc, name string, perms []ec2types.IpPermission) string {
	t.Helper()
	out, err := e.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(name), Description: aws.String(name), VpcId: aws.String(vpc)})
	if err != nil {
		t.Fatal(err)
	}
	authorize(ctx, t, e, aws.ToString(out.GroupId), perms...)
	return aws.ToString(out.GroupId)
}

func authorize(ctx context.Context, t *testing.T, e *ec2.Client, sg string, perms ...ec2types.IpPermission) {
	t.Helper()
	if _, err := e.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(sg), IpPermissions: perms}); err != nil {
		t.Fatalf("authorize on %s: %v", sg, err)
	}
}

// explainObjects: the Service web (managed SG, one source range), the Service custom (the
// user SG, with lbsg managing its target rules), an Ingress group shop of echo and api, and
// a ClusterIP Service lbsg does not serve.
func explainObjects(userSG string) []client.Object {
	const svcPrefix = "service.beta.kubernetes.io/"
	nlb := func(name string, nodePort int32, ann map[string]string) *corev1.Service {
		ann[svcPrefix+"aws-load-balancer-type"] = "external"
		ann[svcPrefix+"aws-load-balancer-scheme"] = "internet-facing"
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Annotations: ann},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Name: "http", Port: 80,
				Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(8080), NodePort: nodePort}}}}
	}
	legacy := nlb("legacy", 30085, map[string]string{svcPrefix + "aws-load-balancer-disable-nlb-sg": "true"})
	legacy.Spec.LoadBalancerSourceRanges = []string{"198.51.100.0/24"}
	web := nlb("web", 30081, map[string]string{})
	web.Spec.LoadBalancerSourceRanges = []string{"203.0.113.0/24"}
	custom := nlb("custom", 30082, map[string]string{svcPrefix + "aws-load-balancer-security-groups": userSG,
		svcPrefix + "aws-load-balancer-manage-backend-security-group-rules": "true"})
	nodePort := func(name string, port int32) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name},
			Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Name: "http", Port: 80,
				Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(8080), NodePort: port}}}}
	}
	prefix := networkingv1.PathTypePrefix
	ingress := func(name, path string) *networkingv1.Ingress {
		return &networkingv1.Ingress{
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Annotations: map[string]string{
				"alb.ingress.kubernetes.io/group.name": "shop", "alb.ingress.kubernetes.io/scheme": "internet-facing"}},
			Spec: networkingv1.IngressSpec{IngressClassName: aws.String("alb"), Rules: []networkingv1.IngressRule{{
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
					Path: path, PathType: &prefix, Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
						Name: name, Port: networkingv1.ServiceBackendPort{Number: 80}}}}}}}}}},
		}
	}
	plain := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "plain"},
		Spec: corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}}}
	return []client.Object{web, custom, legacy, nodePort("echo", 30083), nodePort("api", 30084), plain,
		&networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "alb"}, Spec: networkingv1.IngressClassSpec{Controller: "ingress.k8s.aws/alb"}},
		ingress("echo", "/"), ingress("api", "/api")}
}

// runController runs the controller in-process until the returned stop is called.
func runController(ctx context.Context, t *testing.T, plane *localenv.ControlPlane, flags []string) (stop func()) {
	t.Helper()
	cfg := &config.Config{}
	fs := pflag.NewFlagSet("lbsg", pflag.ContinueOnError)
	cfg.AddFlags(fs)
	if err := fs.Parse(append(slices.Clone(flags), "--enable-leader-election=false", "--metrics-bind-addr=0",
		"--health-probe-bind-addr=0", "--aws-max-retries=1", "--drift-check-interval=2s")); err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- app.Run(runCtx, cfg, app.RunOptions{RestConfig: plane.Config, Registry: prometheus.NewRegistry(),
			SkipNameValidation: true, Logger: logr.Discard()})
	}()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("controller: %v", err)
			}
		case <-time.After(40 * time.Second):
			t.Error("the controller did not stop within 40s")
		}
	}
	t.Cleanup(stop)
	return stop
}

// waitConverged waits until both Services and the Ingress group have their load balancer
// and the node SG admits all four NodePorts from one source SG.
func waitConverged(ctx context.Context, t *testing.T, c client.Client, e *ec2.Client, nodeSG string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	last := ""
	for time.Now().Before(deadline) {
		if last = converged(ctx, c, e, nodeSG); last == "" {
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatalf("the controller did not converge within 2m: %s", last)
}

func converged(ctx context.Context, c client.Client, e *ec2.Client, nodeSG string) string {
	for _, name := range []string{"web", "custom", "legacy"} {
		svc := &corev1.Service{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: name}, svc); err != nil || len(svc.Status.LoadBalancer.Ingress) == 0 {
			return fmt.Sprintf("Service %s has no load balancer yet (%v)", name, err)
		}
	}
	ing := &networkingv1.Ingress{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: "default", Name: "echo"}, ing); err != nil || len(ing.Status.LoadBalancer.Ingress) == 0 {
		return fmt.Sprintf("Ingress echo has no load balancer yet (%v)", err)
	}
	out, err := e.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{nodeSG}})
	if err != nil || len(out.SecurityGroups) != 1 {
		return fmt.Sprintf("describe the node SG: %v", err)
	}
	backendRange, legacyRule := false, false
	for _, p := range out.SecurityGroups[0].IpPermissions {
		if aws.ToInt32(p.FromPort) == 30081 && aws.ToInt32(p.ToPort) == 30084 && len(p.UserIdGroupPairs) > 0 {
			backendRange = true
		}
		if aws.ToInt32(p.FromPort) == 30085 && slices.ContainsFunc(p.IpRanges, func(r ec2types.IpRange) bool { return aws.ToString(r.CidrIp) == "198.51.100.0/24" }) {
			legacyRule = true
		}
	}
	if backendRange && legacyRule {
		return ""
	}
	return fmt.Sprintf("the node SG does not admit 30081-30084 from the backend SG and 30085 from 198.51.100.0/24 yet: %+v", out.SecurityGroups[0].IpPermissions)
}
