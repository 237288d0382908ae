package plan

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/lbsg/lbsg/internal/naming"
	"github.com/lbsg/lbsg/internal/state"
)

func svcIdentity() Identity {
	return Identity{Cluster: "prod", StackTag: naming.ServiceStackTag, StackID: "team/web", ResourceTag: naming.ServiceResourceTag,
		ManagedSGName: naming.ServiceSGName("prod", "team", "web", "uid-1"), LBType: "network"}
}

func tags(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// A backend SG is recognised only by the cluster tag, the backend resource tag, no stack
// tag and the name upstream gives it: a tenant's managed SG tagged
// elbv2.k8s.aws/resource=backend-sg through an annotation is never a candidate.
func TestRecogniseBackendSGIgnoresForgedTags(t *testing.T) {
	name := naming.BackendSGName("prod")
	real := state.SecurityGroup{ID: "sg-real", Name: name, Tags: tags(naming.TagCluster, "prod", naming.TagResource, "backend-sg")}
	tests := []struct {
		name    string
		sgs     []state.SecurityGroup
		want    string
		wantAmb []string
	}{
		{"none", nil, "", nil},
		{"the real one", []state.SecurityGroup{real}, "sg-real", nil},
		{"tags without the name", []state.SecurityGroup{{ID: "sg-0forged", Name: "k8s-team-web-1234567890",
			Tags: tags(naming.TagCluster, "prod", naming.TagResource, "backend-sg")}, real}, "sg-real", nil},
		{"only the forged one", []state.SecurityGroup{{ID: "sg-0forged", Name: "tenant",
			Tags: tags(naming.TagCluster, "prod", naming.TagResource, "backend-sg")}}, "", nil},
		{"name and tags but a stack tag too", []state.SecurityGroup{{ID: "sg-x", Name: name,
			Tags: tags(naming.TagCluster, "prod", naming.TagResource, "backend-sg", naming.ServiceStackTag, "team/web")}}, "", nil},
		{"another cluster's value", []state.SecurityGroup{{ID: "sg-x", Name: name,
			Tags: tags(naming.TagCluster, "prod2", naming.TagResource, "backend-sg")}}, "", nil},
		{"name without resource tag", []state.SecurityGroup{{ID: "sg-x", Name: name, Tags: tags(naming.TagCluster, "prod")}}, "", nil},
		{"two that carry everything", []state.SecurityGroup{real, {ID: "sg-abc", Name: name, Tags: real.Tags}}, "", []string{"sg-abc", "sg-real"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := RecogniseBackendSG("prod", tc.sgs)
			var amb *Ambiguity
			if tc.wantAmb != nil {
				if !errors.As(err, &amb) || !reflect.DeepEqual(amb.IDs, tc.wantAmb) {
					t.Fatalf("err = %v, want an ambiguity of %v", err, tc.wantAmb)
				}
				for _, want := range append(tc.wantAmb, "delete or untag one of them") {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("message %q lacks %q", err.Error(), want)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			id := ""
			if got != nil {
				id = got.ID
			}
			if id != tc.want {
				t.Errorf("got %q, want %q", id, tc.want)
			}
		})
	}
}

// A Service's resources are its own only with the full identity: a resource that carries
// the stack tag of an Ingress group too (set through additional-resource-tags) belongs to
// neither, and two load balancers or managed SGs of one stack are an ambiguity.
func TestRecogniseStackResources(t *testing.T) {
	id := svcIdentity()
	own := tags(naming.TagCluster, "prod", naming.ServiceStackTag, "team/web")
	with := func(base map[string]string, kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range tags(kv...) {
			m[k] = v
		}
		return m
	}
	lbTags := with(own, naming.ServiceResourceTag, "LoadBalancer")
	lbs := []state.LoadBalancer{
		{ARN: "arn:ok", Type: "network", Tags: lbTags},
		{ARN: "arn:alb", Type: "application", Tags: lbTags},
		{ARN: "arn:ingress-tag", Type: "network", Tags: with(lbTags, naming.IngressStackTag, "grp")},
		{ARN: "arn:no-resource", Type: "network", Tags: own},
		{ARN: "arn:other-stack", Type: "network", Tags: with(lbTags, naming.ServiceStackTag, "team/other")},
		{ARN: "arn:other-cluster", Type: "network", Tags: with(lbTags, naming.TagCluster, "dev")},
	}
	got, err := RecogniseLoadBalancers(id, lbs)
	if err != nil || len(got) != 1 || got[0].ARN != "arn:ok" {
		t.Errorf("load balancers = %v, %v; want only arn:ok", got, err)
	}
	_, err = RecogniseLoadBalancers(id, append(lbs, state.LoadBalancer{ARN: "arn:twin", Type: "network", Tags: lbTags}))
	var amb *Ambiguity
	if !errors.As(err, &amb) || !reflect.DeepEqual(amb.IDs, []string{"arn:ok", "arn:twin"}) {
		t.Errorf("two load balancers of one stack: err = %v, want an ambiguity", err)
	}

	sgTags := with(own, naming.ServiceResourceTag, "ManagedLBSecurityGroup")
	sgs := []state.SecurityGroup{
		{ID: "sg-ok", Name: id.ManagedSGName, Tags: sgTags},
		{ID: "sg-other-name", Name: "k8s-team-other-0123456789", Tags: sgTags},
		{ID: "sg-ingress-tag", Name: id.ManagedSGName, Tags: with(sgTags, naming.IngressStackTag, "grp")},
	}
	gotSGs, err := RecogniseManagedSGs(id, sgs)
	if err != nil || len(gotSGs) != 1 || gotSGs[0].ID != "sg-ok" {
		t.Errorf("managed SGs = %v, %v; want only sg-ok", gotSGs, err)
	}
	_, err = RecogniseManagedSGs(id, append(sgs, state.SecurityGroup{ID: "sg-twin", Name: id.ManagedSGName, Tags: sgTags}))
	if !errors.As(err, &amb) || !reflect.DeepEqual(amb.IDs, []string{"sg-ok", "sg-twin"}) {
		t.Errorf("two managed SGs of one stack: err = %v, want an ambiguity", err)
	}

	tgs := []state.TargetGroup{
		{ARN: "tg:ok", Tags: with(own, naming.ServiceResourceTag, "team/web:80")},
		{ARN: "tg:ingress-tag", Tags: with(own, naming.ServiceResourceTag, "team/web:80", naming.IngressStackTag, "grp")},
		{ARN: "tg:no-resource", Tags: own},
	}
	if got := RecogniseTargetGroups(id, tgs); len(got) != 1 || got[0].ARN != "tg:ok" {
		t.Errorf("target groups = %v, want only tg:ok", got)
	}
}

// A Service tagged ingress.k8s.aws/stack=<group> (and the Ingress resource tags) through
// additional-resource-tags is not part of that group: none of its resources is the group's.
func TestRecogniseIngressGroupIgnoresServiceResources(t *testing.T) {
	id := Identity{Cluster: "prod", StackTag: naming.IngressStackTag, StackID: "shop", ResourceTag: naming.IngressResourceTag,
		ManagedSGName: naming.IngressGroupSGName("prod", "shop"), LBType: "application"}
	forged := tags(naming.TagCluster, "prod", naming.ServiceStackTag, "team/web", naming.IngressStackTag, "shop")
	lb := tags(naming.IngressResourceTag, "LoadBalancer")
	for k, v := range forged {
		lb[k] = v
	}
	if got, err := RecogniseLoadBalancers(id, []state.LoadBalancer{{ARN: "arn:nlb", Type: "network", Tags: lb}, {ARN: "arn:nlb2", Type: "application", Tags: lb}}); err != nil || len(got) != 0 {
		t.Errorf("load balancers = %v, %v; want none", got, err)
	}
	sg := tags(naming.IngressResourceTag, "ManagedLBSecurityGroup")
	for k, v := range forged {
		sg[k] = v
	}
	if got, err := RecogniseManagedSGs(id, []state.SecurityGroup{{ID: "sg-1", Name: id.ManagedSGName, Tags: sg}}); err != nil || len(got) != 0 {
		t.Errorf("managed SGs = %v, %v; want none", got, err)
	}
	if got := RecogniseTargetGroups(id, []state.TargetGroup{{ARN: "tg", Tags: sg}}); len(got) != 0 {
		t.Errorf("target groups = %v, want none", got)
	}
}
