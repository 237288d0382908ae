package apply

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/lbsg/lbsg/internal/cloud"
	"github.com/lbsg/lbsg/internal/plan"
	"github.com/lbsg/lbsg/internal/sgrules"
	"github.com/lbsg/lbsg/internal/spec"
)

func TestPlanChangesCountedByOperationAndOutcome(t *testing.T) {
	fake := cloud.NewFakeEC2()
	fake.Fail = func(action string) error {
		if action == "DeleteSecurityGroup" {
			return cloud.FakeAPIError("UnauthorizedOperation")
		}
		return nil
	}
	reg := prometheus.NewPedanticRegistry()
	x := &Executor{EC2: cloud.NewObserverFromAPI(fake, "vpc-1", nil), VPCID: "vpc-1", Changes: NewChangeCounter(reg)}
	if again := NewChangeCounter(reg); again != x.Changes {
		t.Error("a second counter on the same registry is not the registered one")
	}
	rule := sgrules.Rule{Key: sgrules.Key{Protocol: "tcp", FromPort: 80, ToPort: 80, PeerKind: sgrules.PeerCIDR, Peer: "0.0.0.0/0"}}
	_, _ = x.Apply(context.Background(), plan.Plan{Changes: []plan.Change{
		{Op: plan.OpCreateSG, Target: plan.Ref{Kind: plan.KindSG, Key: "sg"},
			SG: &spec.SecurityGroup{Name: "k8s-a", Description: "d", Tags: map[string]string{"elbv2.k8s.aws/cluster": "c"}}},
		{Op: plan.OpAuthorize, Target: plan.Ref{Kind: plan.KindSG, Key: "sg"}, Rules: []sgrules.Rule{rule}},
		{Op: plan.OpDeleteSG, Target: plan.Ref{Kind: plan.KindSG, ID: "sg-doomed"}},
	}})
	for _, tt := range []struct {
		op, outcome string
		want        float64
	}{
		{"create-sg", "ok", 1}, {"authorize", "ok", 1}, {"delete-sg", "UnauthorizedOperation", 1},
	} {
		if got := testutil.ToFloat64(x.Changes.WithLabelValues(tt.op, tt.outcome)); got != tt.want {
			t.Errorf("lbsg_plan_changes_total{op=%s,outcome=%s} = %v, want %v", tt.op, tt.outcome, got, tt.want)
		}
	}
}
