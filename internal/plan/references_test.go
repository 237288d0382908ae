package plan

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lbsg/lbsg/internal/sgrules"
	"github.com/lbsg/lbsg/internal/state"
)

func TestMarkHeldDeletes(t *testing.T) {
	from := func(peer string, port int32) sgrules.Rule {
		return sgrules.Rule{Key: sgrules.Key{Protocol: "tcp", FromPort: port, ToPort: port, PeerKind: sgrules.PeerSG, Peer: peer}}
	}
	del := func(id string) Change { return Change{Op: OpDeleteSG, Target: Ref{Kind: KindSG, ID: id}} }
	revoke := func(id string, rules ...sgrules.Rule) Change {
		return Change{Op: OpRevoke, Target: Ref{Kind: KindSG, ID: id}, Rules: rules}
	}
	for _, tc := range []struct {
		name        string
		changes     []Change
		referencing []state.SecurityGroup
		want        map[string][]string // doomed SG -> HeldBy
	}{
		{name: "nothing refers to it", changes: []Change{del("sg-a")}, want: map[string][]string{"sg-a": nil}},
		{name: "a rule the plan revokes first does not hold it",
			changes:     []Change{revoke("sg-node", from("sg-a", 80)), del("sg-a")},
			referencing: []state.SecurityGroup{{ID: "sg-node", Ingress: []sgrules.Rule{from("sg-a", 80)}}},
			want:        map[string][]string{"sg-a": nil}},
		{name: "a rule the plan leaves holds it",
			changes:     []Change{revoke("sg-node", from("sg-a", 80)), del("sg-a")},
			referencing: []state.SecurityGroup{{ID: "sg-node", Ingress: []sgrules.Rule{from("sg-a", 80), from("sg-a", 5432)}}},
			want:        map[string][]string{"sg-a": {"sg-node"}}},
		{name: "a user's SG holds it; its own self-reference does not",
			changes: []Change{del("sg-a")},
			referencing: []state.SecurityGroup{
				{ID: "sg-a", Ingress: []sgrules.Rule{from("sg-a", 1)}},
				{ID: "sg-db", Ingress: []sgrules.Rule{from("sg-a", 5432)}},
				{ID: "sg-cache", Ingress: []sgrules.Rule{from("sg-a", 6379)}},
			},
			want: map[string][]string{"sg-a": {"sg-cache", "sg-db"}}},
		{name: "each deletion is held only by rules that refer to it",
			changes: []Change{del("sg-a"), del("sg-b")},
			referencing: []state.SecurityGroup{
				{ID: "sg-db", Ingress: []sgrules.Rule{from("sg-b", 5432), {Key: sgrules.Key{Protocol: "tcp", FromPort: 5432, ToPort: 5432, PeerKind: sgrules.PeerCIDR, Peer: "10.0.0.0/8"}}}},
			},
			want: map[string][]string{"sg-a": nil, "sg-b": {"sg-db"}}},
		{name: "a revoke after the deletion does not count", // plans revoke first; a later one is no help
			changes:     []Change{del("sg-a"), revoke("sg-node", from("sg-a", 80))},
			referencing: []state.SecurityGroup{{ID: "sg-node", Ingress: []sgrules.Rule{from("sg-a", 80)}}},
			want:        map[string][]string{"sg-a": {"sg-node"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Plan{Changes: tc.changes}
			MarkHeldDeletes(&p, tc.referencing)
			got := map[string][]string{}
			for _, c := range p.Changes {
				if c.Op == OpDeleteSG {
					got[c.Target.ID] = c.HeldBy
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("HeldBy (-want +got):\n%s", diff)
			}
			if d := Deleted(p); len(d) != len(tc.want) {
				t.Errorf("Deleted = %v, want %d SGs", d, len(tc.want))
			}
		})
	}
}
