package plan

import (
	"slices"
	"strings"
	"testing"

	"github.com/lbsg/lbsg/internal/authz"
	"github.com/lbsg/lbsg/internal/naming"
)

// sgWorld is a VPC with an SG of every kind of owner, seen from Service team-a/web.
func sgWorld() SGRefsInput {
	const vpc = "vpc-1"
	stack := func(key, value string) map[string]string {
		return map[string]string{naming.TagCluster: "prod", key: value, naming.ServiceResourceTag: naming.ManagedSGResourceID}
	}
	all := []SGCandidate{
		{ID: "sg-own", VPCID: vpc, Tags: stack(naming.ServiceStackTag, "team-a/web")},
		{ID: "sg-samens", VPCID: vpc, Tags: stack(naming.ServiceStackTag, "team-a/db")},
		{ID: "sg-squat", VPCID: vpc, Tags: map[string]string{naming.TagCluster: "prod", naming.ServiceStackTag: "team-b/evil", "Name": "corp-only"}},
		{ID: "sg-group", VPCID: vpc, Tags: stack(naming.IngressStackTag, "shop")},
		{ID: "sg-backend", VPCID: vpc, Tags: map[string]string{naming.TagCluster: "prod", naming.TagResource: naming.BackendSGResourceValue, "Name": "backend"}},
		{ID: "sg-platformbackend", VPCID: vpc, Tags: map[string]string{"Name": "platform-backend"}},
		{ID: "sg-othercluster", VPCID: vpc, Tags: map[string]string{naming.TagCluster: "dev", naming.ServiceStackTag: "team-a/web", "Name": "dev-web"}},
		{ID: "sg-unattributed", VPCID: vpc, Tags: map[string]string{naming.TagCluster: "prod"}},
		{ID: "sg-corp", VPCID: vpc, Tags: map[string]string{"Name": "corp-only"}},
		{ID: "sg-corp2", VPCID: vpc, Tags: map[string]string{"Name": "corp-only"}},
		{ID: "sg-partner", VPCID: vpc, Tags: map[string]string{"Name": "partner"}},
		{ID: "sg-elsewhere", VPCID: "vpc-2", Tags: map[string]string{"Name": "elsewhere"}},
	}
	in := SGRefsInput{
		From: authz.Subject{Kind: "Service", Namespace: "team-a", Name: "web"}, Key: "security-groups", VPCID: vpc,
		Classifier:  authz.Classifier{Cluster: "prod", Self: authz.StackTag{Key: naming.ServiceStackTag, Value: "team-a/web"}},
		BackendSGID: "sg-platformbackend",
		ByID:        map[string]SGCandidate{},
	}
	for _, c := range all {
		in.ByID[c.ID] = c
		if c.VPCID == vpc && c.Tags["Name"] != "" {
			in.Named = append(in.Named, c)
		}
	}
	return in
}

// TestResolveSGRefs guards issue 15 §1.4 and §1.10: a reference by ID to an SG another
// stack, the backend SG role or another cluster holds is denied, and a name never resolves
// to such an SG (left out next to allowed SGs of the name, denied when it is all the name
// finds).
func TestResolveSGRefs(t *testing.T) {
	tests := []struct {
		name                    string
		refs                    []string
		ids, missing, foreign   []string
		denied, leftOut         []string // IDs
		deniedValue, leftOutVal string
	}{
		{name: "own managed SG by ID", refs: []string{"sg-own"}, ids: []string{"sg-own"}},
		{name: "external SGs by ID and name, in order, once each", refs: []string{"partner", "sg-corp", "sg-partner", "corp-only"},
			ids: []string{"sg-partner", "sg-corp", "sg-corp2"}, leftOut: []string{"sg-squat"}, leftOutVal: "corp-only"},
		{name: "another stack's SG of the namespace by ID", refs: []string{"sg-samens"}, denied: []string{"sg-samens"}, deniedValue: "sg-samens"},
		{name: "another namespace's managed SG by ID", refs: []string{"sg-squat"}, denied: []string{"sg-squat"}},
		{name: "an Ingress group's SG by ID", refs: []string{"sg-group"}, denied: []string{"sg-group"}},
		{name: "the backend SG by ID", refs: []string{"sg-backend"}, denied: []string{"sg-backend"}},
		{name: "the backend SG by name", refs: []string{"backend"}, denied: []string{"sg-backend"}, deniedValue: "backend"},
		{name: "the platform's backend SG by ID", refs: []string{"sg-platformbackend"}, denied: []string{"sg-platformbackend"}},
		{name: "the platform's backend SG by name", refs: []string{"platform-backend"}, denied: []string{"sg-platformbackend"}},
		{name: "another cluster's SG by name", refs: []string{"dev-web"}, denied: []string{"sg-othercluster"}},
		{name: "an SG with the cluster tag alone", refs: []string{"sg-unattributed"}, denied: []string{"sg-unattributed"}},
		{name: "a squatted name with the real SGs", refs: []string{"corp-only"}, ids: []string{"sg-corp", "sg-corp2"},
			leftOut: []string{"sg-squat"}, leftOutVal: "corp-only"},
		{name: "unknown ID and name", refs: []string{"sg-nope", "nope", "partner"}, ids: []string{"sg-partner"}, missing: []string{"sg-nope", "nope"}},
		{name: "an SG of another VPC", refs: []string{"sg-elsewhere", "sg-elsewhere"}, foreign: []string{"sg-elsewhere"}},
		{name: "a duplicate denied reference is denied once", refs: []string{"sg-backend", "sg-backend"}, denied: []string{"sg-backend"}},
	}
	ids := func(ds []authz.Denial) []string {
		var out []string
		for _, d := range ds {
			out = append(out, d.Reference.ID)
		}
		return out
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := sgWorld()
			in.Refs = tt.refs
			got := ResolveSGRefs(in)
			var foreign []string
			for _, f := range got.Foreign {
				foreign = append(foreign, f.ID)
			}
			for _, c := range []struct {
				what      string
				got, want []string
			}{{"ids", got.IDs, tt.ids}, {"missing", got.Missing, tt.missing}, {"foreign", foreign, tt.foreign},
				{"denied", ids(got.Denied), tt.denied}, {"left out", ids(got.LeftOut), tt.leftOut}} {
				if !slices.Equal(c.got, c.want) {
					t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
				}
			}
			for _, id := range got.IDs {
				if _, ok := got.Tags[id]; !ok {
					t.Errorf("no tags for %s", id)
				}
			}
			for _, d := range append(got.Denied, got.LeftOut...) {
				if d.Decision.Allowed || d.Decision.Reason == "" || d.Decision.Fix == "" || d.Reference.Key != "security-groups" {
					t.Errorf("denial without reason, fix or key: %+v", d)
				}
			}
			if tt.deniedValue != "" && got.Denied[0].Reference.Value != tt.deniedValue {
				t.Errorf("denied value %q, want the reference as written, %q", got.Denied[0].Reference.Value, tt.deniedValue)
			}
			if tt.leftOutVal != "" && got.LeftOut[0].Reference.Value != tt.leftOutVal {
				t.Errorf("left-out value %q, want %q", got.LeftOut[0].Reference.Value, tt.leftOutVal)
			}
		})
	}
}

// TestResolveSGRefsNamesTheOwner: a denial names the reference, the SG, its owner and its
// namespace, and the fix.
func TestResolveSGRefsNamesTheOwner(t *testing.T) {
	in := sgWorld()
	in.Refs = []string{"sg-squat", "backend"}
	got := ResolveSGRefs(in)
	if len(got.Denied) != 2 {
		t.Fatalf("denied %v", got.Denied)
	}
	for i, want := range [][]string{
		{`security-groups "sg-squat"`, "sg-squat", "Service team-b/evil", "namespace team-b", "name a security group of your own"},
		{`security-groups "backend"`, "shared backend security group", "name a security group of your own"},
	} {
		msg := got.Denied[i].Error()
		for _, w := range want {
			if !strings.Contains(msg, w) {
				t.Errorf("message %q lacks %q", msg, w)
			}
		}
	}
}
