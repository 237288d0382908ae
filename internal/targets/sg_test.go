package targets

import (
	"strings"
	"testing"
)

func TestSelectSG(t *testing.T) {
	const cluster = "c1"
	tagged := map[string]string{"kubernetes.io/cluster/c1": "owned"}
	tags := map[string]map[string]string{
		"sg-node":    {"kubernetes.io/cluster/c1": "owned", "role": "node"},
		"sg-cluster": {"kubernetes.io/cluster/c1": "", "role": "cluster"},
		"sg-other":   {"kubernetes.io/cluster/c2": "owned"},
		"sg-plain":   {"Name": "plain"},
		"sg-tagged":  tagged,
	}
	tests := []struct {
		name      string
		eni       ENI
		extra     map[string]string
		want      string
		wantInErr []string // substrings of the error; nil means no error
	}{
		{
			name:      "no security groups",
			eni:       ENI{ID: "eni-0"},
			wantInErr: []string{"eni-0", "no security groups"},
		},
		{
			name: "single SG needs no tag",
			eni:  ENI{ID: "eni-1", SecurityGroups: []string{"sg-plain"}},
			want: "sg-plain",
		},
		{
			name: "single SG unknown to sgTags",
			eni:  ENI{ID: "eni-1", SecurityGroups: []string{"sg-unknown"}},
			want: "sg-unknown",
		},
		{
			name: "one of several tagged (value ignored)",
			eni:  ENI{ID: "eni-2", SecurityGroups: []string{"sg-plain", "sg-cluster", "sg-other"}},
			want: "sg-cluster",
		},
		{
			name:  "two tagged, extra tags pick one",
			eni:   ENI{ID: "eni-3", SecurityGroups: []string{"sg-node", "sg-cluster"}},
			extra: map[string]string{"role": "node"},
			want:  "sg-node",
		},
		{
			name: "two tagged, no extra tags",
			eni:  ENI{ID: "eni-4", SecurityGroups: []string{"sg-node", "sg-cluster", "sg-plain"}},
			wantInErr: []string{
				"expected exactly one securityGroup tagged with kubernetes.io/cluster/c1",
				"eni-4", "got: [sg-cluster sg-node]", "[sg-cluster sg-node sg-plain]",
				"--service-target-eni-security-group-tags", "all but one",
			},
		},
		{
			name:  "extra tag value must match exactly",
			eni:   ENI{ID: "eni-5", SecurityGroups: []string{"sg-node", "sg-cluster"}},
			extra: map[string]string{"role": "Node"},
			wantInErr: []string{
				"expected exactly one securityGroup tagged with kubernetes.io/cluster/c1 and role=Node",
				"eni-5", "got: []", "tag exactly one",
			},
		},
		{
			name: "none tagged",
			eni:  ENI{ID: "eni-6", SecurityGroups: []string{"sg-plain", "sg-other", "sg-unknown"}},
			wantInErr: []string{
				"expected exactly one securityGroup tagged with kubernetes.io/cluster/c1",
				"eni-6", "got: []", "[sg-other sg-plain sg-unknown]", "(clusterName: c1",
			},
		},
		{
			name: "same SG listed twice counts once",
			eni:  ENI{ID: "eni-7", SecurityGroups: []string{"sg-tagged", "sg-tagged", "sg-plain"}},
			want: "sg-tagged",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := SelectSG(tt.eni, tags, cluster, tt.extra)
			if tt.wantInErr == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				if got != tt.want {
					t.Fatalf("SelectSG() = %q, want %q", got, tt.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("SelectSG() = %q, want an error", got)
			}
			for _, s := range tt.wantInErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
		})
	}
}
