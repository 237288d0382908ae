package install

import (
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/lbsg/lbsg/internal/iampolicy"
)

func opts() Options {
	return Options{ClusterName: "my-cluster", Region: "us-west-2", VPCID: "vpc-0123456789abcdef0",
		RoleARN: "arn:aws:iam::111122223333:role/lbsg-my-cluster", Image: "registry.example.com:5000/lbsg:v0.1.0"}
}

// TestRenderForTheLongestClusterName: every name IAM gets stays within IAM's limits (a
// policy name 128 characters, a document 6,144), and the policies are lbsg iam-policy's
// documents for the role's partition and account.
func TestRenderForTheLongestClusterName(t *testing.T) {
	o := opts()
	o.ClusterName = strings.Repeat("c", 100)
	o.RoleARN = "arn:aws-us-gov:iam::111122223333:role/platform/" + strings.Repeat("r", 64)
	b, err := Render(o)
	if err != nil {
		t.Fatal(err)
	}
	want, err := iampolicy.Managed(iampolicy.Options{ClusterName: o.ClusterName, Partition: "aws-us-gov", Region: o.Region,
		AccountID: "111122223333", VPCID: o.VPCID})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Policies) != len(want) {
		t.Fatalf("%d policies, want %d", len(b.Policies), len(want))
	}
	for i, p := range b.Policies {
		if len(p.Name) > 128 || iampolicy.Size(p.Document) > iampolicy.ManagedPolicyMaxChars {
			t.Errorf("policy %s: name of %d characters, document of %d", p.Name, len(p.Name), iampolicy.Size(p.Document))
		}
		if !strings.HasPrefix(p.ARN, "arn:aws-us-gov:iam::111122223333:policy/lbsg-") {
			t.Errorf("policy ARN %s", p.ARN)
		}
		if got, _ := iampolicy.Encode(p.Document); string(got) != string(mustEncode(t, want[i])) {
			t.Errorf("policy %d is not lbsg iam-policy's document %d", i+1, i+1)
		}
	}
	if b.Role.Name != strings.Repeat("r", 64) || b.Role.Path != "/platform/" {
		t.Errorf("role %+v", b.Role)
	}
}

func mustEncode(t *testing.T, d iampolicy.Document) []byte {
	t.Helper()
	raw, err := iampolicy.Encode(d)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestRenderValues(t *testing.T) {
	b, err := Render(opts())
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		ClusterName    string `json:"clusterName"`
		Region         string `json:"region"`
		VPCID          string `json:"vpcId"`
		Image          struct{ Repository, Tag string }
		ServiceAccount struct{ Annotations map[string]string }
	}
	if err := yaml.UnmarshalStrict(b.Values, &v); err != nil {
		t.Fatal(err)
	}
	if v.ClusterName != "my-cluster" || v.Region != "us-west-2" || v.VPCID != "vpc-0123456789abcdef0" ||
		v.Image.Repository != "registry.example.com:5000/lbsg" || v.Image.Tag != "v0.1.0" ||
		v.ServiceAccount.Annotations["eks.amazonaws.com/role-arn"] != opts().RoleARN {
		t.Errorf("values:\n%s", b.Values)
	}
	if b.ValuesFile != "lbsg-my-cluster/values.yaml" || b.ServiceAccount != "lbsg" {
		t.Errorf("values file %s, service account %s", b.ValuesFile, b.ServiceAccount)
	}
	o := opts()
	o.Release = "platform"
	if b, _ := Render(o); b.ServiceAccount != "platform-lbsg" {
		t.Errorf("release platform: service account %s, want the chart's full name platform-lbsg", b.ServiceAccount)
	}
}

func TestRenderRefusesBadInput(t *testing.T) {
	for name, mod := range map[string]func(*Options){
		"no cluster":         func(o *Options) { o.ClusterName = "" },
		"cluster with ,":     func(o *Options) { o.ClusterName = "a,b" },
		"region":             func(o *Options) { o.Region = "west" },
		"vpc":                func(o *Options) { o.VPCID = "vpc-*" },
		"role ARN":           func(o *Options) { o.RoleARN = "arn:aws:iam::111122223333:user/me" },
		"role name too long": func(o *Options) { o.RoleARN = "arn:aws:iam::111122223333:role/" + strings.Repeat("r", 65) },
		"image without tag":  func(o *Options) { o.Image = "registry.example.com/lbsg" },
		"namespace":          func(o *Options) { o.Namespace = "Kube_System" },
	} {
		o := opts()
		mod(&o)
		if _, err := Render(o); err == nil {
			t.Errorf("%s: Render(%+v) succeeded", name, o)
		}
	}
}
