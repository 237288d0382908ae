package plan_test

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/lbsg/lbsg/internal/apply"
	"github.com/lbsg/lbsg/internal/cloud"
	"github.com/lbsg/lbsg/internal/elb"
	"github.com/lbsg/lbsg/internal/plan"
	"github.com/lbsg/lbsg/internal/sgrules"
	"github.com/lbsg/lbsg/internal/state"
)

// Seeding the fakes from a golden case's observed state, and reading them back with
// lbsg's readers (cloud.Observer, elb.Client): the state goes in as the SDK values AWS
// would answer, so what comes back went through the same conversions as in production.

// world is one EC2 and one ELBv2, in memory, with lbsg's readers and the Executor on them.
type world struct {
	ec2    *cloud.FakeEC2
	elbAPI *elb.FakeAPI
	obs    *cloud.Observer
	elb    *elb.Client
	x      *apply.Executor
}

const goldenVPC = "vpc-0golden"

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{ec2: cloud.NewFakeEC2(), elbAPI: elb.NewFakeAPI()}
	w.obs = cloud.NewObserverFromAPI(w.ec2, goldenVPC, nil)
	w.elb = elb.New(w.elbAPI)
	w.x = &apply.Executor{EC2: w.obs, ELB: w.elb, VPCID: goldenVPC}
	return w
}

func (w *world) apply(t *testing.T, p plan.Plan) {
	t.Helper()
	res, err := w.x.Apply(context.Background(), p)
	if err != nil {
		t.Fatalf("apply the first plan (%d of %d changes applied): %v\n%s", res.Applied, len(p.Changes), err, render(t, p))
	}
}

func (w *world) seedSG(sg state.SecurityGroup) {
	w.ec2.AddSecurityGroup(ec2types.SecurityGroup{GroupId: aws.String(sg.ID), GroupName: aws.String(sg.Name),
		Description: aws.String("seeded"), VpcId: aws.String(goldenVPC), Tags: ec2Tags(sg.Tags), IpPermissions: cloud.RulesToSDK(sg.Ingress)})
}

func (w *world) seedStack(t *testing.T, o plan.Observed) {
	t.Helper()
	for _, sg := range o.ManagedSGs {
		w.seedSG(sg)
	}
	for _, lb := range o.LoadBalancers {
		sdk := elbtypes.LoadBalancer{LoadBalancerArn: aws.String(lb.ARN), LoadBalancerName: aws.String(lb.Name), DNSName: aws.String(lb.DNSName),
			Type: elbtypes.LoadBalancerTypeEnum(lb.Type), Scheme: elbtypes.LoadBalancerSchemeEnum(lb.Scheme),
			IpAddressType: elbtypes.IpAddressType(lb.IPAddressType), SecurityGroups: slices.Clone(lb.SecurityGroups)}
		for _, s := range lb.Subnets {
			sdk.AvailabilityZones = append(sdk.AvailabilityZones, elbtypes.AvailabilityZone{SubnetId: aws.String(s)})
		}
		if lb.PrivateLinkEnforce != "" {
			sdk.EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic = aws.String(lb.PrivateLinkEnforce)
		}
		w.elbAPI.PutLoadBalancer(sdk, lb.Tags)
	}
	for _, lbARN := range slices.Sorted(maps.Keys(o.Listeners)) {
		for _, l := range o.Listeners[lbARN] {
			sdk := elbtypes.Listener{ListenerArn: aws.String(l.ARN), LoadBalancerArn: aws.String(lbARN), Port: aws.Int32(l.Port),
				Protocol: elbtypes.ProtocolEnum(l.Protocol), DefaultActions: seedActions(l.TargetGroupARN, l.FixedResponseStatus, l.Unmodelled)}
			if l.SslPolicy != "" {
				sdk.SslPolicy = aws.String(l.SslPolicy)
			}
			for i, c := range l.Certificates {
				sdk.Certificates = append(sdk.Certificates, elbtypes.Certificate{CertificateArn: aws.String(c), IsDefault: aws.Bool(i == 0)})
			}
			w.elbAPI.PutListener(sdk, l.Tags)
			for _, r := range l.Rules {
				rule := elbtypes.Rule{RuleArn: aws.String(r.ARN), Priority: aws.String(fmt.Sprint(r.Priority)), IsDefault: aws.Bool(false),
					Actions: seedActions(r.TargetGroupARN, "", r.Unmodelled)}
				if len(r.Hosts) > 0 {
					rule.Conditions = append(rule.Conditions, elbtypes.RuleCondition{Field: aws.String("host-header"),
						HostHeaderConfig: &elbtypes.HostHeaderConditionConfig{Values: slices.Clone(r.Hosts)}})
				}
				if len(r.Paths) > 0 {
					rule.Conditions = append(rule.Conditions, elbtypes.RuleCondition{Field: aws.String("path-pattern"),
						PathPatternConfig: &elbtypes.PathPatternConditionConfig{Values: slices.Clone(r.Paths)}})
				}
				for _, part := range unmodelledParts(r.Unmodelled) {
					if field, ok := strings.CutPrefix(part, "condition "); ok {
						rule.Conditions = append(rule.Conditions, elbtypes.RuleCondition{Field: aws.String(field), Values: []string{"seeded"}})
					}
				}
				if err := w.elbAPI.PutRule(l.ARN, rule, r.Tags); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for _, tg := range o.TargetGroups {
		sdk := elbtypes.TargetGroup{TargetGroupArn: aws.String(tg.ARN), TargetGroupName: aws.String(tg.Name),
			Protocol: elbtypes.ProtocolEnum(tg.Protocol), Port: aws.Int32(tg.Port), TargetType: elbtypes.TargetTypeEnum(tg.TargetType),
			VpcId: aws.String(goldenVPC), HealthCheckProtocol: elbtypes.ProtocolEnum(tg.HealthCheck.Protocol),
			HealthCheckPort: aws.String(tg.HealthCheck.Port)}
		if tg.HealthCheck.Path != "" {
			sdk.HealthCheckPath = aws.String(tg.HealthCheck.Path)
		}
		seedHealthSettings(&sdk, tg)
		w.elbAPI.PutTargetGroup(sdk, tg.Tags)
	}
	for _, arn := range slices.Sorted(maps.Keys(o.Attributes)) {
		for k, v := range o.Attributes[arn] {
			w.elbAPI.SetAttribute(arn, k, v)
		}
	}
	for _, tgARN := range slices.Sorted(maps.Keys(o.Targets)) {
		var ts []elbtypes.TargetDescription
		for _, tt := range o.Targets[tgARN] {
			ts = append(ts, elbtypes.TargetDescription{Id: aws.String(tt.ID), Port: aws.Int32(tt.Port)})
		}
		w.elbAPI.PutTargets(tgARN, ts)
	}
}

// unmodelledParts splits what the ELB reader recorded as unmodelled ("authenticate-oidc,
// forward", "condition http-header") into its parts.
func unmodelledParts(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ", ")
}

// seedActions are the SDK actions that the ELB reader records as forwarding to tgARN (or
// answering fixed with that status) with the given unmodelled description.
func seedActions(tgARN, fixed, unmodelled string) []elbtypes.Action {
	forward := elbtypes.Action{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(tgARN)}
	fixedResponse := func(status string) elbtypes.Action {
		return elbtypes.Action{Type: elbtypes.ActionTypeEnumFixedResponse,
			FixedResponseConfig: &elbtypes.FixedResponseActionConfig{StatusCode: aws.String(status), ContentType: aws.String("text/plain")}}
	}
	var out []elbtypes.Action
	for _, part := range unmodelledParts(unmodelled) {
		switch {
		case part == "forward":
			out = append(out, forward)
		case strings.HasPrefix(part, "fixed-response "):
			out = append(out, fixedResponse(strings.TrimPrefix(part, "fixed-response ")))
		case strings.HasPrefix(part, "condition "):
		default:
			out = append(out, elbtypes.Action{Type: elbtypes.ActionTypeEnum(part)})
		}
	}
	if len(out) > 0 {
		return out
	}
	switch {
	case tgARN != "":
		return []elbtypes.Action{forward}
	case fixed != "":
		return []elbtypes.Action{fixedResponse(fixed)}
	}
	return nil
}

// observeStack reads the fakes back as a reconcile does (elb.Client and cloud.Observer,
// through their caches, which lbsg's own writes keep current). The fakes hold one stack,
// so everything in them is that stack's.
func (w *world) observeStack(t *testing.T) plan.Observed {
	t.Helper()
	ctx := context.Background()
	var o plan.Observed
	lbs, err := w.elb.LoadBalancers(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	o.LoadBalancers = lbs
	o.Listeners = map[string][]state.Listener{}
	for _, lb := range lbs {
		if o.Listeners[lb.ARN], err = w.elb.Listeners(ctx, lb.ARN); err != nil {
			t.Fatal(err)
		}
	}
	if o.TargetGroups, err = w.elb.TargetGroups(ctx, false); err != nil {
		t.Fatal(err)
	}
	o.Targets = map[string][]state.Target{}
	for _, tg := range o.TargetGroups {
		if o.Targets[tg.ARN], err = w.elb.Targets(ctx, tg.ARN); err != nil {
			t.Fatal(err)
		}
	}
	readAttributes(t, w, &o)
	sgs, err := w.obs.FindSecurityGroups(ctx, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, sg := range sgs {
		o.ManagedSGs = append(o.ManagedSGs, state.SecurityGroup{ID: sg.ID, Name: sg.Name, Tags: sg.Tags, Ingress: sg.Ingress})
	}
	return o
}

func (w *world) seedNetworking(t *testing.T, in plan.NetworkingInput) {
	t.Helper()
	for _, id := range slices.Sorted(maps.Keys(in.Observed)) {
		sg := in.Observed[id]
		if sg.ID == "" {
			sg.ID = id
		}
		w.seedSG(sg)
	}
	for _, sg := range in.DeleteSGs {
		if _, ok := in.Observed[sg.ID]; !ok {
			w.seedSG(sg)
		}
	}
	if b := in.BackendSG; b != nil {
		if _, ok := in.Observed[b.ID]; !ok {
			w.seedSG(*b)
		}
	}
}

// observeNetworking is the next round's input: the target SGs read fresh, and the SGs to
// delete that still exist.
func (w *world) observeNetworking(ctx context.Context, in plan.NetworkingInput) (plan.NetworkingInput, error) {
	ids := slices.Sorted(maps.Keys(in.Observed))
	for _, sg := range in.DeleteSGs {
		ids = append(ids, sg.ID)
	}
	if in.BackendSG != nil {
		ids = append(ids, in.BackendSG.ID)
	}
	got, err := w.obs.SecurityGroups(ctx, ids, true)
	if err != nil {
		return in, err
	}
	observed := in.Observed
	in.Observed = map[string]state.SecurityGroup{}
	for id := range observed {
		if sg, ok := got[id]; ok {
			in.Observed[id] = state.SecurityGroup{ID: sg.ID, Name: sg.Name, Tags: sg.Tags, Ingress: sg.Ingress}
		}
	}
	in.DeleteSGs = slices.DeleteFunc(slices.Clone(in.DeleteSGs), func(sg state.SecurityGroup) bool {
		_, ok := got[sg.ID]
		return !ok
	})
	if in.BackendSG != nil {
		in.BackendSG = nil
		if sg, ok := got[ids[len(ids)-1]]; ok {
			in.BackendSG = &state.SecurityGroup{ID: sg.ID, Name: sg.Name, Tags: sg.Tags, Ingress: sg.Ingress}
		}
	}
	return in, nil
}

// TestGoldenWorldReadsBackItsSeed guards the second-round tests themselves: each case's
// observed state, seeded into the fakes, is what lbsg's readers read back (so the second
// plan starts from the state the first was made for).
func TestGoldenWorldReadsBackItsSeed(t *testing.T) {
	ctx := context.Background()
	// Order is not state: the readers sort, EC2 keeps rules in no order.
	// The VPC a reader reports is not part of a case's observed state.
	opts := cmp.Options{cmpopts.EquateEmpty(), cmpopts.IgnoreFields(state.SecurityGroup{}, "Ingress"),
		cmpopts.IgnoreFields(state.TargetGroup{}, "VPCID"), cmpopts.IgnoreFields(state.LoadBalancer{}, "VPCID"),
		cmpopts.SortSlices(func(a, b state.LoadBalancer) bool { return a.Name < b.Name }),
		cmpopts.SortSlices(func(a, b state.TargetGroup) bool { return a.Name < b.Name }),
		cmpopts.SortSlices(func(a, b state.SecurityGroup) bool { return a.ID < b.ID })}
	for _, dir := range plan.CaseDirs(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			c := plan.ReadGoldenInput(t, dir)
			w := newWorld(t)
			if c.Stack != nil {
				w.seedStack(t, c.Stack.Observed)
				got := w.observeStack(t)
				if diff := cmp.Diff(c.Stack.Observed, got, opts); diff != "" {
					t.Errorf("read back (-seeded +read):\n%s", diff)
				}
				checkRules(t, c.Stack.Observed.ManagedSGs, got.ManagedSGs)
				return
			}
			w.seedNetworking(t, *c.Networking)
			got, err := w.observeNetworking(ctx, *c.Networking)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(*c.Networking, got, opts); diff != "" {
				t.Errorf("read back (-seeded +read):\n%s", diff)
			}
			for id, sg := range c.Networking.Observed {
				checkRules(t, []state.SecurityGroup{sg}, []state.SecurityGroup{got.Observed[id]})
			}
		})
	}
}

func ec2Tags(tags map[string]string) []ec2types.Tag {
	var out []ec2types.Tag
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		out = append(out, ec2types.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	return out
}

func cloudRulesToSDK(sg state.SecurityGroup) []ec2types.IpPermission {
	return cloud.RulesToSDK(sg.Ingress)
}

// checkRules compares inbound rules as sets: EC2 keeps no order.
func checkRules(t *testing.T, want, got []state.SecurityGroup) {
	t.Helper()
	if len(want) != len(got) {
		return // reported by the caller's diff
	}
	for i := range want {
		w, g := canonical(want[i].Ingress), canonical(got[i].Ingress)
		if diff := cmp.Diff(w, g, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("rules of %s read back (-seeded +read):\n%s", want[i].ID, diff)
		}
	}
}

func canonical(rules []sgrules.Rule) []sgrules.Rule {
	out := make([]sgrules.Rule, len(rules))
	for i, r := range rules {
		out[i] = sgrules.Rule{Key: r.Key.Canonical(), Description: r.Description}
	}
	sgrules.Sort(out)
	return out
}
