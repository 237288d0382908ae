package plan

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lbsg/lbsg/internal/sgrules"
	"github.com/lbsg/lbsg/internal/state"
)

var update = flag.Bool("update", false, "rewrite testdata/*/plan.golden from the current planner output")

// goldenInput is the content of testdata/<case>/input.json: exactly one of Stack and
// Networking.
type goldenInput struct {
	// Stack is a StackInput without KeepTag; the test sets KeepTag to keep aws:* keys.
	Stack *StackInput `json:"stack,omitempty"`
	// Owner of a stack plan; "Service shop/web" when empty.
	Owner      string           `json:"owner,omitempty"`
	Networking *NetworkingInput `json:"networking,omitempty"`
	// ApplyFirst: plan the input, apply the plan in memory to the observed state, and plan
	// again; the golden holds the second plan (STYLE part 5 rule 7, "second round").
	ApplyFirst bool `json:"applyFirst,omitempty"`
}

func keepAWSTags(key string) bool { return strings.HasPrefix(key, "aws:") }

func readGoldenInput(t *testing.T, dir string) goldenInput {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "input.json"))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var in goldenInput
	if err := dec.Decode(&in); err != nil {
		t.Fatalf("decode %s/input.json: %v", dir, err)
	}
	if (in.Stack == nil) == (in.Networking == nil) {
		t.Fatalf("%s/input.json: want exactly one of \"stack\" and \"networking\"", dir)
	}
	if in.Stack != nil {
		in.Stack.KeepTag = keepAWSTags
		if in.Owner == "" {
			in.Owner = "Service shop/web"
		}
	}
	return in
}

// run plans a golden input (twice when ApplyFirst) and returns the last plan.
func (in goldenInput) run(t *testing.T) Plan {
	t.Helper()
	if in.Stack != nil {
		p := Stack(*in.Stack, in.Owner)
		if in.ApplyFirst {
			next := *in.Stack
			next.Observed = applyStack(t, in.Stack.Observed, p)
			p = Stack(next, in.Owner)
		}
		return p
	}
	p := Networking(*in.Networking)
	if in.ApplyFirst {
		p = Networking(applyNetworking(t, *in.Networking, p))
	}
	return p
}

func render(t *testing.T, p Plan) string {
	t.Helper()
	var b strings.Builder
	if err := Write(&b, p); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func caseDirs(t *testing.T) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join("testdata", "*", "input.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatal("no golden cases in testdata")
	}
	for i, d := range dirs {
		dirs[i] = filepath.Dir(d)
	}
	sort.Strings(dirs)
	return dirs
}

// TestGolden plans every testdata/<case>/input.json and compares the printed plan with
// plan.golden. Run `go test ./internal/plan -update` to rewrite the goldens.
func TestGolden(t *testing.T) {
	for _, dir := range caseDirs(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			in := readGoldenInput(t, dir)
			p := in.run(t)
			checkPhases(t, p)
			got := render(t, p)
			path := filepath.Join(dir, "plan.golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("%s mismatch (-want +got):\n%s", path, diff)
			}
		})
	}
}

// TestIdempotency: the planner is pure, so the same input planned twice gives the same
// plan, and planning does not modify its input.
func TestIdempotency(t *testing.T) {
	for _, dir := range caseDirs(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			in := readGoldenInput(t, dir)
			first := in.run(t)
			pristine := readGoldenInput(t, dir)
			if diff := cmp.Diff(pristine, in, cmp.FilterPath(func(p cmp.Path) bool {
				return p.Last().Type().Kind().String() == "func"
			}, cmp.Ignore())); diff != "" {
				t.Fatalf("planning modified its input (-before +after):\n%s", diff)
			}
			second := in.run(t)
			if diff := cmp.Diff(first, second); diff != "" {
				t.Errorf("same input, different plans (-first +second):\n%s", diff)
			}
			if a, b := render(t, first), render(t, second); a != b {
				t.Errorf("same input, different text:\n%s\n---\n%s", a, b)
			}
		})
	}
}

// TestSecondRound applies every stack and networking plan in memory and plans again:
// the second plan must be empty (each case converges in one round).
func TestSecondRound(t *testing.T) {
	for _, dir := range caseDirs(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			in := readGoldenInput(t, dir)
			in.ApplyFirst = true
			if p := in.run(t); !p.Empty() {
				t.Errorf("second round is not empty:\n%s", render(t, p))
			}
		})
	}
}

// checkPhases verifies that a plan's changes are sorted by phase and that each change's
// phase is the one of its op.
func checkPhases(t *testing.T, p Plan) {
	t.Helper()
	for i, c := range p.Changes {
		want, ok := phaseOf[c.Op]
		if !ok {
			t.Errorf("change %d: op %q has no phase", i, c.Op)
		}
		if c.Op == OpDeleteLB && c.Phase == PhaseReplaceLBs {
			continue
		}
		if c.Phase != want {
			t.Errorf("change %d (%s): phase %d, want %d", i, c.Op, c.Phase, want)
		}
		if i > 0 && p.Changes[i-1].Phase > c.Phase {
			t.Errorf("change %d (%s, phase %d) comes after %s (phase %d)", i, c.Op, c.Phase, p.Changes[i-1].Op, p.Changes[i-1].Phase)
		}
		if c.Owner == "" || c.Reason == "" {
			t.Errorf("change %d (%s) has no owner or reason: %+v", i, c.Op, c)
		}
	}
}

func TestPlanSortedByPhase(t *testing.T) {
	for _, dir := range caseDirs(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			in := readGoldenInput(t, dir)
			in.ApplyFirst = false
			checkPhases(t, in.run(t))
		})
	}
	// Every phase is reachable and phases follow the declared order of the ops.
	ops := []Op{OpCreateSG, OpTagSG, OpAuthorize, OpCreateTG, OpModifyTG, OpTag, OpRegister, OpDeregister, OpCreateLB, OpSetSubnets, OpSetIPType,
		OpTagListeners, OpSetLBSGs, OpCreateListener, OpModifyListener, OpCreateRule, OpModifyRule, OpRevoke,
		OpDeleteListener, OpDeleteRule, OpDeleteLB, OpDeleteTG, OpDeleteSG}
	if len(ops) != len(phaseOf) {
		t.Fatalf("phaseOf has %d ops, the test knows %d", len(phaseOf), len(ops))
	}
	for i := 1; i < len(ops); i++ {
		if phaseOf[ops[i-1]] > phaseOf[ops[i]] {
			t.Errorf("%s (phase %d) must not come after %s (phase %d)", ops[i], phaseOf[ops[i]], ops[i-1], phaseOf[ops[i-1]])
		}
	}
	// The builder sorts whatever order changes were added in, stably.
	b := &builder{owner: "test"}
	for _, op := range []Op{OpDeleteSG, OpRevoke, OpCreateSG, OpAuthorize, OpDeleteSG} {
		b.add(Change{Op: op, Target: Ref{Kind: KindSG, ID: fmt.Sprintf("sg-%d", len(b.changes))}})
	}
	var got []string
	for _, c := range b.plan().Changes {
		got = append(got, string(c.Op)+" "+c.Target.ID)
	}
	want := []string{"create-sg sg-2", "authorize sg-3", "revoke sg-1", "delete-sg sg-0", "delete-sg sg-4"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("builder order mismatch (-want +got):\n%s", diff)
	}
}

func TestPlanJSONRoundTrip(t *testing.T) {
	for _, dir := range caseDirs(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			in := readGoldenInput(t, dir)
			in.ApplyFirst = false
			p := in.run(t)
			raw, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			var back Plan
			if err := json.Unmarshal(raw, &back); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(p, back); diff != "" {
				t.Errorf("JSON round trip mismatch (-before +after):\n%s", diff)
			}
			if render(t, p) != render(t, back) {
				t.Errorf("JSON round trip changes the printed plan")
			}
		})
	}
}

func TestWriteEmpty(t *testing.T) {
	for _, p := range []Plan{{}, {Changes: []Change{}}} {
		if got := render(t, p); got != "  no changes\n" {
			t.Errorf("Write(%+v) = %q, want %q", p, got, "  no changes\n")
		}
	}
}

// applyStack applies a stack plan to observed state in memory, as apply would against
// AWS, and returns the new observed state. New resources get deterministic IDs.
func applyStack(t *testing.T, o Observed, p Plan) Observed {
	t.Helper()
	o = cloneObserved(o)
	ids := map[string]string{}
	resolve := func(r Ref) string {
		if r.ID != "" {
			return r.ID
		}
		id, ok := ids[r.Key]
		if !ok {
			t.Fatalf("ref %+v used before the change that creates it", r)
		}
		return id
	}
	resolveAll := func(refs []Ref) []string {
		var out []string
		for _, r := range refs {
			out = append(out, resolve(r))
		}
		return out
	}
	sg := func(id string) *state.SecurityGroup {
		for i := range o.ManagedSGs {
			if o.ManagedSGs[i].ID == id {
				return &o.ManagedSGs[i]
			}
		}
		t.Fatalf("no managed SG %s", id)
		return nil
	}
	lb := func(arn string) *state.LoadBalancer {
		for i := range o.LoadBalancers {
			if o.LoadBalancers[i].ARN == arn {
				return &o.LoadBalancers[i]
			}
		}
		return nil
	}
	tg := func(arn string) *state.TargetGroup {
		for i := range o.TargetGroups {
			if o.TargetGroups[i].ARN == arn {
				return &o.TargetGroups[i]
			}
		}
		return nil
	}
	tags := func(id string) map[string]string {
		if l := lb(id); l != nil {
			if l.Tags == nil {
				l.Tags = map[string]string{}
			}
			return l.Tags
		}
		if g := tg(id); g != nil {
			if g.Tags == nil {
				g.Tags = map[string]string{}
			}
			return g.Tags
		}
		s := sg(id)
		if s.Tags == nil {
			s.Tags = map[string]string{}
		}
		return s.Tags
	}
	for _, c := range p.Changes {
		switch c.Op {
		case OpCreateSG:
			id := "sg-0new" + fmt.Sprint(len(ids))
			ids[c.Target.Key] = id
			o.ManagedSGs = append(o.ManagedSGs, state.SecurityGroup{ID: id, Name: c.SG.Name, Tags: maps.Clone(c.SG.Tags)})
		case OpTagSG, OpTag:
			m := tags(resolve(c.Target))
			for k, v := range c.Tags {
				m[k] = v
			}
			for _, k := range c.Untag {
				delete(m, k)
			}
		case OpAuthorize:
			s := sg(resolve(c.Target))
			s.Ingress = append(s.Ingress, c.Rules...)
		case OpRevoke:
			s := sg(resolve(c.Target))
			s.Ingress = revokeRules(s.Ingress, c.Rules)
		case OpCreateTG:
			arn := "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/" + c.TG.Name + "/new"
			ids[c.Target.Key] = arn
			o.TargetGroups = append(o.TargetGroups, state.TargetGroup{ARN: arn, Name: c.TG.Name, Protocol: c.TG.Protocol,
				Port: c.TG.Port, TargetType: c.TG.TargetType, Tags: maps.Clone(c.TG.Tags),
				HealthCheck: state.HealthCheck(c.TG.HealthCheck)})
		case OpModifyTG:
			tg(resolve(c.Target)).HealthCheck = state.HealthCheck(c.TG.HealthCheck)
		case OpCreateLB:
			arn := "arn:aws:elasticloadbalancing:us-east-1:111122223333:loadbalancer/net/" + c.LB.Name + "/new"
			ids[c.Target.Key] = arn
			o.LoadBalancers = append(o.LoadBalancers, state.LoadBalancer{ARN: arn, Name: c.LB.Name, Type: c.LB.Type,
				Scheme: c.LB.Scheme, IPAddressType: c.LB.IPAddressType, SecurityGroups: resolveAll(c.SGs),
				Subnets: slices.Clone(c.LB.Subnets), Tags: maps.Clone(c.LB.Tags), PrivateLinkEnforce: c.PrivateLinkEnforce})
		case OpSetLBSGs:
			l := lb(resolve(c.Target))
			l.SecurityGroups = resolveAll(c.SGs)
			if c.PrivateLinkEnforce != "" {
				l.PrivateLinkEnforce = c.PrivateLinkEnforce
			}
		case OpSetSubnets:
			lb(resolve(c.Target)).Subnets = slices.Clone(c.Subnets)
		case OpSetIPType:
			lb(resolve(c.Target)).IPAddressType = c.IPType
		case OpCreateListener:
			lbARN := resolve(c.Listener.LoadBalancer)
			arn := fmt.Sprintf("%s/listener-%d", lbARN, c.Listener.Port)
			ids[c.Target.Key] = arn
			if o.Listeners == nil {
				o.Listeners = map[string][]state.Listener{}
			}
			l := state.Listener{ARN: arn, Port: c.Listener.Port, Protocol: c.Listener.Protocol,
				Certificates: slices.Clone(c.Listener.Certificates), Tags: maps.Clone(c.Listener.Tags)}
			setDefault(&l, c.Listener.TargetGroup, resolve)
			o.Listeners[lbARN] = append(o.Listeners[lbARN], l)
		case OpModifyListener:
			ls := o.Listeners[resolve(c.Listener.LoadBalancer)]
			for i := range ls {
				if ls[i].ARN != c.Target.ID {
					continue
				}
				if !c.Listener.KeepProtocol {
					ls[i].Protocol, ls[i].Certificates = c.Listener.Protocol, slices.Clone(c.Listener.Certificates)
				}
				if !c.Listener.KeepDefaultAction {
					setDefault(&ls[i], c.Listener.TargetGroup, resolve)
				}
			}
		case OpCreateRule, OpModifyRule, OpDeleteRule:
			ls := o.Listeners[resolve(c.Rule.LoadBalancer)]
			lARN := resolve(c.Rule.Listener)
			for i := range ls {
				if ls[i].ARN != lARN {
					continue
				}
				r := state.ListenerRule{Priority: c.Rule.Priority, Hosts: slices.Clone(c.Rule.Hosts), Paths: slices.Clone(c.Rule.Paths)}
				switch c.Op {
				case OpCreateRule:
					r.ARN = fmt.Sprintf("%s/rule-%d", lARN, r.Priority)
					r.TargetGroupARN = resolve(c.Rule.TargetGroup)
					r.Tags = maps.Clone(c.Rule.Tags)
					ids[c.Target.Key] = r.ARN
					ls[i].Rules = append(ls[i].Rules, r)
				case OpModifyRule:
					for j := range ls[i].Rules {
						if ls[i].Rules[j].ARN == c.Target.ID {
							r.ARN, r.TargetGroupARN = c.Target.ID, resolve(c.Rule.TargetGroup)
							r.Tags = ls[i].Rules[j].Tags
							ls[i].Rules[j] = r
						}
					}
				case OpDeleteRule:
					ls[i].Rules = slices.DeleteFunc(ls[i].Rules, func(x state.ListenerRule) bool { return x.ARN == c.Target.ID })
				}
			}
		case OpTagListeners:
			ls := o.Listeners[resolve(c.Target)]
			for i := range ls {
				if slices.Contains(c.TagARNs, ls[i].ARN) {
					ls[i].Tags = addTags(ls[i].Tags, c.Tags)
				}
				for j := range ls[i].Rules {
					if slices.Contains(c.TagARNs, ls[i].Rules[j].ARN) {
						ls[i].Rules[j].Tags = addTags(ls[i].Rules[j].Tags, c.Tags)
					}
				}
			}
		case OpDeleteListener:
			lbARN := resolve(c.Listener.LoadBalancer)
			o.Listeners[lbARN] = slices.DeleteFunc(o.Listeners[lbARN], func(l state.Listener) bool { return l.ARN == c.Target.ID })
		case OpRegister:
			if o.Targets == nil {
				o.Targets = map[string][]state.Target{}
			}
			arn := resolve(c.Target)
			o.Targets[arn] = append(o.Targets[arn], c.Targets...)
		case OpDeregister:
			arn := resolve(c.Target)
			o.Targets[arn] = slices.DeleteFunc(o.Targets[arn], func(x state.Target) bool { return slices.Contains(c.Targets, x) })
		case OpDeleteLB:
			o.LoadBalancers = slices.DeleteFunc(o.LoadBalancers, func(l state.LoadBalancer) bool { return l.ARN == c.Target.ID })
			delete(o.Listeners, c.Target.ID)
		case OpDeleteTG:
			o.TargetGroups = slices.DeleteFunc(o.TargetGroups, func(g state.TargetGroup) bool { return g.ARN == c.Target.ID })
			delete(o.Targets, c.Target.ID)
		case OpDeleteSG:
			o.ManagedSGs = slices.DeleteFunc(o.ManagedSGs, func(s state.SecurityGroup) bool { return s.ID == c.Target.ID })
		default:
			t.Fatalf("applyStack: unexpected op %s", c.Op)
		}
	}
	return o
}

// addTags returns have with tags added, as AddTags would leave it.
func addTags(have, tags map[string]string) map[string]string {
	out := maps.Clone(have)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, tags)
	return out
}

// setDefault sets a listener's default action as the apply package would: forward to the
// target group, or a fixed 404 when there is none.
func setDefault(l *state.Listener, tg Ref, resolve func(Ref) string) {
	l.TargetGroupARN, l.FixedResponseStatus = "", ""
	if tg == (Ref{}) {
		l.FixedResponseStatus = "404"
		return
	}
	l.TargetGroupARN = resolve(tg)
}

// applyNetworking applies a networking plan to the observed target SGs in memory and
// returns the input of the next round.
func applyNetworking(t *testing.T, in NetworkingInput, p Plan) NetworkingInput {
	t.Helper()
	obs := map[string]state.SecurityGroup{}
	for id, sg := range in.Observed {
		sg.Ingress = slices.Clone(sg.Ingress)
		obs[id] = sg
	}
	deleted := map[string]bool{}
	for _, c := range p.Changes {
		sg, ok := obs[c.Target.ID]
		switch c.Op {
		case OpAuthorize:
			if !ok {
				t.Fatalf("authorize on unobserved SG %s", c.Target.ID)
			}
			sg.Ingress = append(sg.Ingress, c.Rules...)
		case OpRevoke:
			if !ok {
				t.Fatalf("revoke on unobserved SG %s", c.Target.ID)
			}
			sg.Ingress = revokeRules(sg.Ingress, c.Rules)
		case OpDeleteSG:
			deleted[c.Target.ID] = true
			continue
		default:
			t.Fatalf("applyNetworking: unexpected op %s", c.Op)
		}
		obs[c.Target.ID] = sg
	}
	in.Observed = obs
	in.DeleteSGs = slices.DeleteFunc(slices.Clone(in.DeleteSGs), func(sg state.SecurityGroup) bool { return deleted[sg.ID] })
	return in
}

func revokeRules(have, revoke []sgrules.Rule) []sgrules.Rule {
	gone := map[sgrules.Key]bool{}
	for _, r := range revoke {
		gone[r.Key.Canonical()] = true
	}
	return slices.DeleteFunc(slices.Clone(have), func(r sgrules.Rule) bool { return gone[r.Key.Canonical()] })
}

func cloneObserved(o Observed) Observed {
	raw, err := json.Marshal(o)
	if err != nil {
		panic(err)
	}
	var out Observed
	if err := json.Unmarshal(raw, &out); err != nil {
		panic(err)
	}
	return out
}
