package targets

import (
	"strings"
	"testing"
	"time"
)

var running = Liveness{Phase: PhaseRunning, HasIP: true}

// podsOf indexes pods by name and by IP, as the controller does from its cache.
func podsOf(pods ...Pod) Pods {
	out := Pods{ByName: map[string]Pod{}, ByIP: map[string][]Holder{}, Now: time.Unix(1000, 0)}
	for _, p := range pods {
		out.ByName[p.Namespace+"/"+p.Name] = p
		for _, ip := range p.IPs {
			out.ByIP[ip] = append(out.ByIP[ip], Holder{Namespace: p.Namespace, Name: p.Name, HostNetwork: p.HostNetwork, Live: p.Live})
		}
	}
	return out
}

// An endpoint address is a target only when the Pod it names confirms it: the regression
// for EndpointSlices that pointed lbsg at any IP of the VPC (a database ENI).
func TestPodEndpointAcceptsOnlySelectedPodIPs(t *testing.T) {
	sel := map[string]string{"app": "web"}
	pods := podsOf(
		Pod{Namespace: "team", Name: "web-1", Labels: map[string]string{"app": "web", "x": "y"}, IPs: []string{"10.0.1.5", "fd00::5"}, Live: running},
		Pod{Namespace: "team", Name: "other", Labels: map[string]string{"app": "db"}, IPs: []string{"10.0.1.6"}, Live: running},
		Pod{Namespace: "team", Name: "host", Labels: map[string]string{"app": "web"}, IPs: []string{"10.0.0.10"}, HostNetwork: true, NodeIPs: []string{"10.0.0.10"}, Live: running},
		Pod{Namespace: "team", Name: "host2", Labels: map[string]string{"app": "web"}, IPs: []string{"10.0.0.99"}, HostNetwork: true, NodeIPs: []string{"10.0.0.11"}, Live: running},
		Pod{Namespace: "prod", Name: "web-1", Labels: map[string]string{"app": "web"}, IPs: []string{"10.0.9.9"}, Live: running},
		// Another host-network Pod on the same node, of another namespace: node IPs are shared.
		Pod{Namespace: "infra", Name: "agent", IPs: []string{"10.0.0.10"}, HostNetwork: true, NodeIPs: []string{"10.0.0.10"}, Live: running},
		// team's finished job kept the IP that prod's database now has.
		Pod{Namespace: "team", Name: "job", Labels: map[string]string{"app": "web"}, IPs: []string{"10.0.7.7"}, Live: Liveness{Phase: PhaseSucceeded, HasIP: true}},
		Pod{Namespace: "prod", Name: "db", IPs: []string{"10.0.7.7"}, Live: running},
		// A Pod stuck Running on a lost node, and the Pod that got its IP since.
		Pod{Namespace: "team", Name: "stuck", Labels: map[string]string{"app": "web"}, IPs: []string{"10.0.8.8"}, Live: running},
		Pod{Namespace: "prod", Name: "new", IPs: []string{"10.0.8.8"}, Live: running},
		// A Pod deleted long ago whose IP went to a Pod that is now selected.
		Pod{Namespace: "prod", Name: "gone", IPs: []string{"10.0.6.6"}, Live: Liveness{Phase: PhaseRunning, HasIP: true, Deadline: time.Unix(10, 0)}},
		Pod{Namespace: "team", Name: "web-2", Labels: map[string]string{"app": "web"}, IPs: []string{"10.0.6.6"}, Live: running},
	)
	// A Pod whose IP no cluster-wide lookup confirmed.
	pods.ByName["team/unindexed"] = Pod{Namespace: "team", Name: "unindexed", Labels: map[string]string{"app": "web"}, IPs: []string{"10.0.5.5"}, Live: running}
	pod := func(addr, name string) Endpoint {
		return Endpoint{Address: addr, RefKind: "Pod", RefNamespace: "team", RefName: name}
	}
	tests := []struct {
		name     string
		selector map[string]string
		ep       Endpoint
		want     string // "" accepted, else a fragment of the reason
	}{
		{"a selected Pod's IP", sel, pod("10.0.1.5", "web-1"), ""},
		{"the Pod's second IP", sel, pod("fd00::5", "web-1"), ""},
		{"targetRef without namespace", sel, Endpoint{Address: "10.0.1.5", RefKind: "Pod", RefName: "web-1"}, ""},
		{"no targetRef (hand-made slice)", sel, Endpoint{Address: "10.0.3.7"}, "no targetRef"},
		{"targetRef to a Node", sel, Endpoint{Address: "10.0.3.7", RefKind: "Node", RefName: "n1"}, "targetRef is a Node"},
		{"a Pod that does not exist", sel, pod("10.0.3.7", "ghost"), "no such Pod"},
		{"a real Pod, another IP (database ENI)", sel, pod("10.0.3.7", "web-1"), "not one of the Pod's IPs"},
		{"a Pod the selector does not select", sel, pod("10.0.1.6", "other"), "not selected"},
		{"a Pod of another namespace", sel, Endpoint{Address: "10.0.9.9", RefKind: "Pod", RefNamespace: "prod", RefName: "web-1"}, "another namespace"},
		{"Service without selector", nil, pod("10.0.1.5", "web-1"), "no selector"},
		{"hostNetwork Pod on its node's IP", sel, pod("10.0.0.10", "host"), ""},
		{"hostNetwork Pod with an IP its node does not have", sel, pod("10.0.0.99", "host2"), "hostNetwork"},
		{"a finished Pod's IP, now another namespace's", sel, pod("10.0.7.7", "job"), "has finished (phase Succeeded)"},
		{"a Running Pod whose IP another Pod reports", sel, pod("10.0.8.8", "stuck"), "another live Pod"},
		{"an IP a Pod deleted past its grace still reports", sel, pod("10.0.6.6", "web-2"), ""},
		{"an IP not checked cluster-wide", sel, pod("10.0.5.5", "unindexed"), "could not be checked"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := PodEndpoint("team", tc.selector, tc.ep, pods)
			if tc.want == "" && got != "" {
				t.Errorf("rejected: %s", got)
			}
			if tc.want != "" && !strings.Contains(got, tc.want) {
				t.Errorf("reason %q, want one with %q", got, tc.want)
			}
		})
	}
}

func TestSkippedMessageIsShort(t *testing.T) {
	var many []Skipped
	for i := 0; i < 300; i++ {
		many = append(many, Skipped{Address: "10.0.200." + strings.Repeat("1", 1+i%3), Reason: "no targetRef to a Pod"})
	}
	many = append(many, Skipped{Address: "10.0.3.7", Reason: "no such Pod"})
	got := SkippedMessage(many, 5, 500)
	if len(got) > 400 {
		t.Errorf("message is %d characters: %s", len(got), got)
	}
	for _, want := range []string{"and 295 more (no targetRef to a Pod)", "10.0.3.7 (no such Pod)"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q lacks %q", got, want)
		}
	}
}

// Whatever the reasons, the message keeps within its budget and counts what it leaves out.
func TestSkippedMessageKeepsItsBudget(t *testing.T) {
	var many []Skipped
	for _, r := range []string{"no targetRef to a Pod", "no such Pod", "not one of the Pod's IPs", "the Pod is not selected by the Service",
		"the Pod is in another namespace", "targetRef is a Node, not a Pod", "hostNetwork Pod, and not an InternalIP of its node"} {
		for i := 0; i < 10; i++ {
			many = append(many, Skipped{Address: "fd00:1234:5678:9abc:def0:1234:5678:" + strings.Repeat("a", 1+i%4), Reason: r})
		}
	}
	got := SkippedMessage(many, 5, 500)
	if len(got) > 560 || !strings.Contains(got, "more address(es) for other reasons") {
		t.Errorf("message of %d characters: %s", len(got), got)
	}
}
