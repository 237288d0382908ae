package naming

import (
	"strings"
	"testing"
)

func TestReservedTagPrefixCoversEveryTrackingTag(t *testing.T) {
	tests := []struct{ key, want string }{
		{TagCluster, "elbv2.k8s.aws/"},
		{TagResource, "elbv2.k8s.aws/"},
		{IngressStackTag, "ingress.k8s.aws/"},
		{ServiceResourceTag, "service.k8s.aws/"},
		{NodeSGClusterTagPrefix + "prod", NodeSGClusterTagPrefix},
		{"AWS:CloudFormation", "aws:"},
		{"ELBV2.k8s.aws/resource", "elbv2.k8s.aws/"},
		{" elbv2.k8s.aws/resource", "elbv2.k8s.aws/"},
		{"gateway.k8s.aws.alb/stack", "gateway.k8s.aws.alb/"},
		{"team", ""},
		{"kubernetes.io/cluster-name", ""},
		{"elbv2.k8s.aws", ""},
	}
	for _, tc := range tests {
		if got := ReservedTagPrefix(tc.key); got != tc.want {
			t.Errorf("ReservedTagPrefix(%q) = %q, want %q", tc.key, got, tc.want)
		}
	}
	for k := range trackingTagKeys {
		if ReservedTagPrefix(k) == "" {
			t.Errorf("tracking key %s is not under a reserved prefix", k)
		}
	}
}

func TestTagProblemAppliesAWSLimits(t *testing.T) {
	tests := []struct {
		name, key, value, want string
	}{
		{"fine", "team", "web", ""},
		{"unicode letters", "équipe", "été", ""},
		{"128-character key", strings.Repeat("k", 128), "v", ""},
		{"129-character key", strings.Repeat("k", 129), "v", "has 129 characters; AWS allows at most 128"},
		{"256-character value", "k", strings.Repeat("v", 256), ""},
		{"257-character value counted in characters", "k", strings.Repeat("é", 257), "has 257 characters; AWS allows at most 256"},
		{"reserved", "elbv2.k8s.aws/resource", "backend-sg", `tag key "elbv2.k8s.aws/resource" is reserved`},
		{"bad character", "a;b", "", "a character AWS does not accept"},
		{"empty key", "", "v", "a tag key is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reason, fix := TagProblem(tc.key, tc.value)
			if tc.want == "" {
				if reason != "" {
					t.Errorf("unexpected %q", reason)
				}
				return
			}
			if !strings.Contains(reason, tc.want) || fix == "" {
				t.Errorf("TagProblem = %q, %q; want %q and a fix", reason, fix, tc.want)
			}
			if len(reason) > 300 {
				t.Errorf("reason of %d characters", len(reason))
			}
		})
	}
}

// TestUserTagProblemReservesName guards issue 15 §1.4: a tag a Kubernetes object asks for
// lands on its managed SG, so Name would make that SG answer to other objects' references by
// name. Only the exact key is reserved (EC2's tag:Name filter keeps case); --default-tags,
// checked by TagProblem, may still set it.
func TestUserTagProblemReservesName(t *testing.T) {
	for _, key := range []string{"Name", " Name "} {
		reason, fix := UserTagProblem(key, "corp-only")
		if !strings.Contains(reason, `tag key "Name" is reserved`) || !strings.Contains(reason, "security-groups") || fix == "" {
			t.Errorf("UserTagProblem(%q) = %q, %q; want Name reserved, why, and a fix", key, reason, fix)
		}
	}
	for _, key := range []string{"name", "NAME", "Name2", "app/Name"} {
		if reason, _ := UserTagProblem(key, "x"); reason != "" {
			t.Errorf("UserTagProblem(%q) = %q, want no problem", key, reason)
		}
	}
	if reason, _ := UserTagProblem("elbv2.k8s.aws/resource", "x"); !strings.Contains(reason, "is reserved") {
		t.Errorf("UserTagProblem must keep the reserved prefixes: %q", reason)
	}
	if reason, _ := TagProblem("Name", "x"); reason != "" {
		t.Errorf("TagProblem(Name) = %q; the platform's --default-tags may set Name", reason)
	}
}

func TestValidateClusterNameKeepsRuleDescriptionsParseable(t *testing.T) {
	tests := []struct {
		name string
		want string // substring of the error; "" means valid
	}{
		{"prod", ""},
		{"my-cluster_1", ""},
		{"prod.k8s.example.com", ""},
		{strings.Repeat("a", 100), ""},
		{"", "kubernetes cluster name must be specified"},
		{"prod,eu", "no spaces, ',' or '='"},
		{"my cluster", "no spaces, ',' or '='"},
		{"a=b", "no spaces, ',' or '='"},
		{"-prod", "starting with a letter or digit"},
		{"prod/eu", "only letters, digits"},
		{strings.Repeat("a", 101), "at most 100 characters (it has 101)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateClusterName(tc.name)
			if tc.want == "" {
				if err != nil {
					t.Errorf("unexpected %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// Generated names go to AWS as they are: ELBv2 names have at most 32 characters, SG names at
// most 255, whatever the length of the namespace, name, group or cluster.
func TestGeneratedNamesFitAWSLimits(t *testing.T) {
	long := strings.Repeat("a1-", 200)
	cluster := strings.Repeat("c", MaxClusterNameLength)
	elb := map[string]string{
		"ServiceLBName":          ServiceLBName(cluster, long, long, long, "internet-facing"),
		"IngressLBName explicit": IngressLBName(cluster, true, "", long, "internal"),
		"IngressLBName implicit": IngressLBName(cluster, false, long, long, "internal"),
		"ServiceTargetGroupName": ServiceTargetGroupName(TargetGroupNameInput{Cluster: cluster, Namespace: long, Name: long, UID: long, Port: 65535, TargetGroupPort: 65535}),
		"IngressTargetGroupName": IngressTargetGroupName(IngressTargetGroupNameInput{Cluster: cluster, ServiceNamespace: long, ServiceName: long}),
	}
	for what, name := range elb {
		if len(name) > 32 {
			t.Errorf("%s has %d characters: %s", what, len(name), name)
		}
	}
	sg := map[string]string{
		"BackendSGName":      BackendSGName(strings.Repeat("c", 1000)),
		"ServiceSGName":      ServiceSGName(cluster, long, long, long),
		"IngressSGName":      IngressSGName(cluster, long, long),
		"IngressGroupSGName": IngressGroupSGName(cluster, long),
	}
	for what, name := range sg {
		if len(name) > 255 {
			t.Errorf("%s has %d characters", what, len(name))
		}
	}
	if k := NodeSGClusterTagPrefix + cluster; len(k) > MaxTagKeyLength {
		t.Errorf("node SG tag key of the longest cluster name has %d characters", len(k))
	}
}
