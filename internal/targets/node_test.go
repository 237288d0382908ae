package targets

import "testing"

func TestNodeEligible(t *testing.T) {
	tests := []struct {
		name     string
		labels   map[string]string
		ready    bool
		taints   []Taint
		selector map[string]string
		want     bool
	}{
		{name: "ready plain node", ready: true, want: true},
		{name: "not ready", ready: false, want: false},
		{name: "cordoned node stays eligible", ready: true, taints: []Taint{{Key: "node.kubernetes.io/unschedulable", Effect: EffectNoSchedule}}, want: true},
		{name: "cluster-autoscaler deleting", ready: true, taints: []Taint{{Key: TaintToBeDeletedByClusterAutoscaler, Effect: EffectNoSchedule}}, want: false},
		{name: "cluster-autoscaler deleting, any effect", ready: true, taints: []Taint{{Key: TaintToBeDeletedByClusterAutoscaler, Effect: "PreferNoSchedule"}}, want: false},
		{name: "karpenter disrupted", ready: true, taints: []Taint{{Key: TaintKarpenterDisrupted, Effect: EffectNoSchedule}}, want: false},
		{name: "karpenter disrupted other effect", ready: true, taints: []Taint{{Key: TaintKarpenterDisrupted, Effect: "NoExecute"}}, want: true},
		{name: "unrelated taint", ready: true, taints: []Taint{{Key: "dedicated", Effect: EffectNoSchedule}}, want: true},
		{name: "fargate", ready: true, labels: map[string]string{LabelComputeType: "fargate"}, want: false},
		{name: "hybrid", ready: true, labels: map[string]string{LabelComputeType: "hybrid"}, want: false},
		{name: "other compute type", ready: true, labels: map[string]string{LabelComputeType: "ec2"}, want: true},
		{name: "excluded", ready: true, labels: map[string]string{LabelExcludeFromExternalLB: "true"}, want: false},
		{name: "excluded with empty value", ready: true, labels: map[string]string{LabelExcludeFromExternalLB: ""}, want: false},
		{name: "excluded with false value still excluded", ready: true, labels: map[string]string{LabelExcludeFromExternalLB: "false"}, want: false},
		{name: "alpha exclude label", ready: true, labels: map[string]string{LabelAlphaExcludeBalancer: "true"}, want: false},
		{name: "master", ready: true, labels: map[string]string{LabelNodeRoleMaster: ""}, want: false},
		{name: "selector matches", ready: true, labels: map[string]string{"pool": "web", "zone": "a"}, selector: map[string]string{"pool": "web"}, want: true},
		{name: "selector value differs", ready: true, labels: map[string]string{"pool": "db"}, selector: map[string]string{"pool": "web"}, want: false},
		{name: "selector key missing", ready: true, selector: map[string]string{"pool": "web"}, want: false},
		{name: "selector empty value needs the key", ready: true, selector: map[string]string{"edge": ""}, want: false},
		{name: "selector empty value matches", ready: true, labels: map[string]string{"edge": ""}, selector: map[string]string{"edge": ""}, want: true},
		{name: "selector all pairs", ready: true, labels: map[string]string{"a": "1", "b": "2"}, selector: map[string]string{"a": "1", "b": "3"}, want: false},
		{name: "selector match does not override exclusion", ready: true, labels: map[string]string{"pool": "web", LabelExcludeFromExternalLB: "true"}, selector: map[string]string{"pool": "web"}, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NodeEligible(tt.labels, tt.ready, tt.taints, tt.selector); got != tt.want {
				t.Errorf("NodeEligible() = %v, want %v", got, tt.want)
			}
		})
	}
}
