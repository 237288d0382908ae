package plan

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lbsg/lbsg/internal/spec"
)

// TestDesiredSGsKeepManagedNextToUserSGs: the load balancer's SGs are, in order, the
// managed SG, the user SGs kept next to it (manage-frontend-security-group), then the
// backend SG; a custom frontend has only the user SGs and the backend SG.
func TestDesiredSGsKeepManagedNextToUserSGs(t *testing.T) {
	managed := Ref{Kind: KindSG, Key: "managed"}
	tests := []struct {
		name     string
		frontend spec.Frontend
		backend  bool
		want     []Ref
	}{
		{"managed with user SGs and backend", spec.FrontendManaged, true,
			[]Ref{managed, {Kind: KindSG, ID: "sg-u1"}, {Kind: KindSG, ID: "sg-u2"}, {Kind: KindSG, ID: "sg-back"}}},
		{"managed with user SGs", spec.FrontendManaged, false,
			[]Ref{managed, {Kind: KindSG, ID: "sg-u1"}, {Kind: KindSG, ID: "sg-u2"}}},
		{"custom", spec.FrontendCustom, true,
			[]Ref{{Kind: KindSG, ID: "sg-u1"}, {Kind: KindSG, ID: "sg-u2"}, {Kind: KindSG, ID: "sg-back"}}},
		{"none", spec.FrontendNone, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &spec.Stack{LoadBalancer: spec.LoadBalancer{Frontend: tt.frontend, UseBackendSG: tt.backend}}
			in := StackInput{Resolved: Resolved{CustomSGIDs: []string{"sg-u1", "sg-u2"}, BackendSGID: "sg-back"}}
			if diff := cmp.Diff(tt.want, desiredSGs(d, in, managed, Ref{})); diff != "" {
				t.Errorf("SGs mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
