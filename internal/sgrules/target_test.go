package sgrules

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestTargetRules(t *testing.T) {
	const d = "elbv2.k8s.aws/cluster=c1"
	tcp := func(p int32) Need { return Need{Protocol: "tcp", Port: p} }
	tests := []struct {
		name      string
		needs     map[string][]Need
		budget    int
		nodePorts PortRange
		want      []Rule
	}{
		{
			name:      "budget 1 keeps ip target ports out of the NodePort range",
			needs:     map[string][]Need{"sg-b": {tcp(30080), tcp(8080), tcp(32001)}},
			budget:    1,
			nodePorts: PortRange{30000, 32767},
			want:      []Rule{sgRule("tcp", 8080, 8080, "sg-b", d), sgRule("tcp", 30080, 32001, "sg-b", d)},
		},
		{name: "nil", needs: nil, budget: 1, want: nil},
		{name: "empty protocol means tcp", needs: map[string][]Need{"sg-b": {{Port: 80}}}, budget: 0, want: []Rule{sgRule("tcp", 80, 80, "sg-b", d)}},
		{name: "source without needs", needs: map[string][]Need{"sg-b": nil}, budget: 1, want: nil},
		{
			name:   "exact ports without budget",
			needs:  map[string][]Need{"sg-b": {tcp(30080), tcp(8080), tcp(30080)}},
			budget: 0,
			want: []Rule{
				sgRule("tcp", 8080, 8080, "sg-b", d),
				sgRule("tcp", 30080, 30080, "sg-b", d),
			},
		},
		{
			name:   "budget 1 is upstream's min..max",
			needs:  map[string][]Need{"sg-b": {tcp(30080), tcp(8080), tcp(32001)}},
			budget: 1,
			want:   []Rule{sgRule("tcp", 8080, 32001, "sg-b", d)},
		},
		{
			name:   "budget 2 merges closest ports",
			needs:  map[string][]Need{"sg-b": {tcp(30080), tcp(8080), tcp(32001)}},
			budget: 2,
			want: []Rule{
				sgRule("tcp", 8080, 8080, "sg-b", d),
				sgRule("tcp", 30080, 32001, "sg-b", d),
			},
		},
		{
			name: "protocols and sources compressed separately",
			needs: map[string][]Need{
				"sg-b": {tcp(80), {Protocol: "UDP", Port: 53}, {Protocol: "17", Port: 5353}, tcp(443)},
				"sg-a": {tcp(8080)},
			},
			budget: 1,
			want: []Rule{
				sgRule("tcp", 80, 443, "sg-b", d),
				sgRule("tcp", 8080, 8080, "sg-a", d),
				sgRule("udp", 53, 5353, "sg-b", d),
			},
		},
		{
			name: "all ports wins for its pair only",
			needs: map[string][]Need{
				"sg-b": {tcp(80), {Protocol: "tcp", AllPorts: true}, {Protocol: "udp", Port: 53}},
			},
			budget: 0,
			want: []Rule{
				sgRule("tcp", 0, 65535, "sg-b", d),
				sgRule("udp", 53, 53, "sg-b", d),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := TargetRules(tt.needs, tt.budget, tt.nodePorts, d)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("TargetRules() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
