package cloud

import (
	"context"
	"testing"

	"github.com/lbsg/lbsg/internal/sgrules"
)

// TestWriteThroughSGCreateJoinsCachedSearchWithoutARead: an SG lbsg creates joins the
// cached searches its tags match (and only those), with no describe; one created by
// another process joins them when a fresh search finds it.
func TestWriteThroughSGCreateJoinsCachedSearchWithoutARead(t *testing.T) {
	ctx := context.Background()
	fake := NewFakeEC2()
	o := NewObserverFromAPI(fake, "vpc-1", nil)
	other := NewObserverFromAPI(fake, "vpc-1", nil)
	cluster := map[string][]string{"elbv2.k8s.aws/cluster": {"prod"}}
	elsewhere := map[string][]string{"elbv2.k8s.aws/cluster": {"test"}}
	for _, f := range []map[string][]string{cluster, elsewhere} {
		if _, err := o.FindSecurityGroups(ctx, f, false); err != nil {
			t.Fatal(err)
		}
	}
	before := fake.Calls()["DescribeSecurityGroups"]
	id, err := o.CreateSecurityGroup(ctx, "k8s-web", "d", map[string]string{"elbv2.k8s.aws/cluster": "prod", "service.k8s.aws/stack": "shop/web"})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.AuthorizeIngress(ctx, id, []sgrules.Rule{{Key: sgrules.Key{Protocol: "tcp", FromPort: 80, ToPort: 80, PeerKind: sgrules.PeerCIDR, Peer: "10.0.0.0/8"}}}, nil); err != nil {
		t.Fatal(err)
	}
	got, _ := o.FindSecurityGroups(ctx, cluster, false)
	if len(got) != 1 || got[0].ID != id || len(got[0].Ingress) != 1 {
		t.Errorf("cluster search after create and authorize = %+v, want the new SG with its rule", got)
	}
	if got, _ := o.FindSecurityGroups(ctx, elsewhere, false); len(got) != 0 {
		t.Errorf("a search the SG does not match holds it: %+v", got)
	}
	if n := fake.Calls()["DescribeSecurityGroups"] - before; n != 0 {
		t.Errorf("reading back lbsg's own writes made %d describes, want 0", n)
	}

	// Created by another process: a fresh search by the stack's tags finds it, and the
	// cached cluster search then holds it too.
	id2, err := other.CreateSecurityGroup(ctx, "k8s-api", "d", map[string]string{"elbv2.k8s.aws/cluster": "prod", "service.k8s.aws/stack": "shop/api"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.FindSecurityGroups(ctx, map[string][]string{"service.k8s.aws/stack": {"shop/api"}}, true); err != nil {
		t.Fatal(err)
	}
	before = fake.Calls()["DescribeSecurityGroups"]
	got, _ = o.FindSecurityGroups(ctx, cluster, false)
	if len(got) != 2 || (got[0].ID != id2 && got[1].ID != id2) {
		t.Errorf("cluster search after a fresh search found another process's SG = %+v, want both", got)
	}
	if n := fake.Calls()["DescribeSecurityGroups"] - before; n != 0 {
		t.Errorf("cluster search made %d describes, want 0", n)
	}

	// Deleted: it leaves the searches.
	if err := o.DeleteSecurityGroup(ctx, id); err != nil {
		t.Fatal(err)
	}
	if got, _ := o.FindSecurityGroups(ctx, cluster, false); len(got) != 1 || got[0].ID != id2 {
		t.Errorf("cluster search after delete = %+v, want only %s", got, id2)
	}
}
