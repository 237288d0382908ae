package plan

import (
	"github.com/lbsg/lbsg/internal/spec"
	"github.com/lbsg/lbsg/internal/state"
)

// ManagedSGDrifted reports whether a stack's managed SG as observed (have, the SGs that
// carry the stack's identity) differs from what its desired state wants in a way the
// stack's plan would change: client rules added or removed, or tags. It decides exactly as
// Stack does, so a stack it names has changes to apply, and one it does not name has none
// on its managed SG. A stack without a managed SG yet is not drift: creating it is the
// stack reconciler's first job, not a repair.
func ManagedSGDrifted(want *spec.SecurityGroup, have []state.SecurityGroup, keepTag func(string) bool) bool {
	if want == nil || len(have) == 0 {
		return false
	}
	b := &builder{}
	planManagedSG(b, want, have, keepTag)
	return len(b.changes) > 0
}
