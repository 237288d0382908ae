package apply

import (
	"context"
	"errors"
	"testing"

	"github.com/lbsg/lbsg/internal/cloud"
	"github.com/lbsg/lbsg/internal/plan"
	"github.com/lbsg/lbsg/internal/sgrules"
	"github.com/lbsg/lbsg/internal/spec"
)

// The emulator never answers DependencyViolation; the in-memory fake does, so this is
// where deletion's retry contract is checked.
func TestApplyClassifiesFailures(t *testing.T) {
	tests := []struct {
		name      string
		code      string
		wantRetry bool
	}{
		{"dependency violation is retried later", "DependencyViolation", true},
		{"security group in use is retried later", "InvalidGroup.InUse", true},
		{"throttling is retried later", "RequestLimitExceeded", true},
		{"a permission error is returned as is", "UnauthorizedOperation", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := cloud.NewFakeEC2()
			fake.Fail = func(action string) error {
				if action == "DeleteSecurityGroup" {
					return cloud.FakeAPIError(tt.code)
				}
				return nil
			}
			obs := cloud.NewObserverFromAPI(fake, "vpc-1", nil)
			x := &Executor{EC2: obs, VPCID: "vpc-1"}
			ctx := context.Background()
			res, err := x.Apply(ctx, plan.Plan{Changes: []plan.Change{
				{Op: plan.OpCreateSG, Target: plan.Ref{Kind: plan.KindSG, Key: "managed-sg"},
					SG: &spec.SecurityGroup{Name: "k8s-a", Description: "d", Tags: map[string]string{"elbv2.k8s.aws/cluster": "c"}}},
				{Op: plan.OpAuthorize, Target: plan.Ref{Kind: plan.KindSG, Key: "managed-sg"},
					Rules: []sgrules.Rule{{Key: sgrules.Key{Protocol: "tcp", FromPort: 80, ToPort: 80, PeerKind: sgrules.PeerCIDR, Peer: "0.0.0.0/0"}}}},
				{Op: plan.OpDeleteSG, Target: plan.Ref{Kind: plan.KindSG, ID: "sg-doomed"}},
			}})
			if res.Applied != 2 || res.IDs["managed-sg"] == "" {
				t.Fatalf("applied %d changes, ids %v; want the create and the authorize done", res.Applied, res.IDs)
			}
			var retry *RetryError
			if got := errors.As(err, &retry); got != tt.wantRetry {
				t.Fatalf("error %v: retry = %t, want %t", err, got, tt.wantRetry)
			}
			if cloud.ErrorCode(err) != tt.code {
				t.Errorf("error code = %q, want %q kept for the caller", cloud.ErrorCode(err), tt.code)
			}
		})
	}
}

func TestApplyUnknownKey(t *testing.T) {
	x := &Executor{EC2: cloud.NewObserverFromAPI(cloud.NewFakeEC2(), "vpc-1", nil)}
	_, err := x.Apply(context.Background(), plan.Plan{Changes: []plan.Change{
		{Op: plan.OpAuthorize, Target: plan.Ref{Kind: plan.KindSG, Key: "never-created"}},
	}})
	if err == nil {
		t.Fatal("authorize on an SG the plan never created succeeded")
	}
}
