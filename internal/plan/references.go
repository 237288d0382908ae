package plan

import (
	"slices"

	"github.com/lbsg/lbsg/internal/sgrules"
	"github.com/lbsg/lbsg/internal/state"
)

// Deleted are the existing SGs the plan deletes, in plan order.
func Deleted(p Plan) []string {
	var ids []string
	for _, c := range p.Changes {
		if c.Op == OpDeleteSG && c.Target.ID != "" && !slices.Contains(ids, c.Target.ID) {
			ids = append(ids, c.Target.ID)
		}
	}
	return ids
}

// MarkHeldDeletes sets HeldBy on every SG deletion of p: the SGs of referencing (the SGs
// with a rule whose source is a doomed SG, read fresh right before planning the deletion)
// that still have such a rule once the plan's own revokes ran. AWS refuses to delete an
// SG another SG's rule refers to; knowing it from the read the plan needed anyway lets the
// executor name the blocker without asking AWS again or attempting the deletion. A rule
// of the doomed SG that refers to itself does not hold it.
func MarkHeldDeletes(p *Plan, referencing []state.SecurityGroup) {
	revoked := map[string]map[sgrules.Key]bool{}
	for i := range p.Changes {
		c := &p.Changes[i]
		switch c.Op {
		case OpRevoke:
			if revoked[c.Target.ID] == nil {
				revoked[c.Target.ID] = map[sgrules.Key]bool{}
			}
			for _, r := range c.Rules {
				revoked[c.Target.ID][r.Key] = true
			}
		case OpDeleteSG:
			c.HeldBy = nil
			for _, g := range referencing {
				if g.ID == c.Target.ID {
					continue
				}
				for _, r := range g.Ingress {
					if r.PeerKind == sgrules.PeerSG && r.Peer == c.Target.ID && !revoked[g.ID][r.Key] {
						c.HeldBy = append(c.HeldBy, g.ID)
						break
					}
				}
			}
			slices.Sort(c.HeldBy)
		}
	}
}
