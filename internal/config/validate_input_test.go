package config

import (
	"fmt"
	"strings"
	"testing"
)

func TestValidateRejectsReservedDefaultTags(t *testing.T) {
	tests := []struct{ tag, want string }{
		{"elbv2.k8s.aws/resource=backend-sg", `tag key elbv2.k8s.aws/resource cannot be specified in default-tags flag: tag key "elbv2.k8s.aws/resource" is reserved`},
		{"elbv2.k8s.aws/owner=me", `invalid --default-tags: tag key "elbv2.k8s.aws/owner" is reserved: keys starting with "elbv2.k8s.aws/" are lbsg's tracking tags`},
		{"ingress.k8s.aws/anything=x", `tag key "ingress.k8s.aws/anything" is reserved`},
		{"service.k8s.aws/x=y", `tag key "service.k8s.aws/x" is reserved`},
		{"kubernetes.io/cluster/prod=owned", `tag key "kubernetes.io/cluster/prod" is reserved`},
		{"AWS:x=y", `tag key "AWS:x" is reserved: keys starting with "aws:" belong to AWS`},
		{"team=" + strings.Repeat("v", 257), `the value of tag "team" has 257 characters; AWS allows at most 256`},
	}
	for _, tc := range tests {
		t.Run(tc.tag[:min(len(tc.tag), 40)], func(t *testing.T) {
			err := mustParse(t, "--cluster-name=c", "--default-tags="+tc.tag).Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "fix: ") {
				t.Errorf("Validate() = %v, want %q and a fix", err, tc.want)
			}
		})
	}
	t.Run("too many", func(t *testing.T) {
		parts := make([]string, 48)
		for i := range parts {
			parts[i] = fmt.Sprintf("k%d=v", i)
		}
		err := mustParse(t, "--cluster-name=c", "--default-tags="+strings.Join(parts, ",")).Validate()
		if err == nil || !strings.Contains(err.Error(), "invalid --default-tags: 48 tags") {
			t.Errorf("Validate() = %v", err)
		}
	})
}

// TestValidateAcceptsNameInDefaultTags: Name is reserved in the tags Kubernetes objects ask
// for, not in the platform's --default-tags, which give every resource of every stack the
// same value (name resolution leaves lbsg's SGs out whatever their Name).
func TestValidateAcceptsNameInDefaultTags(t *testing.T) {
	if err := mustParse(t, "--cluster-name=c", "--default-tags=Name=eks-lb,team=platform").Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
}

func TestValidateRejectsUnusableClusterName(t *testing.T) {
	for _, name := range []string{"prod,eu", "my cluster", "a=b", strings.Repeat("c", 101)} {
		t.Run(name[:min(len(name), 20)], func(t *testing.T) {
			err := mustParse(t, "--cluster-name="+name).Validate()
			if err == nil || !strings.Contains(err.Error(), "invalid --cluster-name") {
				t.Errorf("Validate() = %v, want an invalid --cluster-name error", err)
			}
		})
	}
	if err := mustParse(t, "--cluster-name=prod.k8s.local").Validate(); err != nil {
		t.Errorf("Validate() = %v for a kops-style name", err)
	}
}
