package v1beta1_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"

	"github.com/lbsg/lbsg/api/v1beta1"
)

// fullParams sets every field of the spec.
func fullParams() *v1beta1.IngressClassParams {
	return &v1beta1.IngressClassParams{
		TypeMeta:   metav1.TypeMeta{APIVersion: "elbv2.k8s.aws/v1beta1", Kind: "IngressClassParams"},
		ObjectMeta: metav1.ObjectMeta{Name: "alb"},
		Spec: v1beta1.IngressClassParamsSpec{
			NamespaceSelector:    &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}},
			Group:                &v1beta1.IngressGroup{Name: "shared"},
			Scheme:               new(v1beta1.SchemeInternetFacing),
			IPAddressType:        new(v1beta1.IPAddressTypeDualStackWithoutPublicIPv4),
			InboundCIDRs:         []string{"10.0.0.0/8", "2001:db8::/32"},
			PrefixListsIDs:       []string{"pl-new"},
			PrefixListsIDsLegacy: []string{"pl-old"},
			Tags:                 []v1beta1.Tag{{Key: "team", Value: "a"}, {Key: "env", Value: ""}},
			Subnets: &v1beta1.SubnetSelector{
				IDs:  []string{"subnet-0abc"},
				Tags: map[string][]string{"kubernetes.io/role/elb": {"1", ""}},
			},
			CertificateArn: []string{"arn:aws:acm:us-west-2:123456789012:certificate/x"},
		},
	}
}

func TestJSONRoundTrip(t *testing.T) {
	in := fullParams()
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Spec map[string]json.RawMessage `json:"spec"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"namespaceSelector", "group", "scheme", "ipAddressType", "inboundCIDRs",
		"prefixListsIDs", "PrefixListsIDs", "tags", "subnets", "certificateArn"} {
		if _, ok := raw.Spec[k]; !ok {
			t.Errorf("spec key %q missing from %s", k, b)
		}
	}
	if got, want := string(raw.Spec["prefixListsIDs"]), `["pl-new"]`; got != want {
		t.Errorf("prefixListsIDs = %s, want %s", got, want)
	}
	if got, want := string(raw.Spec["PrefixListsIDs"]), `["pl-old"]`; got != want {
		t.Errorf("PrefixListsIDs = %s, want %s", got, want)
	}

	var out v1beta1.IngressClassParams
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(in, &out); d != "" {
		t.Errorf("encoding/json round trip (-in +out):\n%s", d)
	}

	// The API machinery's decoder is case-sensitive, unlike encoding/json; both keys must
	// still land in their own fields.
	sch := runtime.NewScheme()
	if err := v1beta1.AddToScheme(sch); err != nil {
		t.Fatal(err)
	}
	obj, gvk, err := serializer.NewCodecFactory(sch).UniversalDeserializer().Decode(b, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if gvk.GroupVersion() != v1beta1.GroupVersion || gvk.Kind != "IngressClassParams" {
		t.Errorf("decoded as %v", gvk)
	}
	if d := cmp.Diff(in, obj); d != "" {
		t.Errorf("API machinery round trip (-in +out):\n%s", d)
	}

	if cp := in.DeepCopy(); cmp.Diff(in, cp) != "" {
		t.Error("DeepCopy differs from the original")
	} else {
		cp.Spec.Subnets.Tags["kubernetes.io/role/elb"][0] = "changed"
		cp.Spec.PrefixListsIDsLegacy[0] = "changed"
		if d := cmp.Diff(fullParams(), in); d != "" {
			t.Errorf("changing the DeepCopy changed the original:\n%s", d)
		}
	}
}

func TestPrefixListsKeys(t *testing.T) {
	for _, tc := range []struct {
		name, spec string
		new, old   []string
		want       []string
	}{
		{"new key", `{"prefixListsIDs":["pl-1","pl-2"]}`, []string{"pl-1", "pl-2"}, nil, []string{"pl-1", "pl-2"}},
		{"legacy key", `{"PrefixListsIDs":["pl-3"]}`, nil, []string{"pl-3"}, []string{"pl-3"}},
		{"both keys", `{"PrefixListsIDs":["pl-3"],"prefixListsIDs":["pl-1"]}`, []string{"pl-1"}, []string{"pl-3"}, []string{"pl-1"}},
		{"empty new key", `{"prefixListsIDs":[],"PrefixListsIDs":["pl-3"]}`, []string{}, []string{"pl-3"}, []string{"pl-3"}},
		{"neither", `{}`, nil, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s v1beta1.IngressClassParamsSpec
			if err := json.Unmarshal([]byte(tc.spec), &s); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.new, s.PrefixListsIDs); d != "" {
				t.Errorf("PrefixListsIDs (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.old, s.PrefixListsIDsLegacy); d != "" {
				t.Errorf("PrefixListsIDsLegacy (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tc.want, s.PrefixLists()); d != "" {
				t.Errorf("PrefixLists() (-want +got):\n%s", d)
			}
			b, err := json.Marshal(&s)
			if err != nil {
				t.Fatal(err)
			}
			var back v1beta1.IngressClassParamsSpec
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, back.PrefixLists()); d != "" {
				t.Errorf("PrefixLists() after a round trip through %s (-want +got):\n%s", b, d)
			}
		})
	}
}
