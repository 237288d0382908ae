package apply

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/google/go-cmp/cmp"

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

// TestDeleteBlockedSGNamesTheBlocker guards issue 6 case 8: deleting an SG that a user's
// rule on another SG refers to (or that an interface uses) must not fail silently. The
// error is a RetryError whose message names the SG that holds it and how to clear it, and
// the SG is not deleted; once the user removes the rule, the deletion goes through.
func TestDeleteBlockedSGNamesTheBlocker(t *testing.T) {
	ctx := context.Background()
	fake := cloud.NewFakeEC2()
	obs := cloud.NewObserverFromAPI(fake, "vpc-1", nil)
	doomed, err := obs.CreateSecurityGroup(ctx, "k8s-doomed", "d", nil)
	if err != nil {
		t.Fatal(err)
	}
	user, err := obs.CreateSecurityGroup(ctx, "database", "d", nil)
	if err != nil {
		t.Fatal(err)
	}
	userRule := sgrules.Rule{Key: sgrules.Key{Protocol: "tcp", FromPort: 5432, ToPort: 5432, PeerKind: sgrules.PeerSG, Peer: doomed}}
	if err := obs.AuthorizeIngress(ctx, user, []sgrules.Rule{userRule}, nil); err != nil {
		t.Fatal(err)
	}
	// A rule of the doomed SG that refers to itself does not hold it.
	if err := obs.AuthorizeIngress(ctx, doomed, []sgrules.Rule{{Key: sgrules.Key{Protocol: "tcp", FromPort: 1, ToPort: 1, PeerKind: sgrules.PeerSG, Peer: doomed}}}, nil); err != nil {
		t.Fatal(err)
	}
	x := &Executor{EC2: obs, VPCID: "vpc-1"}
	del := plan.Plan{Changes: []plan.Change{{Op: plan.OpDeleteSG, Target: plan.Ref{Kind: plan.KindSG, ID: doomed}}}}

	_, err = x.Apply(ctx, del)
	var retry *RetryError
	if !errors.As(err, &retry) {
		t.Fatalf("error = %v, want a RetryError", err)
	}
	want := "security group " + doomed + " is still referenced by a rule of " + user + "; remove that rule"
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error = %q, want it to contain %q", err, want)
	}
	if got := fake.Calls()["DeleteSecurityGroup"]; got != 1 {
		t.Errorf("DeleteSecurityGroup called %d times, want 1 (AWS is the check)", got)
	}

	// A plan that read the referring rules fresh says so: the executor reports the blocker
	// without asking AWS anything.
	before := fake.Calls()
	held := plan.Plan{Changes: []plan.Change{{Op: plan.OpDeleteSG, Target: plan.Ref{Kind: plan.KindSG, ID: doomed}, HeldBy: []string{user}}}}
	if _, err := x.Apply(ctx, held); !errors.As(err, &retry) || !strings.Contains(err.Error(), want) {
		t.Errorf("held deletion: error = %v, want a RetryError containing %q", err, want)
	}
	if diff := cmp.Diff(before, fake.Calls()); diff != "" {
		t.Errorf("a held deletion made AWS calls (-before +after):\n%s", diff)
	}

	// An interface of a load balancer holds it too, and is named.
	if err := obs.RevokeIngress(ctx, user, []sgrules.Rule{userRule}); err != nil {
		t.Fatal(err)
	}
	fake.AddNetworkInterface(ec2types.NetworkInterface{NetworkInterfaceId: aws.String("eni-lb"), VpcId: aws.String("vpc-1"),
		Description: aws.String("ELB net/k8s-default-web/0123"), Groups: []ec2types.GroupIdentifier{{GroupId: aws.String(doomed)}}})
	_, err = x.Apply(ctx, del)
	if !errors.As(err, &retry) || !strings.Contains(err.Error(), "still attached to network interface(s) eni-lb (ELB net/k8s-default-web/0123)") {
		t.Fatalf("error = %v, want the interface named", err)
	}

	// Once the interface is gone, the SG is deleted.
	fake3 := cloud.NewFakeEC2()
	obs3 := cloud.NewObserverFromAPI(fake3, "vpc-1", nil)
	id, _ := obs3.CreateSecurityGroup(ctx, "k8s-free", "d", nil)
	x3 := &Executor{EC2: obs3, VPCID: "vpc-1"}
	if _, err := x3.Apply(ctx, plan.Plan{Changes: []plan.Change{{Op: plan.OpDeleteSG, Target: plan.Ref{Kind: plan.KindSG, ID: id}}}}); err != nil {
		t.Fatalf("deleting a free SG: %v", err)
	}
}

// TestApplyStopsAtShutdown: once the caller's context is done, no new change starts (the
// one in flight ends first, on a context of its own).
func TestApplyStopsAtShutdown(t *testing.T) {
	fake := cloud.NewFakeEC2()
	obs := cloud.NewObserverFromAPI(fake, "vpc-1", nil)
	ctx, cancel := context.WithCancel(context.Background())
	fake.Fail = func(action string) error {
		if action == "CreateSecurityGroup" {
			cancel() // shutdown arrives while the first change is in flight
		}
		return nil
	}
	x := &Executor{EC2: obs, VPCID: "vpc-1"}
	res, err := x.Apply(ctx, plan.Plan{Changes: []plan.Change{
		{Op: plan.OpCreateSG, Target: plan.Ref{Kind: plan.KindSG, Key: "a"}, SG: &spec.SecurityGroup{Name: "a", Description: "d"}},
		{Op: plan.OpCreateSG, Target: plan.Ref{Kind: plan.KindSG, Key: "b"}, SG: &spec.SecurityGroup{Name: "b", Description: "d"}},
	}})
	if res.Applied != 1 || res.IDs["a"] == "" {
		t.Errorf("applied %d, ids %v: want the change in flight completed", res.Applied, res.IDs)
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
	if fake.Calls()["CreateSecurityGroup"] != 1 {
		t.Errorf("CreateSecurityGroup called %d times, want 1", fake.Calls()["CreateSecurityGroup"])
	}
}
