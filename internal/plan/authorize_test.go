package plan

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lbsg/lbsg/internal/authz"
	"github.com/lbsg/lbsg/internal/naming"
	"github.com/lbsg/lbsg/internal/sgrules"
	"github.com/lbsg/lbsg/internal/state"
)

// pool is a world of resources with every kind of owner, for the reference checks.
type pool struct {
	sgs  map[string]map[string]string // ID → tags
	tgs  map[string]map[string]string // ARN → tags
	pods map[string][]PodRef          // IP → holders
	// allowed says which pool entries a plan of stack "shop/web" (Service, namespace shop)
	// may name: an independent table, not computed by the code under test.
	allowed map[string]bool
}

func newPool() pool {
	p := pool{sgs: map[string]map[string]string{}, tgs: map[string]map[string]string{}, pods: map[string][]PodRef{}, allowed: map[string]bool{}}
	owners := []struct {
		suffix string
		tags   map[string]string
		ok     bool
	}{
		{"own", map[string]string{naming.TagCluster: "prod", naming.ServiceStackTag: "shop/web"}, true},
		{"samens", map[string]string{naming.TagCluster: "prod", naming.ServiceStackTag: "shop/db"}, false},
		{"otherns", map[string]string{naming.TagCluster: "prod", naming.ServiceStackTag: "team-b/web"}, false},
		{"group", map[string]string{naming.TagCluster: "prod", naming.IngressStackTag: "shop-group"}, false},
		{"backend", map[string]string{naming.TagCluster: "prod", naming.TagResource: naming.BackendSGResourceValue}, false},
		{"othercluster", map[string]string{naming.TagCluster: "dev", naming.ServiceStackTag: "shop/web"}, false},
		{"unattributed", map[string]string{naming.TagCluster: "prod"}, false},
		{"external", map[string]string{"Name": "corp-only"}, true},
		{"untagged", nil, true},
	}
	for _, o := range owners {
		sg, tg := "sg-0pool"+o.suffix, "arn:aws:elasticloadbalancing:us-west-2:1:targetgroup/pool-"+o.suffix+"/1"
		p.sgs[sg], p.tgs[tg], p.allowed[sg], p.allowed[tg] = o.tags, o.tags, o.ok, o.ok
	}
	// An SG and a target group no read saw: whose they are is unknown.
	p.allowed["sg-0poolunseen"], p.allowed["arn:aws:elasticloadbalancing:us-west-2:1:targetgroup/pool-unseen/1"] = false, false
	pods := []struct {
		ip   string
		refs []PodRef
		ok   bool
	}{
		{"10.9.0.1", []PodRef{{Namespace: "shop", Name: "web-1"}}, true},
		{"10.9.0.2", []PodRef{{Namespace: "team-b", Name: "db-0"}}, false},
		{"10.9.0.3", []PodRef{{Namespace: "shop", Name: "old"}, {Namespace: "team-b", Name: "new"}}, false},
		{"10.9.0.4", nil, false},
		{"10.9.0.5", []PodRef{{Namespace: "shop", Name: "agent", HostNetwork: true}, {Namespace: "kube-system", Name: "proxy", HostNetwork: true}}, true},
		{"10.9.0.6", []PodRef{{Namespace: "kube-system", Name: "proxy", HostNetwork: true}}, false},
		{"10.9.0.7", []PodRef{{Namespace: "shop", Name: "web-2"}, {Namespace: "shop", Name: "agent", HostNetwork: true}}, false},
	}
	for _, pd := range pods {
		if pd.refs != nil {
			p.pods[pd.ip] = pd.refs
		}
		p.allowed[pd.ip] = pd.ok
	}
	return p
}

func (p pool) check(in StackInput) ReferenceCheck {
	rc := ReferenceCheck{
		From:       authz.Subject{Kind: "Service", Namespace: "shop", Name: "web"},
		Classifier: authz.Classifier{Cluster: "prod", Self: authz.StackTag{Key: naming.ServiceStackTag, Value: "shop/web"}},
		SGTags:     map[string]map[string]string{}, TGTags: map[string]map[string]string{},
		PodIPs: p.pods, Instances: map[string]bool{"i-0node1": true},
	}
	for id, t := range p.sgs {
		rc.SGTags[id] = t
	}
	for arn, t := range p.tgs {
		rc.TGTags[arn] = t
	}
	for _, sg := range in.Observed.ManagedSGs {
		rc.SGTags[sg.ID] = sg.Tags
	}
	for _, tg := range in.Observed.TargetGroups {
		rc.TGTags[tg.ARN] = tg.Tags
	}
	if in.Desired != nil && in.Desired.LoadBalancer.UseBackendSG {
		rc.BackendSGID = in.Resolved.BackendSGID
	}
	return rc
}

func denied(ds []authz.Denial) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Reference.ID)
	}
	slices.Sort(out)
	return out
}

func TestCheckReferencesRefusesWhatThePolicyDenies(t *testing.T) {
	p := newPool()
	base := readGoldenInput(t, filepath.Join("testdata", "first-round"))
	rc := p.check(*base.Stack)
	arn := func(s string) string { return "arn:aws:elasticloadbalancing:us-west-2:1:targetgroup/pool-" + s + "/1" }
	tests := []struct {
		name   string
		change Change
		want   []string
	}{
		{"external SG", Change{Op: OpSetLBSGs, SGs: []Ref{{Kind: KindSG, ID: "sg-0poolexternal"}}}, nil},
		{"backend SG wired by lbsg", Change{Op: OpSetLBSGs, SGs: []Ref{{Kind: KindSG, ID: "sg-0backend"}}}, nil},
		{"another stack's SG", Change{Op: OpCreateLB, SGs: []Ref{{Kind: KindSG, Key: "managed-sg"}, {Kind: KindSG, ID: "sg-0poolotherns"}}}, []string{"sg-0poolotherns"}},
		{"a prefix list in a client rule", Change{Op: OpAuthorize, Target: Ref{Kind: KindSG, Key: "managed-sg"},
			Rules: []sgrules.Rule{{Key: sgrules.Key{Protocol: "tcp", FromPort: 443, ToPort: 443, PeerKind: sgrules.PeerPrefixList, Peer: "pl-0a1b"}}}}, nil},
		{"the backend SG named by ID", Change{Op: OpSetLBSGs, SGs: []Ref{{Kind: KindSG, ID: "sg-0poolbackend"}}}, []string{"sg-0poolbackend"}},
		{"an SG no read saw", Change{Op: OpSetLBSGs, SGs: []Ref{{Kind: KindSG, ID: "sg-0poolunseen"}}}, []string{"sg-0poolunseen"}},
		{"forward to another stack's TG", Change{Op: OpCreateRule, Rule: &RuleSpec{Action: &state.RuleAction{Type: state.ActionForward,
			Forward: []state.ForwardTo{{TargetGroupARN: arn("external")}, {TargetGroupARN: arn("samens")}}}}}, []string{arn("samens")}},
		{"default forward to another cluster's TG", Change{Op: OpModifyListener, Listener: &ListenerSpec{TargetGroup: Ref{Kind: KindTargetGroup, ID: arn("othercluster")}}}, []string{arn("othercluster")}},
		{"register into another stack's TG", Change{Op: OpRegister, Target: Ref{Kind: KindTargetGroup, ID: arn("group")}, Targets: []state.Target{{ID: "10.9.0.1", Port: 80}}}, []string{arn("group")}},
		{"register pods", Change{Op: OpRegister, Target: Ref{Kind: KindTargetGroup, ID: arn("own")}, Targets: []state.Target{
			{ID: "10.9.0.1"}, {ID: "10.9.0.2"}, {ID: "10.9.0.3"}, {ID: "10.9.0.4"}, {ID: "10.9.0.5"}, {ID: "10.9.0.6"}, {ID: "10.9.0.7"}, {ID: "i-0node1"}, {ID: "i-0stranger"}}},
			[]string{"10.9.0.2", "10.9.0.3", "10.9.0.4", "10.9.0.6", "10.9.0.7", "i-0stranger"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds := CheckReferences(Plan{Changes: []Change{tt.change}}, rc)
			if got := denied(ds); !slices.Equal(got, tt.want) {
				t.Errorf("denied %v, want %v", got, tt.want)
			}
			for _, d := range ds {
				if d.Decision.Reason == "" || d.Decision.Fix == "" {
					t.Errorf("denial without reason or fix: %+v", d)
				}
			}
		})
	}
}

// The real plans of every golden stack case pass the check unchanged: lbsg's own wiring is
// never mistaken for a forbidden reference.
func TestCheckReferencesPassesEveryGoldenStack(t *testing.T) {
	for _, dir := range caseDirs(t) {
		in := readGoldenInput(t, dir)
		if in.Stack == nil {
			continue
		}
		t.Run(filepath.Base(dir), func(t *testing.T) {
			rc := newPool().check(*in.Stack)
			rc.From, rc.Classifier.Self = subjectOf(in), selfOf(in)
			rc.PodIPs, rc.Instances = map[string][]PodRef{}, map[string]bool{}
			for _, id := range in.Stack.Resolved.CustomSGIDs {
				rc.SGTags[id] = map[string]string{"Name": "users-own"} // what the resolver read
			}
			for _, ts := range in.Stack.Targets {
				for _, tg := range ts {
					rc.Instances[tg.ID] = true
					rc.PodIPs[tg.ID] = []PodRef{{Namespace: rc.From.Namespace, Name: "p"}}
				}
			}
			if ds := CheckReferences(in.firstPlan(), rc); len(ds) > 0 {
				t.Errorf("golden plan refused: %v", ds)
			}
		})
	}
}

func subjectOf(in goldenInput) authz.Subject {
	kind, rest, _ := strings.Cut(in.Owner, " ")
	ns, name, ok := strings.Cut(rest, "/")
	if !ok {
		return authz.Subject{Kind: kind, Name: rest, Namespaces: []string{"shop"}}
	}
	return authz.Subject{Kind: kind, Namespace: ns, Name: name}
}

func selfOf(in goldenInput) authz.StackTag {
	if d := in.Stack.Desired; d != nil {
		return authz.StackTag{Key: d.StackTag, Value: d.StackID}
	}
	for _, lb := range in.Stack.Observed.LoadBalancers {
		for _, k := range []string{naming.ServiceStackTag, naming.IngressStackTag} {
			if v, ok := lb.Tags[k]; ok {
				return authz.StackTag{Key: k, Value: v}
			}
		}
	}
	return authz.StackTag{}
}

// FuzzPlanReferencesStayWithinPolicy: whatever security groups, target groups and targets
// a stack's desired state is given, a plan that CheckReferences passes names no resource of
// another namespace, stack or cluster. The property is checked on the plan's JSON, so a
// reference carried in any field, including one added later, is found.
func FuzzPlanReferencesStayWithinPolicy(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
	f.Add([]byte{7, 7, 7, 0})
	f.Add([]byte{1, 255, 3, 128, 64, 9})
	p := newPool()
	var sgIDs, tgARNs, ips []string
	for id := range p.allowed {
		switch {
		case strings.HasPrefix(id, "sg-"):
			sgIDs = append(sgIDs, id)
		case strings.HasPrefix(id, "arn:"):
			tgARNs = append(tgARNs, id)
		default:
			ips = append(ips, id)
		}
	}
	slices.Sort(sgIDs)
	slices.Sort(tgARNs)
	slices.Sort(ips)
	f.Fuzz(func(t *testing.T, picks []byte) {
		if len(picks) == 0 || len(picks) > 64 {
			return
		}
		in := readGoldenInput(t, filepath.Join("testdata", "first-round"))
		st := *in.Stack
		d := *st.Desired
		d.Listeners = slices.Clone(d.Listeners)
		st.Targets = map[string][]state.Target{}
		st.Resolved.CustomSGIDs = nil
		if picks[0]%2 == 1 {
			d.LoadBalancer.Frontend = "custom"
			d.ManagedSG = nil
		}
		for i, b := range picks[1:] {
			switch b % 3 {
			case 0:
				st.Resolved.CustomSGIDs = append(st.Resolved.CustomSGIDs, sgIDs[int(b/3)%len(sgIDs)])
			case 1:
				l := &d.Listeners[i%len(d.Listeners)]
				l.TargetGroup = ""
				l.DefaultAction = &state.RuleAction{Type: state.ActionForward, Forward: []state.ForwardTo{{TargetGroupARN: tgARNs[int(b/3)%len(tgARNs)]}}}
			case 2:
				rid := d.TargetGroups[i%len(d.TargetGroups)].ResourceID
				st.Targets[rid] = append(st.Targets[rid], state.Target{ID: ips[int(b/3)%len(ips)], Port: 8080})
			}
		}
		st.Desired = &d
		pl := Stack(st, in.Owner)
		rc := p.check(st)
		if ds := CheckReferences(pl, rc); len(ds) > 0 {
			return // refused: nothing of this plan reaches AWS
		}
		raw, err := json.Marshal(pl)
		if err != nil {
			t.Fatal(err)
		}
		for id, ok := range p.allowed {
			if !ok && strings.Contains(string(raw), fmt.Sprintf("%q", id)) {
				t.Fatalf("the check passed a plan that names %s, which stack shop/web may not use:\n%s", id, raw)
			}
		}
	})
}
