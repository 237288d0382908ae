package explain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/lbsg/lbsg/internal/sgrules"
	"github.com/lbsg/lbsg/internal/spec"
	"github.com/lbsg/lbsg/internal/state"
)

const (
	cluster  = "c1"
	backend  = "sg-backend"
	managed  = "sg-managed"
	nodeSG   = "sg-node"
	podSG    = "sg-pod"
	userSG   = "sg-user"
	lbARN    = "arn:lb"
	tgARN    = "arn:tg-web"
	tg2ARN   = "arn:tg-api"
	ownDesc  = "elbv2.k8s.aws/cluster=" + cluster
	someCIDR = "203.0.113.0/24"
)

func cidr(proto string, from, to int32, c, desc string) sgrules.Rule {
	kind := sgrules.PeerCIDR
	if strings.Contains(c, ":") {
		kind = sgrules.PeerCIDRv6
	}
	return sgrules.Rule{Key: sgrules.Key{Protocol: proto, FromPort: from, ToPort: to, PeerKind: kind, Peer: c}, Description: desc}
}

func fromSG(proto string, from, to int32, sg, desc string) sgrules.Rule {
	return sgrules.Rule{Key: sgrules.Key{Protocol: proto, FromPort: from, ToPort: to, PeerKind: sgrules.PeerSG, Peer: sg}, Description: desc}
}

// nlbInput is a Service's NLB with a managed SG and the backend SG, instance targets on two
// nodes behind sg-node, NodePort 30081, asking for tcp 80 from 203.0.113.0/24.
func nlbInput() Input {
	asked := []sgrules.Rule{cidr("tcp", 80, 80, someCIDR, "")}
	return Input{
		Cluster: cluster,
		Object:  Object{Kind: "Service", Namespace: "default", Name: "web"},
		Stack:   "Service default/web",
		Desired: &spec.Stack{
			LoadBalancer: spec.LoadBalancer{Type: "network", Frontend: spec.FrontendManaged, UseBackendSG: true},
			ManagedSG:    &spec.SecurityGroup{Ingress: asked},
			TargetGroups: []spec.TargetGroup{{Protocol: "TCP", TrafficPort: 30081, TargetType: "instance", HealthCheck: spec.HealthCheck{Port: "traffic-port"}}},
			Networking: spec.TargetNetworking{Manage: true, Source: spec.SourceBackend,
				Needs: []sgrules.Need{{Protocol: "tcp", Port: 30081}}},
		},
		AskedClients: asked,
		LoadBalancer: &state.LoadBalancer{ARN: lbARN, Name: "k8s-default-web", Type: "network", Scheme: "internet-facing",
			SecurityGroups: []string{managed, backend}},
		Listeners:    []state.Listener{{ARN: "arn:l80", Port: 80, Protocol: "TCP", TargetGroupARN: tgARN}},
		TargetGroups: []state.TargetGroup{{ARN: tgARN, Name: "k8s-default-web-tg", Protocol: "TCP", TargetType: "instance", HealthCheck: state.HealthCheck{Port: "traffic-port"}}},
		Targets:      map[string][]state.Target{tgARN: {{ID: "i-2", Port: 30081}, {ID: "i-1", Port: 30081}}},
		SecurityGroups: map[string]state.SecurityGroup{
			managed: {ID: managed, Name: "k8s-default-web", Ingress: []sgrules.Rule{cidr("tcp", 80, 80, someCIDR, "")}},
			backend: {ID: backend, Name: "k8s-traffic-c1"},
			nodeSG:  {ID: nodeSG, Name: "c1-node", Ingress: []sgrules.Rule{fromSG("tcp", 30081, 30081, backend, ownDesc)}},
		},
		BackendSG:  backend,
		ManagedSG:  managed,
		ClusterSGs: map[string]bool{backend: true, managed: true},
		TargetENIs: map[string]TargetENI{"i-1": {ENI: "eni-1", SecurityGroup: nodeSG}, "i-2": {ENI: "eni-2", SecurityGroup: nodeSG}},
	}
}

// ruleMark is what a test expects of one rule of one SG.
type ruleMark struct {
	relation string
	foreign  bool
	over     string // a substring of one over-exposure reason; "" means none
}

func findRule(t *testing.T, g Graph, sg, text string) Rule {
	t.Helper()
	for _, s := range g.SecurityGroups {
		if s.ID != sg {
			continue
		}
		for _, r := range s.Rules {
			if r.Text == text {
				return r
			}
		}
		t.Fatalf("%s has no rule %q; it has %+v", sg, text, s.Rules)
	}
	t.Fatalf("no security group %s in the graph", sg)
	return Rule{}
}

func checkMarks(t *testing.T, g Graph, want map[[2]string]ruleMark) {
	t.Helper()
	for key, m := range want {
		r := findRule(t, g, key[0], key[1])
		if r.Relation != m.relation || r.Foreign != m.foreign {
			t.Errorf("%s %q: relation %s foreign %v, want %s %v", key[0], key[1], r.Relation, r.Foreign, m.relation, m.foreign)
		}
		got := strings.Join(r.OverExposure, "; ")
		if (m.over == "") != (got == "") || !strings.Contains(got, m.over) {
			t.Errorf("%s %q: over-exposure %q, want %q", key[0], key[1], got, m.over)
		}
	}
}

func TestExplainMarksRules(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Input)
		want   map[[2]string]ruleMark
	}{
		{
			name:   "managed SG with exactly the asked rule",
			change: func(*Input) {},
			want: map[[2]string]ruleMark{
				{managed, "tcp 80 from " + someCIDR}:  {RelationClient, false, ""},
				{nodeSG, "tcp 30081 from " + backend}: {RelationPath, false, ""},
			},
		},
		{
			name: "a frontend rule from 0.0.0.0/0 when a /24 was asked is foreign and wider than asked",
			change: func(in *Input) {
				sg := in.SecurityGroups[managed]
				sg.Ingress = append(sg.Ingress, cidr("tcp", 80, 80, "0.0.0.0/0", ""))
				in.SecurityGroups[managed] = sg
			},
			want: map[[2]string]ruleMark{
				{managed, "tcp 80 from 0.0.0.0/0"}: {RelationClient, true, "source 0.0.0.0/0 is wider than asked (203.0.113.0/24)"},
			},
		},
		{
			name: "a frontend rule from outside the asked range",
			change: func(in *Input) {
				sg := in.SecurityGroups[managed]
				sg.Ingress = append(sg.Ingress, cidr("tcp", 80, 80, "10.0.0.0/8", ""))
				in.SecurityGroups[managed] = sg
			},
			want: map[[2]string]ruleMark{
				{managed, "tcp 80 from 10.0.0.0/8"}: {RelationClient, true, "source 10.0.0.0/8 is not within the asked sources"},
			},
		},
		{
			name: "user SGs: every rule is foreign, a port beyond the listeners is over-exposed",
			change: func(in *Input) {
				in.Desired.LoadBalancer.Frontend = spec.FrontendCustom
				in.Desired.ManagedSG = nil
				in.ManagedSG = ""
				in.AskedClients = []sgrules.Rule{cidr("tcp", 80, 80, "0.0.0.0/0", "")}
				in.LoadBalancer.SecurityGroups = []string{userSG, backend}
				in.SecurityGroups[userSG] = state.SecurityGroup{ID: userSG, Name: "mine", Ingress: []sgrules.Rule{
					cidr("tcp", 80, 80, "0.0.0.0/0", ""), cidr("tcp", 22, 22, "0.0.0.0/0", "ssh"), cidr("-1", 0, 0, "10.0.0.0/8", "")}}
			},
			want: map[[2]string]ruleMark{
				{userSG, "tcp 80 from 0.0.0.0/0"}: {RelationClient, true, ""},
				{userSG, "tcp 22 from 0.0.0.0/0"}: {RelationClient, true, "opens tcp 22, beyond the listener ports"},
				{userSG, "all from 10.0.0.0/8"}:   {RelationClient, true, "opens all protocols and ports"},
			},
		},
		{
			name: "a rule on the backend SG opens every load balancer",
			change: func(in *Input) {
				sg := in.SecurityGroups[backend]
				sg.Ingress = []sgrules.Rule{cidr("tcp", 80, 80, someCIDR, "")}
				in.SecurityGroups[backend] = sg
			},
			want: map[[2]string]ruleMark{
				{backend, "tcp 80 from " + someCIDR}: {RelationClient, true, "the backend SG is shared"},
			},
		},
		{
			name: "a foreign rule on the target SG admitting the NodePort from anywhere bypasses the load balancer",
			change: func(in *Input) {
				sg := in.SecurityGroups[nodeSG]
				sg.Ingress = append(sg.Ingress, cidr("tcp", 30081, 30081, "0.0.0.0/0", ""), cidr("tcp", 22, 22, "10.0.0.0/8", "admins"))
				in.SecurityGroups[nodeSG] = sg
			},
			want: map[[2]string]ruleMark{
				{nodeSG, "tcp 30081 from 0.0.0.0/0"}: {RelationBypass, true, "directly, not through the load balancer"},
				{nodeSG, "tcp 22 from 10.0.0.0/8"}:   {RelationOther, true, ""},
			},
		},
		{
			name: "the node SG admitting itself is traffic inside the cluster, not a bypass",
			change: func(in *Input) {
				sg := in.SecurityGroups[nodeSG]
				sg.Ingress = append(sg.Ingress, fromSG("-1", 0, 0, nodeSG, ""))
				in.SecurityGroups[nodeSG] = sg
			},
			want: map[[2]string]ruleMark{
				{nodeSG, "all from " + nodeSG}: {RelationOther, true, ""},
			},
		},
		{
			name: "a port range on the target SG beyond the traffic and health-check ports is over-exposed",
			change: func(in *Input) {
				sg := in.SecurityGroups[nodeSG]
				sg.Ingress = []sgrules.Rule{fromSG("tcp", 30000, 32767, backend, ownDesc)}
				in.SecurityGroups[nodeSG] = sg
			},
			want: map[[2]string]ruleMark{
				{nodeSG, "tcp 30000-32767 from " + backend}: {RelationPath, false, "opens tcp 30000-30080, 30082-32767, beyond this object's traffic and health-check ports (the backend SG is shared"},
			},
		},
		{
			name: "an upstream rule from this cluster's backend SG is lbsg's (adopted), another cluster's is foreign",
			change: func(in *Input) {
				sg := in.SecurityGroups[nodeSG]
				sg.Ingress = []sgrules.Rule{fromSG("tcp", 30081, 30081, backend, sgrules.UpstreamSharedDescription),
					fromSG("tcp", 30081, 30081, "sg-other", "elbv2.k8s.aws/cluster=c2")}
				in.SecurityGroups[nodeSG] = sg
			},
			want: map[[2]string]ruleMark{
				{nodeSG, "tcp 30081 from " + backend}: {RelationPath, false, ""},
				{nodeSG, "tcp 30081 from sg-other"}:   {RelationBypass, true, "directly"},
			},
		},
		{
			name: "unrestricted target rules asked for are not over-exposed",
			change: func(in *Input) {
				in.Desired.Networking.Needs = []sgrules.Need{{Protocol: "tcp", AllPorts: true}}
				sg := in.SecurityGroups[nodeSG]
				sg.Ingress = []sgrules.Rule{fromSG("tcp", 0, 65535, backend, ownDesc)}
				in.SecurityGroups[nodeSG] = sg
			},
			want: map[[2]string]ruleMark{
				{nodeSG, "tcp 0-65535 from " + backend}: {RelationPath, false, ""},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := nlbInput()
			tt.change(&in)
			checkMarks(t, Build(in), tt.want)
		})
	}
}

func TestExplainPathsOfManagedNLB(t *testing.T) {
	in := nlbInput()
	sg := in.SecurityGroups[managed]
	sg.Ingress = append(sg.Ingress, cidr("tcp", 80, 80, "0.0.0.0/0", ""))
	in.SecurityGroups[managed] = sg
	g := Build(in)
	want := []Path{
		{Client: "0.0.0.0/0", ClientKind: "cidr", FrontendSG: managed, ClientRule: "tcp 80 from 0.0.0.0/0", Listener: "TCP:80",
			TargetGroup: "k8s-default-web-tg", TargetSG: nodeSG, TargetRule: "tcp 30081 from " + backend, Targets: []string{"i-1:30081", "i-2:30081"},
			Foreign: true, OverExposed: true},
		{Client: someCIDR, ClientKind: "cidr", FrontendSG: managed, ClientRule: "tcp 80 from " + someCIDR, Listener: "TCP:80",
			TargetGroup: "k8s-default-web-tg", TargetSG: nodeSG, TargetRule: "tcp 30081 from " + backend, Targets: []string{"i-1:30081", "i-2:30081"}},
	}
	if !reflect.DeepEqual(g.Paths, want) {
		t.Errorf("paths:\n got %+v\nwant %+v", g.Paths, want)
	}
	if g.Summary != (Summary{Rules: 3, Foreign: 1, OverExposed: 1}) {
		t.Errorf("summary %+v", g.Summary)
	}
	for _, tg := range g.TargetGroups {
		for _, tt := range tg.Targets {
			if !tt.Reachable || !tt.HealthCheckReachable {
				t.Errorf("target %s not reachable: %+v", tt.ID, tt)
			}
		}
	}
}

func TestExplainTargetWithoutRuleIsUnreachable(t *testing.T) {
	in := nlbInput()
	in.SecurityGroups[nodeSG] = state.SecurityGroup{ID: nodeSG}
	g := Build(in)
	if g.Summary.Unreachable != 2 {
		t.Errorf("unreachable %d, want 2", g.Summary.Unreachable)
	}
	if len(g.Paths) != 1 || !g.Paths[0].Blocked || g.Paths[0].TargetRule != "" {
		t.Errorf("paths %+v, want one blocked path", g.Paths)
	}
}

func TestExplainIPTargetsAndInstanceTargets(t *testing.T) {
	in := nlbInput()
	// The web target group has pods behind their own SG; a second has instances.
	in.TargetGroups = append(in.TargetGroups, state.TargetGroup{ARN: tg2ARN, Name: "k8s-default-api-tg", Protocol: "TCP", TargetType: "ip", HealthCheck: state.HealthCheck{Port: "8081"}})
	in.Listeners = append(in.Listeners, state.Listener{ARN: "arn:l81", Port: 81, Protocol: "TCP", TargetGroupARN: tg2ARN})
	in.Targets[tg2ARN] = []state.Target{{ID: "10.0.1.5", Port: 8080}}
	in.TargetENIs["10.0.1.5"] = TargetENI{ENI: "eni-pod", SecurityGroup: podSG}
	in.Desired.TargetGroups = append(in.Desired.TargetGroups, spec.TargetGroup{Protocol: "TCP", TrafficPort: 8080, TargetType: "ip", HealthCheck: spec.HealthCheck{Port: "8081"}})
	in.Desired.Networking.Needs = append(in.Desired.Networking.Needs, sgrules.Need{Protocol: "tcp", Port: 8080}, sgrules.Need{Protocol: "tcp", Port: 8081})
	in.AskedClients = append(in.AskedClients, cidr("tcp", 81, 81, someCIDR, ""))
	in.SecurityGroups[managed] = state.SecurityGroup{ID: managed, Ingress: in.AskedClients}
	in.SecurityGroups[podSG] = state.SecurityGroup{ID: podSG, Name: "pods", Ingress: []sgrules.Rule{fromSG("tcp", 8080, 8081, backend, ownDesc)}}
	g := Build(in)
	var ids []string
	for _, sg := range g.SecurityGroups {
		ids = append(ids, sg.ID+"="+strings.Join(sg.Roles, "+")+":"+strings.Join(sg.Targets, ","))
	}
	want := []string{managed + "=managed:", backend + "=backend:", "sg-node=target:i-1:30081,i-2:30081", "sg-pod=target:10.0.1.5:8080"}
	if !reflect.DeepEqual(ids, want) {
		t.Errorf("security groups %v, want %v", ids, want)
	}
	checkMarks(t, g, map[[2]string]ruleMark{{podSG, "tcp 8080-8081 from " + backend}: {RelationPath, false, ""}})
	var pod Target
	for _, tg := range g.TargetGroups {
		if tg.TargetType == "ip" {
			pod = tg.Targets[0]
		}
	}
	if pod.ENI != "eni-pod" || pod.SecurityGroup != podSG || !pod.Reachable || !pod.HealthCheckReachable {
		t.Errorf("pod target %+v", pod)
	}
	var listeners []string
	for _, p := range g.Paths {
		listeners = append(listeners, p.Listener+">"+p.TargetSG)
	}
	if want := []string{"TCP:80>sg-node", "TCP:81>sg-pod"}; !reflect.DeepEqual(listeners, want) {
		t.Errorf("paths %v, want %v", listeners, want)
	}
}

func TestExplainNLBWithoutSecurityGroups(t *testing.T) {
	in := nlbInput()
	in.Desired.LoadBalancer.Frontend = spec.FrontendNone
	in.Desired.LoadBalancer.UseBackendSG = false
	in.Desired.ManagedSG = nil
	in.Desired.Networking = spec.TargetNetworking{Manage: true, Legacy: []spec.LegacyNeed{
		{Need: sgrules.Need{Protocol: "tcp", Port: 30081}, Peers: []string{someCIDR}},
		{Need: sgrules.Need{Protocol: "tcp", Port: 30082}, Peers: []string{spec.PeerSubnets}},
	}}
	in.LegacyPeers = map[string][]string{spec.PeerSubnets: {"10.0.0.0/24", "10.0.1.0/24"}}
	in.AskedClients = nil
	in.ManagedSG, in.BackendSG = "", ""
	in.LoadBalancer.SecurityGroups = nil
	in.TargetGroups[0].HealthCheck.Port = "30082"
	in.SecurityGroups = map[string]state.SecurityGroup{nodeSG: {ID: nodeSG, Ingress: []sgrules.Rule{
		cidr("tcp", 30081, 30081, someCIDR, ownDesc),
		cidr("tcp", 30081, 30081, "0.0.0.0/0", ""),
		cidr("tcp", 30082, 30082, "10.0.0.0/24", ownDesc),
		cidr("tcp", 30082, 30082, "10.0.1.0/24", ownDesc),
	}}}
	g := Build(in)
	if g.LoadBalancer.Frontend != "none" || len(g.SecurityGroups) != 1 {
		t.Fatalf("graph %+v", g)
	}
	checkMarks(t, g, map[[2]string]ruleMark{
		{nodeSG, "tcp 30081 from " + someCIDR}: {RelationPath, false, ""},
		{nodeSG, "tcp 30081 from 0.0.0.0/0"}:   {RelationPath, true, "source 0.0.0.0/0 is wider than asked"},
		{nodeSG, "tcp 30082 from 10.0.1.0/24"}: {RelationPath, false, ""},
	})
	var clients []string
	for _, p := range g.Paths {
		if p.FrontendSG != "" || p.Bypass {
			t.Errorf("path through an SG or bypass on an NLB without SGs: %+v", p)
		}
		clients = append(clients, p.Client)
	}
	if want := []string{"0.0.0.0/0", someCIDR}; !reflect.DeepEqual(clients, want) {
		t.Errorf("path clients %v, want %v", clients, want)
	}
	if tg := g.TargetGroups[0]; !tg.Targets[0].Reachable || !tg.Targets[0].HealthCheckReachable {
		t.Errorf("targets %+v", tg.Targets)
	}
}

func TestExplainALBGroupWithSeveralIngresses(t *testing.T) {
	asked := []sgrules.Rule{cidr("tcp", 80, 80, "0.0.0.0/0", ""), cidr("tcp", 443, 443, "0.0.0.0/0", "")}
	in := Input{
		Cluster: cluster,
		Object:  Object{Kind: "Ingress", Namespace: "shop", Name: "cart"},
		Stack:   "IngressGroup shop",
		Members: []string{"shop/cart", "shop/catalog"},
		Desired: &spec.Stack{
			LoadBalancer: spec.LoadBalancer{Type: "application", Frontend: spec.FrontendManaged, UseBackendSG: true},
			ManagedSG:    &spec.SecurityGroup{Ingress: asked},
			ResourceTag:  "ingress.k8s.aws/resource",
			TargetGroups: []spec.TargetGroup{
				{ResourceID: "shop/cart-cart:80", ServiceNamespace: "shop", ServiceName: "cart", Protocol: "HTTP", TrafficPort: 30081, HealthCheck: spec.HealthCheck{Port: "traffic-port"}},
				{ResourceID: "shop/catalog-catalog:80", ServiceNamespace: "shop", ServiceName: "catalog", Protocol: "HTTP", TrafficPort: 30082, HealthCheck: spec.HealthCheck{Port: "traffic-port"}}},
			Networking: spec.TargetNetworking{Manage: true, Source: spec.SourceBackend,
				Needs: []sgrules.Need{{Port: 30081}, {Port: 30082}}},
		},
		AskedClients: asked,
		LoadBalancer: &state.LoadBalancer{ARN: lbARN, Name: "k8s-shop", Type: "application", Scheme: "internet-facing", SecurityGroups: []string{managed, backend}},
		Listeners: []state.Listener{
			{Port: 443, Protocol: "HTTPS", FixedResponseStatus: "404", Rules: []state.ListenerRule{{Priority: 1, TargetGroupARN: tgARN}, {Priority: 2, TargetGroupARN: tg2ARN}}},
			{Port: 80, Protocol: "HTTP", Unmodelled: "redirect"},
		},
		TargetGroups: []state.TargetGroup{
			{ARN: tgARN, Name: "k8s-shop-cart", Protocol: "HTTP", TargetType: "instance", HealthCheck: state.HealthCheck{Port: "traffic-port"},
				Tags: map[string]string{"ingress.k8s.aws/resource": "shop/cart-cart:80"}},
			{ARN: tg2ARN, Name: "k8s-shop-catalog", Protocol: "HTTP", TargetType: "instance", HealthCheck: state.HealthCheck{Port: "traffic-port"},
				Tags: map[string]string{"ingress.k8s.aws/resource": "shop/catalog-catalog:80"}},
		},
		ObjectTargetGroups: map[string]bool{"shop/cart-cart:80": true},
		Targets:            map[string][]state.Target{tgARN: {{ID: "i-1", Port: 30081}}, tg2ARN: {{ID: "i-1", Port: 30082}}},
		SecurityGroups: map[string]state.SecurityGroup{
			managed: {ID: managed, Ingress: asked},
			backend: {ID: backend},
			nodeSG:  {ID: nodeSG, Ingress: []sgrules.Rule{fromSG("tcp", 30081, 30082, backend, ownDesc)}},
		},
		BackendSG: backend, ManagedSG: managed, ClusterSGs: map[string]bool{backend: true, managed: true},
		TargetENIs: map[string]TargetENI{"i-1": {ENI: "eni-1", SecurityGroup: nodeSG}},
	}
	g := Build(in)
	if !reflect.DeepEqual(g.Members, []string{"shop/cart", "shop/catalog"}) {
		t.Errorf("members %v", g.Members)
	}
	wantListeners := []Listener{
		{Protocol: "HTTP", Port: 80, TargetGroups: []string{}, Other: "redirect"},
		{Protocol: "HTTPS", Port: 443, TargetGroups: []string{"k8s-shop-cart", "k8s-shop-catalog"}, Other: "fixed-response 404"},
	}
	if !reflect.DeepEqual(g.Listeners, wantListeners) {
		t.Errorf("listeners %+v, want %+v", g.Listeners, wantListeners)
	}
	var tgs []string
	for _, tg := range g.TargetGroups {
		tgs = append(tgs, fmt.Sprintf("%s=%s/%v", tg.Name, tg.Service, tg.OfObject))
	}
	if want := []string{"k8s-shop-cart=shop/cart/true", "k8s-shop-catalog=shop/catalog/false"}; !reflect.DeepEqual(tgs, want) {
		t.Errorf("target groups %v, want %v", tgs, want)
	}
	// Both members' NodePorts are this group's ports: the shared range opens nothing more.
	checkMarks(t, g, map[[2]string]ruleMark{{nodeSG, "tcp 30081-30082 from " + backend}: {RelationPath, false, ""}})
	var paths []string
	for _, p := range g.Paths {
		paths = append(paths, p.Listener+">"+p.TargetGroup+">"+strings.Join(p.Targets, ","))
	}
	want := []string{"HTTPS:443>k8s-shop-cart>i-1:30081", "HTTPS:443>k8s-shop-catalog>i-1:30082"}
	if !reflect.DeepEqual(paths, want) {
		t.Errorf("paths %v, want %v", paths, want)
	}
}

func TestExplainWithoutLoadBalancer(t *testing.T) {
	in := nlbInput()
	in.LoadBalancer, in.Listeners, in.TargetGroups, in.Targets = nil, nil, nil, nil
	g := Build(in)
	if g.LoadBalancer != nil || len(g.Paths) != 0 || len(g.SecurityGroups) != 0 || len(g.Notes) != 1 {
		t.Errorf("graph %+v", g)
	}
}

func TestExplainDoesNotModifyInput(t *testing.T) {
	in := nlbInput()
	before, _ := json.Marshal(in)
	Build(in)
	after, _ := json.Marshal(in)
	if !bytes.Equal(before, after) {
		t.Errorf("Build modified its input")
	}
}

// TestExplainJSONSchemaIsStable pins the top-level and rule field names of the JSON output:
// scripts read them.
func TestExplainJSONSchemaIsStable(t *testing.T) {
	g := Build(nlbInput())
	raw, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"schema", "object", "stack", "loadBalancer", "asked", "securityGroups", "listeners", "targetGroups", "paths", "summary"} {
		if _, ok := top[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, raw)
		}
	}
	var back Graph
	if err := json.Unmarshal(raw, &back); err != nil || !reflect.DeepEqual(back, g) {
		t.Errorf("JSON does not round-trip: %v", err)
	}
	rule, _ := json.Marshal(g.SecurityGroups[0].Rules[0])
	if want := `{"protocol":"tcp","fromPort":80,"toPort":80,"peerKind":"cidr","peer":"203.0.113.0/24","text":"tcp 80 from 203.0.113.0/24","relation":"client","foreign":false}`; string(rule) != want {
		t.Errorf("rule JSON\n got %s\nwant %s", rule, want)
	}
	if g.Schema != "lbsg.explain/v1" {
		t.Errorf("schema %q", g.Schema)
	}
}

func TestExplainTextShowsPathsAndMarks(t *testing.T) {
	in := nlbInput()
	sg := in.SecurityGroups[nodeSG]
	sg.Ingress = append(sg.Ingress, cidr("tcp", 30081, 30081, "0.0.0.0/0", ""))
	in.SecurityGroups[nodeSG] = sg
	var out bytes.Buffer
	if err := WriteText(&out, Build(in)); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{
		"Service default/web",
		"203.0.113.0/24 -> sg-managed [tcp 80 from 203.0.113.0/24] -> TCP:80 -> k8s-default-web-tg -> sg-node [tcp 30081 from sg-backend] -> i-1:30081, i-2:30081\n",
		"0.0.0.0/0 -> sg-node [tcp 30081 from 0.0.0.0/0] -> i-1:30081, i-2:30081 (bypasses the load balancer)  (OVER-EXPOSED, FOREIGN)",
		"sg-node c1-node (target) of i-1:30081, i-2:30081",
		"FOREIGN OVER-EXPOSED: admits this object's target ports from 0.0.0.0/0 directly",
		"summary: 3 rules, 1 foreign, 1 over-exposed, 0 unreachable targets",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
}

func TestExplainDotRendersEveryEdge(t *testing.T) {
	in := nlbInput()
	sg := in.SecurityGroups[managed]
	sg.Ingress = append(sg.Ingress, cidr("tcp", 80, 80, "0.0.0.0/0", ""))
	in.SecurityGroups[managed] = sg
	var out bytes.Buffer
	if err := WriteDot(&out, Build(in)); err != nil {
		t.Fatal(err)
	}
	dot := out.String()
	for _, want := range []string{
		"digraph explain {",
		`"client:203.0.113.0/24" -> "sg:sg-managed" [label="tcp 80"];`,
		`"client:0.0.0.0/0" -> "sg:sg-managed" [label="tcp 80", color=red, fontcolor=red, style=dashed];`,
		`"sg:sg-backend" -> "sg:sg-node" [label="tcp 30081"];`,
		`"sg:sg-managed" -> lb [label=attached];`,
		`lb -> "listener:TCP:80";`,
		`"listener:TCP:80" -> "tg:k8s-default-web-tg";`,
		`"tg:k8s-default-web-tg" -> "target:i-1:30081" [style=dotted];`,
	} {
		if !strings.Contains(dot, want) {
			t.Errorf("dot lacks %q:\n%s", want, dot)
		}
	}
	if !strings.HasSuffix(dot, "}\n") {
		t.Errorf("dot does not end the graph")
	}
}

func TestExplainPortsBeyond(t *testing.T) {
	asked := []sgrules.Key{{Protocol: "tcp", FromPort: 80, ToPort: 80}, {Protocol: "tcp", FromPort: 443, ToPort: 443}, {Protocol: "icmp", FromPort: 3, ToPort: 4}}
	tests := []struct {
		key  sgrules.Key
		want string
	}{
		{sgrules.Key{Protocol: "tcp", FromPort: 80, ToPort: 80}, ""},
		{sgrules.Key{Protocol: "6", FromPort: 443, ToPort: 443}, ""},
		{sgrules.Key{Protocol: "tcp", FromPort: 80, ToPort: 443}, "tcp 81-442"},
		{sgrules.Key{Protocol: "tcp", FromPort: 0, ToPort: 65535}, "tcp 0-79, 81-442, 444-65535"},
		{sgrules.Key{Protocol: "udp", FromPort: 80, ToPort: 80}, "udp 80"},
		{sgrules.Key{Protocol: "icmp", FromPort: 3, ToPort: 4}, ""},
		{sgrules.Key{Protocol: "icmp", FromPort: -1, ToPort: -1}, "icmp all"},
		{sgrules.Key{Protocol: "-1"}, "all protocols and ports"},
	}
	for _, tt := range tests {
		if got := portsBeyond(tt.key, asked); got != tt.want {
			t.Errorf("portsBeyond(%v) = %q, want %q", tt.key, got, tt.want)
		}
	}
}

func TestExplainCIDRWithin(t *testing.T) {
	tests := []struct {
		inner, outer string
		want         bool
	}{
		{"203.0.113.0/24", "203.0.113.0/24", true},
		{"203.0.113.128/25", "203.0.113.0/24", true},
		{"0.0.0.0/0", "203.0.113.0/24", false},
		{"10.0.0.0/8", "203.0.113.0/24", false},
		{"2001:db8::/64", "2001:db8::/32", true},
		{"2001:db8::/32", "2001:db8::/64", false},
	}
	for _, tt := range tests {
		if got := cidrWithin(tt.inner, tt.outer); got != tt.want {
			t.Errorf("cidrWithin(%s, %s) = %v", tt.inner, tt.outer, got)
		}
	}
}

func TestExplainInvalidInputMarksNothingOverExposed(t *testing.T) {
	in := nlbInput()
	in.Desired, in.AskedClients = nil, nil
	in.Problems = []string{"annotation x: bad"}
	sg := in.SecurityGroups[managed]
	sg.Ingress = append(sg.Ingress, cidr("tcp", 80, 80, "0.0.0.0/0", ""))
	in.SecurityGroups[managed] = sg
	g := Build(in)
	if g.Summary.OverExposed != 0 || g.Summary.Foreign != 0 {
		t.Errorf("summary %+v, want nothing marked", g.Summary)
	}
	checkMarks(t, g, map[[2]string]ruleMark{
		{managed, "tcp 80 from 0.0.0.0/0"}:    {RelationClient, false, ""},
		{nodeSG, "tcp 30081 from " + backend}: {RelationPath, false, ""},
	})
	if len(g.Problems) != 1 || !strings.Contains(strings.Join(g.Notes, "\n"), "unknown until its input is fixed") {
		t.Errorf("problems %v notes %v", g.Problems, g.Notes)
	}
}

func TestExplainTextNamesTheIngressAndItsGroup(t *testing.T) {
	g := Graph{Object: Object{Kind: "Ingress", Namespace: "shop", Name: "cart"}, Stack: "IngressGroup shop"}
	var out bytes.Buffer
	if err := WriteText(&out, g); err != nil {
		t.Fatal(err)
	}
	if first, _, _ := strings.Cut(out.String(), "\n"); first != "Ingress shop/cart in IngressGroup shop" {
		t.Errorf("first line %q", first)
	}
}
