package plan

import (
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lbsg/lbsg/internal/naming"
)

// A printed plan never shows a reference without an ID or key: "(new )" means a payload
// Ref was left empty.
func TestWriteNoEmptyRefs(t *testing.T) {
	for _, dir := range caseDirs(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			in := readGoldenInput(t, dir)
			out := render(t, in.firstPlan())
			for _, line := range strings.Split(out, "\n") {
				if strings.Contains(line, "(new )") {
					t.Errorf("printed plan shows an empty reference: %q", line)
				}
			}
		})
	}
}

// When the scheme changes the NLB is replaced (its name hashes the scheme) while the
// target groups are kept. An NLB target group can be attached to one load balancer only,
// so the old NLB must be deleted before a listener of the new one forwards to a target
// group the old one still uses.
func TestStackReplaceLBFreesTargetGroupsFirst(t *testing.T) {
	in := readGoldenInput(t, filepath.Join("testdata", "steady-state"))
	d := *in.Stack.Desired
	d.LoadBalancer.Scheme = "internal"
	d.LoadBalancer.Name = "k8s-shop-web-0123456789"
	in.Stack.Desired = &d
	old := in.Stack.Observed.LoadBalancers[0].ARN
	usedByOld := map[string]bool{}
	for _, l := range in.Stack.Observed.Listeners[old] {
		usedByOld[l.TargetGroupARN] = true
	}
	p := Stack(*in.Stack, in.Owner)
	deleted := false
	for _, c := range p.Changes {
		switch {
		case c.Op == OpDeleteLB && c.Target.ID == old:
			deleted = true
		case (c.Op == OpCreateListener || c.Op == OpModifyListener) && usedByOld[c.Listener.TargetGroup.ID] && !deleted:
			t.Errorf("%s on port %d forwards to %s while the old load balancer %s still uses it (TargetGroupAssociationLimit); plan:\n%s",
				c.Op, c.Listener.Port, c.Listener.TargetGroup.ID, old, render(t, p))
			return
		}
	}
	if !deleted {
		t.Errorf("the old load balancer is not deleted:\n%s", render(t, p))
	}
}

// TestManagedSGLosesAUserSetNameTag guards issue 15 §1.4: a Name tag put on a managed SG
// (by an annotation before Name was reserved, or by hand) is not the user's: tag
// reconciliation removes it, so the SG stops answering to security-groups references of
// that name. The backend SG keeps its Name, its label in the console.
func TestManagedSGLosesAUserSetNameTag(t *testing.T) {
	in := readGoldenInput(t, filepath.Join("testdata", "steady-state"))
	in.Stack.KeepTag = func(k string) bool { return naming.IsIgnoredTagKey(k, "prod") }
	sg := &in.Stack.Observed.ManagedSGs[0]
	sg.Tags = maps.Clone(sg.Tags)
	sg.Tags[naming.NameTagKey] = "corp-only"
	p := Stack(*in.Stack, in.Owner)
	for _, c := range p.Changes {
		if c.Op == OpTagSG && c.Target.ID == sg.ID && slices.Contains(c.Untag, naming.NameTagKey) {
			return
		}
	}
	t.Errorf("the managed SG keeps its Name tag; plan:\n%s", render(t, p))
}
