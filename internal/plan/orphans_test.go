package plan

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lbsg/lbsg/internal/naming"
	"github.com/lbsg/lbsg/internal/state"
)

// orphanWorld is what AWS holds for a few stacks of cluster prod in vpc-1.
type orphanWorld struct {
	lbs []state.LoadBalancer
	tgs []state.TargetGroup
	sgs []state.SecurityGroup
}

func svcTags(id, resource string) map[string]string {
	return tags(naming.TagCluster, "prod", naming.ServiceStackTag, id, naming.ServiceResourceTag, resource)
}

func ingTags(id, resource string) map[string]string {
	return tags(naming.TagCluster, "prod", naming.IngressStackTag, id, naming.IngressResourceTag, resource)
}

// service adds the NLB, target group and managed SG a Service's stack has.
func (w *orphanWorld) service(ns, name string) {
	id := ns + "/" + name
	w.lbs = append(w.lbs, state.LoadBalancer{ARN: "lb/" + id, Name: "k8s-" + name, Type: "network", DNSName: name + ".elb", VPCID: "vpc-1",
		Tags: svcTags(id, naming.LoadBalancerResourceID)})
	w.tgs = append(w.tgs, state.TargetGroup{ARN: "tg/" + id, Name: "k8s-tg-" + name, VPCID: "vpc-1", Tags: svcTags(id, id+":80")})
	w.sgs = append(w.sgs, state.SecurityGroup{ID: "sg-" + name, Name: naming.ServiceSGName("prod", ns, name, "uid-"+name),
		Tags: svcTags(id, naming.ManagedSGResourceID)})
}

// group adds the ALB, target group and managed SG of an Ingress group (explicit when ns
// is "").
func (w *orphanWorld) group(ns, name string) {
	id, sgName := name, naming.IngressGroupSGName("prod", name)
	if ns != "" {
		id, sgName = ns+"/"+name, naming.IngressSGName("prod", ns, name)
	}
	w.lbs = append(w.lbs, state.LoadBalancer{ARN: "lb/" + id, Name: "k8s-" + name, Type: "application", DNSName: name + ".alb", VPCID: "vpc-1",
		Tags: ingTags(id, naming.LoadBalancerResourceID)})
	w.tgs = append(w.tgs, state.TargetGroup{ARN: "tg/" + id, Name: "k8s-tg-" + name, VPCID: "vpc-1", Tags: ingTags(id, "x/y:80")})
	w.sgs = append(w.sgs, state.SecurityGroup{ID: "sg-" + name, Name: sgName, Tags: ingTags(id, naming.ManagedSGResourceID)})
}

// TestOrphansOfAWatchedNamespaceOnly: with --watch-namespace, only that namespace's
// stacks are considered; explicit groups, whose members may live anywhere, never are.
func TestOrphansOfAWatchedNamespaceOnly(t *testing.T) {
	w := &orphanWorld{}
	w.service("team-a", "web")
	w.service("team-b", "api")
	w.group("team-b", "blog")
	w.group("", "shop")
	in := w.input(Claims{})
	in.Namespace = "team-b"
	got, _ := Orphans(in)
	want := []string{"team-b/blog: lb/team-b/blog,tg/team-b/blog,sg-blog (Ingress team-b/blog no longer exists)",
		"team-b/api: lb/team-b/api,tg/team-b/api,sg-api (Service team-b/api no longer exists)"}
	if diff := cmp.Diff(want, summarise(got)); diff != "" {
		t.Errorf("orphans (-want +got):\n%s", diff)
	}
}

func (w *orphanWorld) input(c Claims) OrphanInput {
	return OrphanInput{Cluster: "prod", VPCID: "vpc-1", LoadBalancers: w.lbs, TargetGroups: w.tgs, SecurityGroups: w.sgs, Claims: c}
}

// summarise renders orphans as "stack: lb,tg,sg (reason)".
func summarise(os []Orphan) []string {
	var out []string
	for _, o := range os {
		var parts []string
		for _, lb := range o.Observed.LoadBalancers {
			parts = append(parts, lb.ARN)
		}
		for _, tg := range o.Observed.TargetGroups {
			parts = append(parts, tg.ARN)
		}
		for _, sg := range o.Observed.ManagedSGs {
			parts = append(parts, sg.ID)
		}
		out = append(out, o.Stack.ID+": "+strings.Join(parts, ",")+" ("+o.Reason+")")
	}
	return out
}

// TestOrphans: a stack is an orphan exactly when AWS holds resources that carry its full
// identity in the cluster's VPC and no Kubernetes object holds it; what is collected is
// only what carries that identity.
func TestOrphans(t *testing.T) {
	held := Claim{Held: true, Why: "a member"}
	tests := []struct {
		name    string
		world   func(w *orphanWorld)
		claims  Claims
		want    []string
		skipped int
	}{
		{name: "nothing in AWS", world: func(*orphanWorld) {}},
		{name: "a Service that no longer exists", world: func(w *orphanWorld) { w.service("team-a", "web") },
			want: []string{"team-a/web: lb/team-a/web,tg/team-a/web,sg-web (Service team-a/web no longer exists)"}},
		{name: "a Service that exists and holds its stack", world: func(w *orphanWorld) { w.service("team-a", "web") },
			claims: Claims{Services: map[string]Claim{"team-a/web": held}}},
		{name: "a Service that moved away explicitly", world: func(w *orphanWorld) { w.service("team-a", "web") },
			claims: Claims{Services: map[string]Claim{"team-a/web": {Why: "Service team-a/web is of type ClusterIP"}}},
			want:   []string{"team-a/web: lb/team-a/web,tg/team-a/web,sg-web (Service team-a/web is of type ClusterIP)"}},
		{name: "only one of two Services is gone", world: func(w *orphanWorld) { w.service("team-a", "web"); w.service("team-b", "api") },
			claims: Claims{Services: map[string]Claim{"team-b/api": held}},
			want:   []string{"team-a/web: lb/team-a/web,tg/team-a/web,sg-web (Service team-a/web no longer exists)"}},
		{name: "a leftover target group without a load balancer", world: func(w *orphanWorld) {
			w.service("team-a", "web")
			w.lbs, w.sgs = nil, nil
		}, want: []string{"team-a/web: tg/team-a/web (Service team-a/web no longer exists)"}},
		{name: "a target group a TargetGroupBinding names is kept", world: func(w *orphanWorld) { w.service("team-a", "web") },
			claims: Claims{BoundTargetGroups: map[string]bool{"tg/team-a/web": true}},
			want:   []string{"team-a/web: lb/team-a/web,sg-web (Service team-a/web no longer exists)"}},
		{name: "another VPC's load balancer and target group", world: func(w *orphanWorld) {
			w.service("team-a", "web")
			w.lbs[0].VPCID, w.tgs[0].VPCID = "vpc-2", "vpc-2"
		}, want: []string{"team-a/web: sg-web (Service team-a/web no longer exists)"}},
		{name: "another cluster's stack", world: func(w *orphanWorld) {
			w.service("team-a", "web")
			w.lbs[0].Tags[naming.TagCluster], w.tgs[0].Tags[naming.TagCluster], w.sgs[0].Tags[naming.TagCluster] = "prod2", "prod2", "prod2"
		}},
		{name: "an application load balancer with a Service's tags", world: func(w *orphanWorld) {
			w.service("team-a", "web")
			w.lbs[0].Type, w.tgs, w.sgs = "application", nil, nil
		}},
		{name: "an SG with a Service's tags but not its name", world: func(w *orphanWorld) {
			w.service("team-a", "web")
			w.lbs, w.tgs = nil, nil
			w.sgs[0].Name = "corp-only"
		}},
		{name: "an SG that carries two kinds of stack tag", world: func(w *orphanWorld) {
			w.service("team-a", "web")
			w.lbs, w.tgs = nil, nil
			w.sgs[0].Tags[naming.IngressStackTag] = "shop"
		}},
		{name: "a stack ID that names no Service", world: func(w *orphanWorld) {
			w.service("team-a", "web")
			for _, m := range []map[string]string{w.lbs[0].Tags, w.tgs[0].Tags, w.sgs[0].Tags} {
				m[naming.ServiceStackTag] = "web"
			}
		}},
		{name: "two load balancers of one stack", world: func(w *orphanWorld) {
			w.service("team-a", "web")
			w.lbs = append(w.lbs, state.LoadBalancer{ARN: "lb/2", Type: "network", VPCID: "vpc-1", Tags: svcTags("team-a/web", naming.LoadBalancerResourceID)})
		}, skipped: 1},
		{name: "the backend SG is no stack's", world: func(w *orphanWorld) {
			w.sgs = append(w.sgs, state.SecurityGroup{ID: "sg-backend", Name: naming.BackendSGName("prod"),
				Tags: tags(naming.TagCluster, "prod", naming.TagResource, naming.BackendSGResourceValue)})
		}},
		{name: "an implicit Ingress group whose Ingress is gone", world: func(w *orphanWorld) { w.group("team-a", "shop") },
			want: []string{"team-a/shop: lb/team-a/shop,tg/team-a/shop,sg-shop (Ingress team-a/shop no longer exists)"}},
		{name: "an explicit group nothing holds", world: func(w *orphanWorld) { w.group("", "shop") },
			want: []string{"shop: lb/shop,tg/shop,sg-shop (no Ingress is a member of Ingress group shop or holds its finalizer group.ingress.k8s.aws/shop)"}},
		{name: "an explicit group with a member", world: func(w *orphanWorld) { w.group("", "shop") },
			claims: Claims{Groups: map[string]Claim{"shop": held}}},
		{name: "missing IngressClassParams hold every explicit group, not implicit ones", world: func(w *orphanWorld) {
			w.group("", "shop")
			w.group("team-a", "blog")
		}, claims: Claims{AnyExplicitGroup: []Holder{{Namespace: "x", Name: "front", Why: "IngressClassParams p of class alb are missing"}}},
			want: []string{"team-a/blog: lb/team-a/blog,tg/team-a/blog,sg-blog (Ingress team-a/blog no longer exists)"}},
		{name: "an Ingress whose class is missing still shows the group's load balancer", world: func(w *orphanWorld) { w.group("", "shop") },
			claims: Claims{DNSNames: map[string][]Holder{"shop.alb": {{Namespace: "x", Name: "front", Why: "its class is missing"}}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := &orphanWorld{}
			tc.world(w)
			got, skipped := Orphans(w.input(tc.claims))
			if diff := cmp.Diff(tc.want, summarise(got)); diff != "" {
				t.Errorf("orphans (-want +got):\n%s", diff)
			}
			if len(skipped) != tc.skipped {
				t.Errorf("skipped = %v, want %d", skipped, tc.skipped)
			}
		})
	}
}

// TestOrphansHeldOnlyOnEvidence guards case 8 across tenants: what a tenant writes (a
// finalizer, a group name, a class that refuses it, its status) or configuration lbsg
// cannot find holds a stack only when the stack may be the tenant's own. An explicit
// group's load balancer that serves team-a (its target groups were made for team-a's
// Ingresses) is held by team-a's Ingresses whatever their state, never by team-b's; an
// implicit group only by its own Ingress; a group without target groups by any Ingress that
// asks for it, as its reconciler holds it. Without the target groups, such a stack is only
// suspected; a member or a Service decides without them.
func TestOrphansHeldOnlyOnEvidence(t *testing.T) {
	teamA := Holder{Namespace: "team-a", Name: "front", Why: "IngressClass alb does not exist"}
	teamB := Holder{Namespace: "team-b", Name: "squat", Why: "IngressClass alb does not exist"}
	served := func(w *orphanWorld) {
		w.group("", "shop")
		w.tgs[0].Tags[naming.IngressResourceTag] = "team-a/front-web:80"
	}
	held := func(hs ...Holder) Claims { return Claims{Groups: map[string]Claim{"shop": {Holders: hs}}} }
	shopOrphan := "shop: lb/shop,tg/shop,sg-shop (no Ingress is a member of Ingress group shop or holds its finalizer group.ingress.k8s.aws/shop; " +
		"Ingress team-b/squat asks for it but does not hold it (its target groups were made for Ingresses of namespace team-a only): IngressClass alb does not exist)"
	tests := []struct {
		name   string
		world  func(w *orphanWorld)
		claims Claims
		unread bool
		want   []string
	}{
		{name: "another namespace's Ingress that asks for the group", world: served, claims: held(teamB), want: []string{shopOrphan}},
		{name: "an Ingress of the namespace the group serves", world: served, claims: held(teamA)},
		{name: "both", world: served, claims: held(teamB, teamA)},
		{name: "another namespace's Ingress whose IngressClassParams are missing", world: served,
			claims: Claims{AnyExplicitGroup: []Holder{teamB}}, want: []string{"shop: lb/shop,tg/shop,sg-shop (no Ingress is a member of Ingress group shop or holds its finalizer group.ingress.k8s.aws/shop; " +
				"Ingress team-b/squat asks for it but does not hold it (its target groups were made for Ingresses of namespace team-a only): IngressClass alb does not exist)"}},
		{name: "an Ingress of the served namespace whose IngressClassParams are missing", world: served, claims: Claims{AnyExplicitGroup: []Holder{teamA}}},
		{name: "another namespace's Ingress that shows the load balancer in its status", world: served,
			claims: Claims{DNSNames: map[string][]Holder{"shop.alb": {teamB}}}, want: []string{shopOrphan}},
		{name: "an Ingress of the served namespace that shows the load balancer in its status", world: served,
			claims: Claims{DNSNames: map[string][]Holder{"shop.alb": {teamA}}}},
		{name: "a member of another namespace: its reconciler decides", world: served,
			claims: Claims{Groups: map[string]Claim{"shop": {Held: true, Why: "Ingress team-b/squat is a member"}}}},
		{name: "a target group a TargetGroupBinding names is evidence, and kept", world: func(w *orphanWorld) {
			served(w)
			w.tgs[0].ARN = "tg/bound"
		}, claims: Claims{Groups: map[string]Claim{"shop": {Holders: []Holder{teamB}}}, BoundTargetGroups: map[string]bool{"tg/bound": true}},
			want: []string{strings.Replace(shopOrphan, "lb/shop,tg/shop,sg-shop", "lb/shop,sg-shop", 1)}},
		{name: "a target group of another stack is no evidence", world: func(w *orphanWorld) {
			served(w)
			w.group("", "blog")
			w.tgs[1].Tags[naming.IngressResourceTag] = "team-b/squat-web:80"
		}, claims: Claims{Groups: map[string]Claim{"shop": {Holders: []Holder{teamB}}, "blog": {Held: true}}}, want: []string{shopOrphan}},
		{name: "a group without target groups: whoever asks for it holds it", world: func(w *orphanWorld) {
			w.group("", "shop")
			w.tgs = nil
		}, claims: held(teamB)},
		{name: "the target groups were not read: suspected", world: served, claims: held(teamB), unread: true,
			want: []string{"shop: lb/shop,sg-shop (no Ingress is a member of Ingress group shop or holds its finalizer group.ingress.k8s.aws/shop; its target groups decide whether Ingress team-b/squat may hold it) suspected"}},
		{name: "the target groups were not read: nothing asks, an orphan", world: served, unread: true,
			want: []string{"shop: lb/shop,sg-shop (no Ingress is a member of Ingress group shop or holds its finalizer group.ingress.k8s.aws/shop)"}},
		{name: "the target groups were not read: a member decides", world: served, unread: true,
			claims: Claims{Groups: map[string]Claim{"shop": {Held: true}}}},
		{name: "an implicit group is held by its own Ingress only", world: func(w *orphanWorld) { w.group("team-a", "blog") },
			claims: Claims{DNSNames: map[string][]Holder{"blog.alb": {{Namespace: "team-b", Name: "blog", Why: "its class is missing"}, {Namespace: "team-a", Name: "other", Why: "its class is missing"}}}},
			want:   []string{"team-a/blog: lb/team-a/blog,tg/team-a/blog,sg-blog (Ingress team-a/blog no longer exists; Ingress team-b/blog, Ingress team-a/other ask for it but do not hold it (the load balancer is Ingress team-a/blog's): its class is missing)"}},
		{name: "an implicit group's own Ingress", world: func(w *orphanWorld) { w.group("team-a", "blog") }, unread: true,
			claims: Claims{DNSNames: map[string][]Holder{"blog.alb": {{Namespace: "team-a", Name: "blog", Why: "its class is missing"}}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := &orphanWorld{}
			tc.world(w)
			in := w.input(tc.claims)
			if tc.unread {
				in.TargetGroups, in.TargetGroupsUnread = nil, true
			}
			got, _ := Orphans(in)
			var sum []string
			for i, s := range summarise(got) {
				if got[i].Suspected {
					s += " suspected"
				}
				sum = append(sum, s)
			}
			if diff := cmp.Diff(tc.want, sum); diff != "" {
				t.Errorf("orphans (-want +got):\n%s", diff)
			}
		})
	}
}

// An orphan's plan is the plan of a deleted owner: its load balancer, target groups and
// managed SG are deleted, in that order, and nothing else is touched.
func TestOrphanPlanDeletesTheStack(t *testing.T) {
	w := &orphanWorld{}
	w.service("team-a", "web")
	got, _ := Orphans(w.input(Claims{}))
	if len(got) != 1 {
		t.Fatalf("orphans = %v", summarise(got))
	}
	p := Stack(StackInput{Observed: got[0].Observed}, got[0].Owner.String())
	want := []string{"delete-lb lb/team-a/web", "delete-tg tg/team-a/web", "delete-sg sg-web"}
	if diff := cmp.Diff(want, summary(p)); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
	for _, c := range p.Changes {
		if c.Owner != "Service team-a/web" {
			t.Errorf("change %s owned by %q", c.Op, c.Owner)
		}
	}
}
