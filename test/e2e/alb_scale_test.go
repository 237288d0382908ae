package e2e

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elbv2 "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/lbsg/lbsg/internal/cloud"
	"github.com/lbsg/lbsg/internal/localenv"
	"github.com/lbsg/lbsg/internal/naming"
)

// callsPerObject renders call counts per action divided by n objects.
func callsPerObject(c cloud.Counts, n int) string {
	by := c.ByAction()
	keys := make([]string, 0, len(by))
	for k := range by {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%d", k, by[k])
	}
	return fmt.Sprintf("%d calls (%.1f per object; %d mutating):%s", c.Total(), float64(c.Total())/float64(n), mutatingTotal(c), b.String())
}

func mutatingTotal(c cloud.Counts) int {
	n := 0
	for _, v := range c.Mutating() {
		n += v
	}
	return n
}

// 10 ALBs and 10 NLBs in one cluster share one backend SG, and the node SG holds as many
// lbsg rules as with a single load balancer; deleting all 20 leaves nothing in AWS.
func TestALBAndNLBMixed(t *testing.T) {
	const n = 10
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	h.ensureIngressClass(albClass, "")
	start := h.counts()
	// Backend Services first: their fixed NodePorts must not collide with the ones the
	// API server picks for the NLB Services.
	for i := 0; i < n; i++ {
		h.create(backendService(fmt.Sprintf("app-%d", i), int32(30100+i), nil))
	}
	h.create(ingress("ing-0", "app-0", map[string]string{ingScheme: "internet-facing"}))
	h.waitIngressHostname("ing-0")
	h.quiesce()
	backend, ok := h.sgByName(wantBackendName(cluster))
	if !ok {
		t.Fatal("no backend SG after the first ALB")
	}
	one := lbsgRules(h.securityGroups()[h.world.NodeSGID])
	if want := []string{"tcp 30100 from " + backend.ID}; !reflect.DeepEqual(one, want) {
		t.Fatalf("node SG lbsg rules with one ALB = %v, want %v", one, want)
	}
	firstALB := h.counts().Sub(start)
	t.Logf("first ALB: %s", callsPerObject(firstALB, 1))

	mark := h.counts()
	for i := 1; i < n; i++ {
		h.create(ingress(fmt.Sprintf("ing-%d", i), fmt.Sprintf("app-%d", i), map[string]string{ingScheme: "internet-facing"}))
	}
	for i := 0; i < n; i++ {
		h.create(webserver(fmt.Sprintf("web-%d", i), nil))
	}
	ports := []int32{}
	hosts := map[string]bool{}
	for i := 0; i < n; i++ {
		hosts[h.waitIngressHostname(fmt.Sprintf("ing-%d", i))] = true
		ports = append(ports, int32(30100+i))
	}
	for i := 0; i < n; i++ {
		hosts[h.waitHostname(fmt.Sprintf("web-%d", i))] = true
		ports = append(ports, h.service(fmt.Sprintf("web-%d", i)).Spec.Ports[0].NodePort)
	}
	if len(hosts) != 2*n {
		t.Errorf("%d distinct load balancer hostnames, want %d", len(hosts), 2*n)
	}
	sort.Slice(ports, func(i, j int) bool { return ports[i] < ports[j] })
	for i := 1; i < len(ports); i++ {
		if ports[i] == ports[i-1] {
			t.Fatalf("NodePort %d used twice", ports[i])
		}
	}
	want := []string{fmt.Sprintf("tcp %d-%d from %s", ports[0], ports[len(ports)-1], backend.ID)}
	h.eventually("one merged node rule for 20 load balancers", 90*time.Second, func() string {
		if got := lbsgRules(h.securityGroups()[h.world.NodeSGID]); !reflect.DeepEqual(got, want) {
			return fmt.Sprintf("%v, want %v", got, want)
		}
		return ""
	})
	h.quiesce()
	created := h.counts().Sub(mark)
	t.Logf("19 more load balancers (9 ALBs, 10 NLBs): %s", callsPerObject(created, 2*n-1))

	if got := lbsgRules(h.securityGroups()[h.world.NodeSGID]); len(got) != len(one) {
		t.Errorf("node SG holds %d lbsg rules with 20 load balancers, %d with one: %v", len(got), len(one), got)
	}
	// Exactly one backend SG; every load balancer carries it with its own managed SG.
	lbsgSGs := map[string]sg{}
	backends := 0
	for id, g := range h.securityGroups() {
		if g.Tags["elbv2.k8s.aws/cluster"] == cluster {
			lbsgSGs[id] = g
		}
		if g.Tags["elbv2.k8s.aws/resource"] == "backend-sg" {
			backends++
		}
	}
	if backends != 1 {
		t.Errorf("%d backend SGs, want 1", backends)
	}
	if len(lbsgSGs) != 2*n+1 {
		t.Errorf("%d lbsg SGs, want %d (one managed SG per load balancer and the backend SG)", len(lbsgSGs), 2*n+1)
	}
	lbs := h.loadBalancers()
	byType := map[string]int{}
	for _, lb := range lbs {
		byType[string(lb.Type)]++
		name := aws.ToString(lb.LoadBalancerName)
		if len(lb.SecurityGroups) != 2 {
			t.Errorf("%s security groups = %v, want managed + backend", name, lb.SecurityGroups)
			continue
		}
		hasBackend, managed := false, 0
		for _, id := range lb.SecurityGroups {
			switch {
			case id == backend.ID:
				hasBackend = true
			case lbsgSGs[id].Tags["ingress.k8s.aws/resource"] == "ManagedLBSecurityGroup" ||
				lbsgSGs[id].Tags["service.k8s.aws/resource"] == "ManagedLBSecurityGroup":
				managed++
			}
		}
		if !hasBackend || managed != 1 {
			t.Errorf("%s security groups = %v, want its managed SG and the backend SG %s", name, lb.SecurityGroups, backend.ID)
		}
	}
	if byType["application"] != n || byType["network"] != n {
		t.Errorf("load balancers by type = %v, want %d application and %d network", byType, n, n)
	}
	if tgs := h.targetGroups(); len(tgs) != 2*n {
		t.Errorf("%d target groups, want %d", len(tgs), 2*n)
	}

	// Delete all 20 objects: nothing lbsg made remains.
	mark = h.counts()
	for i := 0; i < n; i++ {
		if err := h.k8s.Delete(h.ctx, h.getIngress(fmt.Sprintf("ing-%d", i))); err != nil {
			t.Fatal(err)
		}
		if err := h.k8s.Delete(h.ctx, h.service(fmt.Sprintf("web-%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	h.waitNothingLeftWithin(120 * time.Second)
	h.quiesce()
	deleted := h.counts().Sub(mark)
	t.Logf("deleting 20 load balancers: %s", callsPerObject(deleted, 2*n))
	t.Logf("whole test: %s", callsPerObject(h.counts().Sub(start), 2*n))
	if got := lbsgRules(h.securityGroups()[h.world.NodeSGID]); len(got) != 0 {
		t.Errorf("node SG lbsg rules after deleting everything: %v", got)
	}
}

// HTTP and HTTPS listeners from listen-ports, the certificate on the HTTPS one, rules from
// the Ingress paths; the default action is a 404 fixed response without spec.defaultBackend
// and a forward to the default backend's target group with it.
func TestALBHTTPS(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	h.ensureIngressClass(albClass, "")
	cert := h.certificate("secure.example.com")
	h.create(backendService("web", 30080, nil))
	h.create(backendService("fallback", 30081, nil)) // no Ingress path routes to it
	h.create(ingress("secure", "web", map[string]string{ingScheme: "internet-facing",
		ingListenPorts: `[{"HTTP":80},{"HTTPS":443}]`, ingCertARN: cert}))
	lb := h.albByHostname(h.waitIngressHostname("secure"))
	arn := aws.ToString(lb.LoadBalancerArn)

	tgByPort := func() map[int32]string {
		m := map[int32]string{}
		for _, tg := range h.targetGroups() {
			if aws.ToString(tg.VpcId) == h.world.VPCID {
				m[aws.ToInt32(tg.Port)] = aws.ToString(tg.TargetGroupArn)
			}
		}
		return m
	}
	tgs := h.targetGroups()
	if len(tgs) != 1 || aws.ToInt32(tgs[0].Port) != 30080 || string(tgs[0].TargetType) != "instance" || string(tgs[0].Protocol) != "HTTP" {
		t.Fatalf("target groups = %v", describeTGs(tgs))
	}
	webTG := aws.ToString(tgs[0].TargetGroupArn)
	check := func(defaultAction string) string {
		ls := h.listenersOf(arn)
		sort.Slice(ls, func(i, j int) bool { return aws.ToInt32(ls[i].Port) < aws.ToInt32(ls[j].Port) })
		if len(ls) != 2 || aws.ToInt32(ls[0].Port) != 80 || ls[0].Protocol != "HTTP" || aws.ToInt32(ls[1].Port) != 443 || ls[1].Protocol != "HTTPS" {
			return "listeners:\n" + h.albState(arn)
		}
		if len(ls[0].Certificates) != 0 {
			return fmt.Sprintf("HTTP listener has certificates %v", ls[0].Certificates)
		}
		if len(ls[1].Certificates) != 1 || aws.ToString(ls[1].Certificates[0].CertificateArn) != cert {
			return fmt.Sprintf("HTTPS listener certificates = %v, want %s", ls[1].Certificates, cert)
		}
		for _, l := range ls {
			if got := actionsString(l.DefaultActions); got != defaultAction {
				return fmt.Sprintf("default action of %s:%d = %q, want %q", l.Protocol, aws.ToInt32(l.Port), got, defaultAction)
			}
			want := []string{"1 [path-pattern=/*] -> forward " + webTG}
			if got := h.rulesOf(aws.ToString(l.ListenerArn)); !reflect.DeepEqual(got, want) {
				return fmt.Sprintf("rules of %s:%d = %v, want %v", l.Protocol, aws.ToInt32(l.Port), got, want)
			}
		}
		return ""
	}
	h.eventually("listeners with a 404 default", 30*time.Second, func() string { return check("fixed-response 404") })
	managed, ok := h.sgByName(naming.IngressSGName(cluster, "default", "secure"))
	if !ok {
		t.Fatal("no managed SG")
	}
	if got, want := ruleStrings(managed.Rules), []string{"tcp 443 from 0.0.0.0/0", "tcp 80 from 0.0.0.0/0"}; !reflect.DeepEqual(got, want) {
		t.Errorf("managed SG rules = %v, want %v", got, want)
	}
	backend, _ := h.sgByName(wantBackendName(cluster))
	h.eventually("node rule", 30*time.Second, func() string {
		if got, want := lbsgRules(h.securityGroups()[h.world.NodeSGID]), []string{"tcp 30080 from " + backend.ID}; !reflect.DeepEqual(got, want) {
			return fmt.Sprintf("%v, want %v", got, want)
		}
		return ""
	})

	// spec.defaultBackend: both listeners forward to the fallback's target group.
	for i := 0; i < 5; i++ {
		ing := h.getIngress("secure")
		ing.Spec.DefaultBackend = &networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
			Name: "fallback", Port: networkingv1.ServiceBackendPort{Number: 80}}}
		if err := h.k8s.Update(h.ctx, ing); err == nil {
			break
		} else if i == 4 {
			t.Fatal(err)
		}
	}
	h.eventually("listeners forward to the default backend", 30*time.Second, func() string {
		fb := tgByPort()[30081]
		if fb == "" {
			return fmt.Sprintf("no target group on port 30081: %v", describeTGs(h.targetGroups()))
		}
		return check("forward " + fb)
	})
	h.eventually("node rule covers the default backend", 30*time.Second, func() string {
		if got, want := lbsgRules(h.securityGroups()[h.world.NodeSGID]), []string{"tcp 30080-30081 from " + backend.ID}; !reflect.DeepEqual(got, want) {
			return fmt.Sprintf("%v, want %v", got, want)
		}
		return ""
	})
	// And back: removing it restores the 404 and deletes the fallback's target group.
	for i := 0; i < 5; i++ {
		ing := h.getIngress("secure")
		ing.Spec.DefaultBackend = nil
		if err := h.k8s.Update(h.ctx, ing); err == nil {
			break
		} else if i == 4 {
			t.Fatal(err)
		}
	}
	h.eventually("404 default again", 30*time.Second, func() string {
		if msg := check("fixed-response 404"); msg != "" {
			return msg
		}
		if tgs := h.targetGroups(); len(tgs) != 1 {
			return fmt.Sprintf("target groups %v, want only web's", describeTGs(tgs))
		}
		return ""
	})
	if err := h.k8s.Delete(h.ctx, h.getIngress("secure")); err != nil {
		t.Fatal(err)
	}
	h.waitNothingLeft()
}

func describeTGs(tgs []elbtypes.TargetGroup) []string {
	var out []string
	for _, tg := range tgs {
		out = append(out, fmt.Sprintf("%s %s %s:%d", aws.ToString(tg.TargetGroupName), tg.TargetType, tg.Protocol, aws.ToInt32(tg.Port)))
	}
	sort.Strings(out)
	return out
}

// Seed 001/002 for an ALB: a user SG by annotation with manage-backend-security-group-rules
// absent (only the user SG, no node rules), "true" (user SG + backend SG, node rules), and
// "true" with the backend SG disabled (an error, nothing changes).
func TestALBCustomSG(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	user := h.userSG("alb-frontend")
	h.startController()
	h.ensureIngressClass(albClass, "")
	h.create(backendService("web", 30080, nil))
	h.create(ingress("custom", "web", map[string]string{ingScheme: "internet-facing", ingSGs: user}))
	host := h.waitIngressHostname("custom")
	lb := h.albByHostname(host)
	arn := aws.ToString(lb.LoadBalancerArn)
	if !reflect.DeepEqual(lb.SecurityGroups, []string{user}) {
		t.Errorf("ALB security groups = %v, want only the user SG %s", lb.SecurityGroups, user)
	}
	h.quiesce()
	if r := lbsgRules(h.securityGroups()[h.world.NodeSGID]); len(r) != 0 {
		t.Errorf("node SG got lbsg rules %v with a user SG and manage-backend-rules absent", r)
	}
	if _, ok := h.sgByName(wantBackendName(cluster)); ok {
		t.Errorf("backend SG created although no load balancer needs it")
	}
	if _, ok := h.sgByName(naming.IngressSGName(cluster, "default", "custom")); ok {
		t.Errorf("managed SG created although the Ingress names its SG")
	}
	// The annotation by Name tag resolves to the same SG.
	h.patchIngressAnnotations("custom", map[string]string{ingSGs: "alb-frontend"})
	h.quiesce()
	if got := h.albByHostname(host).SecurityGroups; !reflect.DeepEqual(got, []string{user}) {
		t.Errorf("ALB security groups by Name tag = %v, want [%s]", got, user)
	}

	// manage=true: user SG + backend SG, node rule from the backend SG.
	h.patchIngressAnnotations("custom", map[string]string{ingManage: "true"})
	var backend sg
	h.eventually("user + backend SG", 30*time.Second, func() string {
		b, ok := h.sgByName(wantBackendName(cluster))
		if !ok {
			return "no backend SG"
		}
		backend = b
		got := append([]string(nil), h.albByHostname(host).SecurityGroups...)
		sort.Strings(got)
		if want := sorted(user, b.ID); !reflect.DeepEqual(got, want) {
			return fmt.Sprintf("ALB security groups = %v, want %v", got, want)
		}
		return ""
	})
	h.eventually("node rule from the backend SG", 30*time.Second, func() string {
		if got, want := lbsgRules(h.securityGroups()[h.world.NodeSGID]), []string{"tcp 30080 from " + backend.ID}; !reflect.DeepEqual(got, want) {
			return fmt.Sprintf("%v, want %v", got, want)
		}
		return ""
	})
	if got := ruleStrings(h.securityGroups()[user].Rules); !reflect.DeepEqual(got, []string{"tcp 443 from 0.0.0.0/0"}) {
		t.Errorf("user SG rules changed: %v", got)
	}
	h.quiesce()
	state, inventory := h.albState(arn), h.albAWSInventory()

	// --enable-backend-security-group=false with manage=true: an error, nothing changes.
	h.stopController()
	h.create(ingress("custom-new", "web", map[string]string{ingScheme: "internet-facing", ingSGs: user, ingManage: "true"}))
	h.startController("--enable-backend-security-group=false")
	const reason = "backendSG feature is required to manage worker node SG rules when frontendSG manually specified"
	for _, name := range []string{"custom", "custom-new"} {
		h.waitIngressEvent(name, "FailedBuildModel", reason)
		h.eventually("condition of "+name, 30*time.Second, func() string {
			msg := ingressCondition(h.getIngress(name))
			if !strings.HasPrefix(msg, "False InvalidConfiguration") || !containsAll(msg, []string{ingManage, reason, "fix:"}) {
				return msg
			}
			return ""
		})
	}
	h.quiesce()
	if w := h.counts().Mutating(); len(w) != 0 {
		t.Errorf("AWS writes with manage=true and the backend SG disabled: %v", w)
	}
	if got := h.albState(arn); got != state {
		t.Errorf("ALB changed:\n%s\nwas\n%s", got, state)
	}
	if got := h.albAWSInventory(); got != inventory {
		t.Errorf("AWS inventory changed:\n%s\nwas\n%s", got, inventory)
	}
	// manage=false is valid without the backend SG: the user SG alone.
	h.patchIngressAnnotations("custom-new", map[string]string{ingManage: "false"})
	newHost := h.waitIngressHostname("custom-new")
	if got := h.albByHostname(newHost).SecurityGroups; !reflect.DeepEqual(got, []string{user}) {
		t.Errorf("custom-new security groups = %v, want [%s]", got, user)
	}
	for _, name := range []string{"custom", "custom-new"} {
		if err := h.k8s.Delete(h.ctx, h.getIngress(name)); err != nil {
			t.Fatal(err)
		}
	}
	h.waitNothingLeft()
	if _, ok := h.securityGroups()[user]; !ok {
		t.Errorf("user SG %s deleted", user)
	}
}

// ip targets for an ALB: pod IPs from the EndpointSlice, registered on the target port;
// the node rule (the pods' ENI is a node ENI) is on that port.
func TestALBIPTargets(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	h.startController()
	h.ensureIngressClass(albClass, "")
	ips := h.podIPs(2)
	svc := backendService("pods", 30090, map[string]string{ingTargetType: "ip"})
	svc.Spec.Ports[0].TargetPort = intstr.FromInt32(8080)
	h.create(svc)
	h.endpoints("pods", "http", 8080, ips)
	h.create(ingress("pods", "pods", map[string]string{ingScheme: "internet-facing"}))
	h.waitIngressHostname("pods")
	tgs := h.targetGroups()
	if len(tgs) != 1 || string(tgs[0].TargetType) != "ip" || aws.ToInt32(tgs[0].Port) != 8080 {
		t.Fatalf("target groups = %v, want one ip target group on port 8080", describeTGs(tgs))
	}
	want := make([]string, 0, len(ips))
	for _, ip := range ips {
		want = append(want, ip+":8080")
	}
	sort.Strings(want)
	h.eventually("ip targets registered", 30*time.Second, func() string {
		th, err := h.elb.DescribeTargetHealth(h.ctx, &elbv2.DescribeTargetHealthInput{TargetGroupArn: tgs[0].TargetGroupArn})
		if err != nil {
			return err.Error()
		}
		var got []string
		for _, d := range th.TargetHealthDescriptions {
			got = append(got, fmt.Sprintf("%s:%d", aws.ToString(d.Target.Id), aws.ToInt32(d.Target.Port)))
		}
		sort.Strings(got)
		if !reflect.DeepEqual(got, want) {
			return fmt.Sprintf("%v, want %v", got, want)
		}
		return ""
	})
	h.eventually("node rule on the target port", 30*time.Second, func() string {
		b, ok := h.sgByName(wantBackendName(cluster))
		if !ok {
			return "no backend SG"
		}
		if got, w := lbsgRules(h.securityGroups()[h.world.NodeSGID]), []string{"tcp 8080 from " + b.ID}; !reflect.DeepEqual(got, w) {
			return fmt.Sprintf("%v, want %v", got, w)
		}
		return ""
	})
	if err := h.k8s.Delete(h.ctx, h.getIngress("pods")); err != nil {
		t.Fatal(err)
	}
	h.waitNothingLeft()
}
