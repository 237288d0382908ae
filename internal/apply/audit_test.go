package apply

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lbsg/lbsg/internal/audit"
	"github.com/lbsg/lbsg/internal/cloud"
	"github.com/lbsg/lbsg/internal/plan"
	"github.com/lbsg/lbsg/internal/sgrules"
)

// objectRecorder is an EC2 that records, for each rule write, the object its audit line
// names.
type objectRecorder struct {
	EC2
	objects []string
}

func (o *objectRecorder) AuthorizeIngress(ctx context.Context, sg string, _ []sgrules.Rule, _ map[string]string) error {
	o.objects = append(o.objects, "authorize "+sg+": "+audit.Object(ctx))
	return nil
}

func (o *objectRecorder) RevokeIngress(ctx context.Context, sg string, _ []sgrules.Rule) error {
	o.objects = append(o.objects, "revoke "+sg+": "+audit.Object(ctx))
	return nil
}

// TestTargetSGWritesAreAuditedForTheOwnersTheyServe: an authorize or revoke that names the
// owners its rules are for (plan.Change.For) is audited for them, not for every owner on
// the SG that the caller's context names; a change that names none keeps the caller's.
func TestTargetSGWritesAreAuditedForTheOwnersTheyServe(t *testing.T) {
	rec := &objectRecorder{EC2: cloud.NewObserverFromAPI(cloud.NewFakeEC2(), "vpc-1", nil)}
	x := &Executor{EC2: rec}
	sg := plan.Ref{Kind: plan.KindSG, ID: "sg-node"}
	ctx := audit.WithObject(context.Background(), "Service a/one, Service b/two, Service c/three")
	if _, err := x.Apply(ctx, plan.Plan{Changes: []plan.Change{
		{Op: plan.OpAuthorize, Target: sg, For: []string{"Service b/two"}},
		{Op: plan.OpRevoke, Target: sg, For: []string{plan.NoOwner}},
		{Op: plan.OpRevoke, Target: sg},
	}}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"authorize sg-node: Service b/two",
		"revoke sg-node: " + plan.NoOwner,
		"revoke sg-node: Service a/one, Service b/two, Service c/three",
	}
	if diff := cmp.Diff(want, rec.objects); diff != "" {
		t.Errorf("audited objects (-want +got):\n%s", diff)
	}
}
