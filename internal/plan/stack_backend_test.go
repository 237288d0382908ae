package plan

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/lbsg/lbsg/internal/spec"
	"github.com/lbsg/lbsg/internal/state"
)

// The shared backend SG is an ordinary change of a stack's plan: created with a key the
// load balancer's SG list refers to when it does not exist, re-tagged when its tags
// drifted, referred to by ID otherwise; and never when the user names it.
func TestStackPlansSharedBackendSGAsAChange(t *testing.T) {
	want := spec.SecurityGroup{Name: "k8s-traffic-prod-abc", Description: "shared", Tags: map[string]string{
		"elbv2.k8s.aws/cluster": "prod", "elbv2.k8s.aws/resource": "backend-sg", "team": "net"}}
	keep := func(k string) bool { return k == "Name" }
	for _, tc := range []struct {
		name     string
		dir      string
		backend  *BackendSGInput
		userSG   string
		wantOps  []Op // changes owned by the cluster, in order
		wantLBSG Ref
	}{
		{name: "missing: created, the new load balancer uses its key", dir: "first-round",
			backend: &BackendSGInput{Owner: "cluster/prod", Want: want, KeepTag: keep},
			wantOps: []Op{OpCreateSG}, wantLBSG: Ref{Kind: KindSG, Key: KeyBackendSG}},
		{name: "missing: created, the existing load balancer is switched to it", dir: "steady-state",
			backend: &BackendSGInput{Owner: "cluster/prod", Want: want, KeepTag: keep},
			wantOps: []Op{OpCreateSG}, wantLBSG: Ref{Kind: KindSG, Key: KeyBackendSG}},
		{name: "tags drifted: re-tagged, used by ID", dir: "first-round",
			backend: &BackendSGInput{Owner: "cluster/prod", Want: want, KeepTag: keep, Have: &state.SecurityGroup{ID: "sg-backend",
				Name: want.Name, Tags: map[string]string{"elbv2.k8s.aws/cluster": "prod", "elbv2.k8s.aws/resource": "backend-sg", "Name": "mine", "old": "x"}}},
			wantOps: []Op{OpTagSG}, wantLBSG: Ref{Kind: KindSG, ID: "sg-backend"}},
		{name: "as wanted: used by ID, unchanged", dir: "first-round",
			backend: &BackendSGInput{Owner: "cluster/prod", Want: want, KeepTag: keep, Have: &state.SecurityGroup{ID: "sg-backend",
				Name: want.Name, Tags: want.Tags}},
			wantLBSG: Ref{Kind: KindSG, ID: "sg-backend"}},
		{name: "named by the user: neither created nor tagged", dir: "first-round", userSG: "sg-user",
			wantLBSG: Ref{Kind: KindSG, ID: "sg-user"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := readGoldenInput(t, filepath.Join("testdata", tc.dir))
			d := *in.Stack.Desired
			d.LoadBalancer.UseBackendSG = true
			in.Stack.Desired = &d
			in.Stack.Resolved.BackendSGID = tc.userSG
			in.Stack.BackendSG = tc.backend
			p := Stack(*in.Stack, in.Owner)
			var ops []Op
			var lbSGs []Ref
			for _, c := range p.Changes {
				if c.Owner == "cluster/prod" {
					ops = append(ops, c.Op)
					if c.Op == OpTagSG && (c.Tags["team"] != "net" || !slices.Equal(c.Untag, []string{"old"})) {
						t.Errorf("re-tag sets %v and removes %v, want team=net set and old removed (Name kept)", c.Tags, c.Untag)
					}
				}
				if c.Op == OpCreateLB || c.Op == OpSetLBSGs {
					lbSGs = c.SGs
				}
			}
			if !slices.Equal(ops, tc.wantOps) {
				t.Errorf("backend SG changes = %v, want %v; plan:\n%s", ops, tc.wantOps, render(t, p))
			}
			if tc.wantOps != nil && p.Changes[0].Op != tc.wantOps[0] {
				t.Errorf("the backend SG change is not first:\n%s", render(t, p))
			}
			if !slices.Contains(lbSGs, tc.wantLBSG) && !(tc.dir == "steady-state" && tc.wantLBSG.ID != "") {
				t.Errorf("load balancer SGs = %v, want them to include %v; plan:\n%s", lbSGs, tc.wantLBSG, render(t, p))
			}
		})
	}
}
