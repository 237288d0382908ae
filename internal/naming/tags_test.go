package naming

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMergeTags(t *testing.T) {
	stack := map[string]string{TagCluster: "c", ServiceStackTag: "ns/n"}
	resource := map[string]string{ServiceResourceTag: ManagedSGResourceID}
	spec := map[string]string{TagCluster: "evil", "team": "a", ServiceResourceTag: "x"}
	tests := []struct {
		name   string
		layers []map[string]string
		want   map[string]string
	}{
		{"none", nil, map[string]string{}},
		{"nil layers", []map[string]string{nil, nil}, map[string]string{}},
		{"earlier layer wins", []map[string]string{stack, resource, spec}, map[string]string{
			TagCluster: "c", ServiceStackTag: "ns/n", ServiceResourceTag: ManagedSGResourceID, "team": "a",
		}},
		{"order flips the winner", []map[string]string{{"k": "1"}, {"k": "2"}}, map[string]string{"k": "1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := MergeTags(tc.layers...)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("MergeTags (-want +got):\n%s", diff)
			}
		})
	}
	// Inputs are untouched and the result is a new map.
	if diff := cmp.Diff(map[string]string{TagCluster: "evil", "team": "a", ServiceResourceTag: "x"}, spec); diff != "" {
		t.Errorf("input mutated (-want +got):\n%s", diff)
	}
	out := MergeTags(stack)
	out["new"] = "v"
	if _, ok := stack["new"]; ok {
		t.Error("MergeTags returned its input map")
	}
}

func TestStackHelpers(t *testing.T) {
	if got := ServiceStackID("default", "echo"); got != "default/echo" {
		t.Errorf("ServiceStackID = %q", got)
	}
	if diff := cmp.Diff(map[string]string{
		"elbv2.k8s.aws/cluster": "my-cluster", "service.k8s.aws/stack": "default/echo",
	}, ServiceStackTags("my-cluster", "default", "echo")); diff != "" {
		t.Errorf("ServiceStackTags (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{
		"elbv2.k8s.aws/cluster": "my-cluster", "ingress.k8s.aws/stack": "my-group",
	}, IngressStackTags("my-cluster", "my-group")); diff != "" {
		t.Errorf("IngressStackTags (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{
		"elbv2.k8s.aws/cluster": "my-cluster", "elbv2.k8s.aws/resource": "backend-sg",
	}, BackendSGTags("my-cluster")); diff != "" {
		t.Errorf("BackendSGTags (-want +got):\n%s", diff)
	}
	if got := TargetGroupResourceID("default", "echo", 443); got != "default/echo:443" {
		t.Errorf("TargetGroupResourceID = %q", got)
	}
	if got := IngressGroupFinalizer("my-group"); got != "group.ingress.k8s.aws/my-group" {
		t.Errorf("IngressGroupFinalizer = %q", got)
	}
}

func TestIsTrackingTagKey(t *testing.T) {
	tests := map[string]bool{
		"elbv2.k8s.aws/cluster":        true,
		"elbv2.k8s.aws/resource":       true,
		"ingress.k8s.aws/stack":        true,
		"ingress.k8s.aws/resource":     true,
		"service.k8s.aws/stack":        true,
		"service.k8s.aws/resource":     true,
		"gateway.k8s.aws.alb/stack":    true,
		"gateway.k8s.aws.alb/resource": true,
		"gateway.k8s.aws.nlb/stack":    true,
		"gateway.k8s.aws.nlb/resource": true,
		"ingress.k8s.aws/cluster":      false,
		"Name":                         false,
		"elbv2.k8s.aws/Cluster":        false,
		"":                             false,
	}
	for key, want := range tests {
		if got := IsTrackingTagKey(key); got != want {
			t.Errorf("IsTrackingTagKey(%q) = %v, want %v", key, got, want)
		}
	}
}

func TestIsIgnoredTagKey(t *testing.T) {
	tests := []struct {
		key  string
		want bool
	}{
		{"aws:cloudformation:stack-name", true},
		{"aws:", true},
		{"kubernetes.io/cluster/my-cluster", true},
		{"kubernetes.io/cluster/other", false},
		{"kubernetes.io/cluster-name", true},
		{"kubernetes.io/namespace", true},
		{"kubernetes.io/ingress-name", true},
		{"kubernetes.io/service-name", true},
		{"kubernetes.io/service-port", true},
		{"ingress.k8s.aws/cluster", true},
		{"elbv2.k8s.aws/cluster", false},
		{"AWS:upper", false},
		{"team", false},
	}
	for _, tc := range tests {
		if got := IsIgnoredTagKey(tc.key, "my-cluster"); got != tc.want {
			t.Errorf("IsIgnoredTagKey(%q) = %v, want %v", tc.key, got, tc.want)
		}
	}
}
