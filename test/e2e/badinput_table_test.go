package e2e

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	elbv2api "github.com/lbsg/lbsg/api/v1beta1"
	"github.com/lbsg/lbsg/internal/annotations"
	"github.com/lbsg/lbsg/internal/app"
	"github.com/lbsg/lbsg/internal/cloud"
	"github.com/lbsg/lbsg/internal/config"
	"github.com/lbsg/lbsg/internal/controller"
	"github.com/lbsg/lbsg/internal/localenv"
)

// inputCase is one row of the bad-input table: an object (or a flag list) whose input is
// wrong, and what lbsg must say about it. Every row asserts the Event reason, that the
// Event and the condition name the key, quote the value and give a fix, plus the
// row's own substrings; and, for the whole table, that AWS saw no write at all.
type inputCase struct {
	name string
	kind string // "Service", "Ingress" or "IngressClassParams" (an Ingress of a class with those params)
	ann  map[string]string
	// svc and ing tweak the object beyond its annotations.
	svc    func(*corev1.Service)
	params *elbv2api.IngressClassParamsSpec
	key    string   // the key every message names
	value  string   // the bad value as the message quotes it ("" when it is not quoted)
	want   []string // further substrings of the Event and the condition
}

const tableEventReason = "FailedBuildModel"

// tableService is a Service lbsg owns, with exactly the annotations given (empty values
// kept, unlike webserver, which drops them).
func tableService(name string, ann map[string]string) *corev1.Service {
	a := map[string]string{
		annotations.SvcLoadBalancerType: "external",
		annotations.SvcScheme:           "internet-facing",
		annotations.SvcNLBTargetType:    "instance",
	}
	for k, v := range ann {
		a[k] = v
	}
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, Annotations: a},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeLoadBalancer,
			Selector: map[string]string{"role": "webserver"},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(80)}},
		},
	}
}

// tableIngress is an Ingress of class, internet-facing unless the row sets the scheme,
// with exactly the annotations given.
func tableIngress(name, class string, ann map[string]string) *networkingv1.Ingress {
	a := map[string]string{annotations.IngScheme: "internet-facing"}
	for k, v := range ann {
		a[k] = v
	}
	ing := ingress(name, "table-backend", a)
	ing.Spec.IngressClassName = aws.String(class)
	return ing
}

func manyTags(n int) string {
	var tags []string
	for i := 0; i < n; i++ {
		tags = append(tags, fmt.Sprintf("t%d=v", i))
	}
	return strings.Join(tags, ",")
}

// serviceInputCases covers every Service annotation lbsg reads with an empty value, and the
// kinds of wrong values each family of keys can get.
func serviceInputCases(sixSGs string) []inputCase {
	var cs []inputCase
	for i, key := range annotations.ServiceKeys {
		if key == annotations.SvcLoadBalancerType {
			continue // an empty type is not lbsg's to judge: the Service is not an NLB Service
		}
		cs = append(cs, inputCase{name: fmt.Sprintf("svc-empty-%02d", i), kind: "Service", ann: map[string]string{key: ""}, key: key, want: []string{"the value is empty"}})
		if key != annotations.SvcSourceRanges { // the API server refuses a blank source range itself
			cs = append(cs, inputCase{name: fmt.Sprintf("svc-blank-%02d", i), kind: "Service", ann: map[string]string{key: "  "}, key: key, want: []string{"the value is empty"}})
		}
	}
	long := strings.Repeat("x", 4096)
	s := func(name, key, value string, want ...string) inputCase {
		return inputCase{name: name, kind: "Service", ann: map[string]string{key: value}, key: key, value: value, want: want}
	}
	cs = append(cs,
		s("svc-list-subnets", annotations.SvcSubnets, "subnet-a,,subnet-b", "entry 2 of the comma-separated list is empty"),
		s("svc-list-sgs", annotations.SvcSecurityGroups, "sg-1,,sg-2", "entry 2 of the comma-separated list is empty"),
		s("svc-list-prefix", annotations.SvcPrefixLists, "pl-1,,pl-2", "entry 2 of the comma-separated list is empty"),
		s("svc-tag-elbv2", annotations.SvcAdditionalTags, "elbv2.k8s.aws/resource=backend-sg", "is reserved"),
		s("svc-tag-elbv2-cluster", annotations.SvcAdditionalTags, "elbv2.k8s.aws/cluster=other", "is reserved"),
		s("svc-tag-ingress-stack", annotations.SvcAdditionalTags, "ingress.k8s.aws/stack=web", "is reserved"),
		s("svc-tag-service-stack", annotations.SvcAdditionalTags, "service.k8s.aws/stack=default/other", "is reserved"),
		s("svc-tag-service-res", annotations.SvcAdditionalTags, "service.k8s.aws/resource=ManagedLBSecurityGroup", "is reserved"),
		s("svc-tag-k8s-cluster", annotations.SvcAdditionalTags, "kubernetes.io/cluster/e2e-cluster=owned", "is reserved"),
		s("svc-tag-aws", annotations.SvcAdditionalTags, "aws:cloudformation:stack-name=x", "is reserved"),
		s("svc-tag-upper", annotations.SvcAdditionalTags, "ELBV2.K8S.AWS/resource=backend-sg", "is reserved"),
		s("svc-tag-name", annotations.SvcAdditionalTags, "team=b,Name=corp-only", `tag key "Name" is reserved`, "remove the Name tag"),
		s("svc-tag-value-300", annotations.SvcAdditionalTags, "team="+strings.Repeat("v", 300), "AWS allows at most 256"),
		s("svc-tag-key-129", annotations.SvcAdditionalTags, strings.Repeat("k", 129)+"=v", "AWS allows at most 128"),
		s("svc-tag-char", annotations.SvcAdditionalTags, "a;b=1", "character AWS does not accept"),
		s("svc-tag-51", annotations.SvcAdditionalTags, manyTags(51), "at most 50"),
		s("svc-tag-noeq", annotations.SvcAdditionalTags, "team", ""),
		s("svc-tag-trailing", annotations.SvcAdditionalTags, "a=1,", "entry 2 of the comma-separated list is empty"),
		s("svc-scheme-public", annotations.SvcScheme, "public", "internet-facing"),
		s("svc-scheme-4k", annotations.SvcScheme, long, "…"),
		// The legacy internal annotation counts only where the scheme annotation is absent.
		inputCase{name: "svc-internal-maybe", kind: "Service", ann: map[string]string{annotations.SvcInternal: "maybe"},
			svc: func(s *corev1.Service) { delete(s.Annotations, annotations.SvcScheme) }, key: annotations.SvcInternal, value: "maybe"},
		s("svc-iptype-ipv5", annotations.SvcIPAddressType, "ipv5", "dualstack"),
		s("svc-target-pod", annotations.SvcNLBTargetType, "pod", ""),
		s("svc-sgs-six", annotations.SvcSecurityGroups, sixSGs, "exceed the limit of 5"),
		s("svc-sgs-unknown-id", annotations.SvcSecurityGroups, "sg-0123456789abcdef0", "couldn't find all security groups"),
		s("svc-sgs-unknown-name", annotations.SvcSecurityGroups, "no-such-frontend-sg", "Name tag"),
		s("svc-sgs-300", annotations.SvcSecurityGroups, strings.Repeat("n", 300), "at most 256"),
		s("svc-subnets-300", annotations.SvcSubnets, strings.Repeat("n", 300), "at most 256"),
		s("svc-prefix-name", annotations.SvcPrefixLists, "my-list", ""),
		s("svc-ranges-v6", annotations.SvcSourceRanges, "2001:db8::/32", "dualstack"),
		s("svc-manage-maybe", annotations.SvcManageBackendRules, "maybe", ""),
		s("svc-disable-sg-maybe", annotations.SvcDisableNLBSG, "maybe", ""),
		s("svc-icmp-yes", annotations.SvcICMPForPathMTU, "yes", "on"),
		s("svc-privatelink-maybe", annotations.SvcPrivateLinkEnforce, "maybe", "off"),
		s("svc-hc-port-99999", annotations.SvcHealthCheckPort, "99999", ""),
		s("svc-hc-port-0", annotations.SvcHealthCheckPort, "0", ""),
		s("svc-hc-port-word", annotations.SvcHealthCheckPort, "http", ""),
		s("svc-hc-proto-ftp", annotations.SvcHealthCheckProtocol, "FTP", ""),
		s("svc-hc-path-rel", annotations.SvcHealthCheckPath, "healthz", ""),
		s("svc-hc-path-space", annotations.SvcHealthCheckPath, "/a b", "spaces"),
		s("svc-hc-path-1025", annotations.SvcHealthCheckPath, "/"+strings.Repeat("p", 1024), "at most 1024"),
		s("svc-hc-interval-word", annotations.SvcHealthCheckInterval, "often", ""),
		s("svc-node-labels", annotations.SvcTargetNodeLabels, "role", ""),
		s("svc-tg-attrs", annotations.SvcTargetGroupAttributes, "deregistration", ""),
		s("svc-name-40", annotations.SvcLoadBalancerName, strings.Repeat("n", 40), ""),
	)
	return cs
}

// ingressInputCases covers every Ingress annotation lbsg reads with an empty value, and
// wrong values of each family; each Ingress forms its own group.
func ingressInputCases(sixSGs string) []inputCase {
	var cs []inputCase
	keys := append(append([]string(nil), annotations.IngressKeys...), annotations.BackendKeys...)
	for i, key := range keys {
		cs = append(cs, inputCase{name: fmt.Sprintf("ing-empty-%02d", i), kind: "Ingress", ann: map[string]string{key: ""}, key: key, want: []string{"the value is empty"}})
	}
	g := func(name, key, value string, want ...string) inputCase {
		return inputCase{name: name, kind: "Ingress", ann: map[string]string{key: value}, key: key, value: value, want: want}
	}
	cs = append(cs,
		g("ing-tag-elbv2", annotations.IngTags, "elbv2.k8s.aws/resource=backend-sg", "is reserved"),
		g("ing-tag-stack", annotations.IngTags, "ingress.k8s.aws/stack=other", "is reserved"),
		g("ing-tag-k8s-cluster", annotations.IngTags, "kubernetes.io/cluster/e2e-cluster=owned", "is reserved"),
		g("ing-tag-name", annotations.IngTags, "Name=corp-only", `tag key "Name" is reserved`, "remove the Name tag"),
		g("ing-tag-51", annotations.IngTags, manyTags(51), "at most 50"),
		g("ing-ports-json", annotations.IngListenPorts, `[{"HTTP":80}`, "listen-ports"),
		g("ing-ports-zero", annotations.IngListenPorts, `[{"HTTP":0}]`, "[1, 65535]"),
		g("ing-ports-tcp", annotations.IngListenPorts, `[{"TCP":80}]`, "[HTTP, HTTPS]"),
		g("ing-cidr-08", annotations.IngInboundCIDRs, "10.0.0.0/08", "not a valid CIDR"),
		g("ing-cidr-v6-00", annotations.IngInboundCIDRs, "::/00", "not a valid CIDR"),
		g("ing-cidr-v6-on-ipv4", annotations.IngInboundCIDRs, "2001:db8::/32", "dualstack"),
		g("ing-cidr-word", annotations.IngInboundCIDRs, "office", "not a valid CIDR"),
		g("ing-cidr-list", annotations.IngInboundCIDRs, "10.0.0.0/8,,10.1.0.0/16", "entry 2 of the comma-separated list is empty"),
		g("ing-order-2000", annotations.IngGroupOrder, "2000", ""),
		g("ing-order-word", annotations.IngGroupOrder, "first", ""),
		g("ing-group-upper", annotations.IngGroupName, "Bad_Group", ""),
		g("ing-group-64", annotations.IngGroupName, strings.Repeat("g", 64), ""),
		g("ing-scheme-public", annotations.IngScheme, "public", "internet-facing"),
		g("ing-iptype-ipv5", annotations.IngIPAddressType, "ipv5", ""),
		g("ing-target-pod", annotations.IngTargetType, "pod", ""),
		g("ing-backend-tcp", annotations.IngBackendProtocol, "TCP", ""),
		g("ing-hc-port-99999", annotations.IngHealthCheckPort, "99999", ""),
		g("ing-hc-path-rel", annotations.IngHealthCheckPath, "healthz", ""),
		g("ing-prefix-name", annotations.IngPrefixLists, "my-list", ""),
		g("ing-sgs-six", annotations.IngSecurityGroups, sixSGs, "exceed the limit of 5"),
		g("ing-sgs-unknown", annotations.IngSecurityGroups, "sg-0000000000000dead", "couldn't find all security groups"),
		g("ing-manage-maybe", annotations.IngManageBackendRules, "maybe", ""),
	)
	return cs
}

// paramsInputCases are IngressClassParams an administrator got wrong: every Ingress of the
// class reports them.
func paramsInputCases() []inputCase {
	p := func(name, key, value string, spec elbv2api.IngressClassParamsSpec, want ...string) inputCase {
		return inputCase{name: name, kind: "IngressClassParams", params: &spec, key: key, value: value, want: want}
	}
	return []inputCase{
		p("params-tag-elbv2", "spec.tags", "elbv2.k8s.aws/resource=backend-sg",
			elbv2api.IngressClassParamsSpec{Tags: []elbv2api.Tag{{Key: "elbv2.k8s.aws/resource", Value: "backend-sg"}}}, "is reserved"),
		p("params-tag-k8s-cluster", "spec.tags", "kubernetes.io/cluster/x=owned",
			elbv2api.IngressClassParamsSpec{Tags: []elbv2api.Tag{{Key: "kubernetes.io/cluster/x", Value: "owned"}}}, "is reserved"),
		p("params-tag-name", "spec.tags", "Name=corp-only",
			elbv2api.IngressClassParamsSpec{Tags: []elbv2api.Tag{{Key: "Name", Value: "corp-only"}}}, `tag key "Name" is reserved`),
		p("params-cidr-08", "spec.inboundCIDRs", "10.0.0.0/08",
			elbv2api.IngressClassParamsSpec{InboundCIDRs: []string{"10.0.0.0/08"}}, "not a valid CIDR"),
		p("params-cidr-word", "spec.inboundCIDRs", "office",
			elbv2api.IngressClassParamsSpec{InboundCIDRs: []string{"office"}}, "not a valid CIDR"),
		p("params-prefix-name", "spec.prefixListsIDs", "my-list",
			elbv2api.IngressClassParamsSpec{PrefixListsIDs: []string{"my-list"}}, "not a managed prefix list ID"),
	}
}

// flagInputCase is a controller flag list lbsg must refuse at start-up, before any AWS call.
type flagInputCase struct {
	name string
	args []string
	want []string
}

func flagInputCases() []flagInputCase {
	return []flagInputCase{
		{"cluster-comma", []string{"--cluster-name=prod,eu"}, []string{"--cluster-name", "prod,eu", "fix:"}},
		{"cluster-space", []string{"--cluster-name=prod eu"}, []string{"--cluster-name", "prod eu", "fix:"}},
		{"cluster-equals", []string{"--cluster-name=a=b"}, []string{"--cluster-name", "a=b", "fix:"}},
		{"cluster-long", []string{"--cluster-name=" + strings.Repeat("c", 101)}, []string{"--cluster-name", "at most 100", "fix:"}},
		{"cluster-empty", []string{"--cluster-name="}, []string{"cluster name must be specified"}},
		{"default-tags-elbv2", []string{"--default-tags=elbv2.k8s.aws/cluster=other"}, []string{"elbv2.k8s.aws/cluster", "reserved"}},
		{"default-tags-k8s", []string{"--default-tags=kubernetes.io/cluster/x=owned"}, []string{"kubernetes.io/cluster/x", "reserved"}},
		{"default-tags-service", []string{"--default-tags=service.k8s.aws/stack=x"}, []string{"service.k8s.aws/stack", "reserved"}},
		{"default-tags-48", []string{"--default-tags=" + manyTags(48)}, []string{"--default-tags", "at most 47"}},
		{"default-tags-long-value", []string{"--default-tags=team=" + strings.Repeat("v", 300)}, []string{"--default-tags", "256"}},
	}
}

// TestBadInputTable is the bad-input table: more than a hundred wrong inputs across Service
// and Ingress annotations, IngressClassParams and flags. Each gets its Event (reason
// FailedBuildModel) and condition naming the key, the value and the fix; lbsg makes no AWS
// write for any of them, and a flag it refuses stops it before it reads AWS at all.
func TestBadInputTable(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	var six []string
	for i := 0; i < 6; i++ {
		six = append(six, h.userSG(fmt.Sprintf("table-extra-%d", i)))
	}
	sixSGs := strings.Join(six, ",")
	inventory := h.albAWSInventory()

	t.Run("flags", func(t *testing.T) {
		for _, c := range flagInputCases() {
			cfg := &config.Config{}
			fs := pflag.NewFlagSet("lbsg", pflag.ContinueOnError)
			cfg.AddFlags(fs)
			base := []string{"--cluster-name=" + h.world.Cluster, "--aws-region=" + localenv.Region, "--aws-vpc-id=" + h.world.VPCID,
				"--aws-api-endpoints=EC2=" + moto.Endpoint + ",Elastic Load Balancing v2=" + moto.Endpoint,
				"--enable-leader-election=false", "--metrics-bind-addr=0", "--health-probe-bind-addr=0"}
			if err := fs.Parse(append(base, c.args...)); err != nil {
				t.Errorf("%s: flags refused by the parser, not by validation: %v", c.name, err)
				continue
			}
			ctx, cancel := context.WithTimeout(h.ctx, 20*time.Second)
			started := false
			err := app.Run(ctx, cfg, app.RunOptions{RestConfig: plane.Config, SkipNameValidation: true,
				Started: func(*controller.Engine, *cloud.Clients) { started = true }})
			cancel()
			if err == nil || started {
				t.Errorf("%s: lbsg started with %v (err %v)", c.name, c.args, err)
				continue
			}
			if !containsAll(err.Error(), c.want) {
				t.Errorf("%s: error %q does not hold %q", c.name, err.Error(), c.want)
			}
		}
	})

	h.startController()
	h.ensureIngressClass(albClass, "")
	h.create(backendService("table-backend", 30090, nil))
	before := h.counts()

	cases := append(append(serviceInputCases(sixSGs), ingressInputCases(sixSGs)...), paramsInputCases()...)
	if n := len(cases) + len(flagInputCases()); n < 100 {
		t.Fatalf("the table has %d cases; it must keep at least 100", n)
	}
	for _, c := range cases {
		switch c.kind {
		case "Service":
			svc := tableService(c.name, c.ann)
			if c.svc != nil {
				c.svc(svc)
			}
			h.create(svc)
		case "Ingress":
			h.create(tableIngress(c.name, albClass, c.ann))
		case "IngressClassParams":
			h.create(&elbv2api.IngressClassParams{ObjectMeta: metav1.ObjectMeta{Name: c.name}, Spec: *c.params})
			h.ensureIngressClass(c.name, c.name)
			h.create(tableIngress(c.name, c.name, nil))
		}
	}

	// One list of Events per poll for the whole table.
	kindOf := func(c inputCase) string {
		if c.kind == "Service" {
			return "Service"
		}
		return "Ingress"
	}
	matches := func(c inputCase, msg string) bool {
		subs := append([]string{c.key, "fix:"}, c.want...)
		if c.value != "" {
			subs = append(subs, shortValue(c.value))
		}
		return mentionsAll(msg, nonEmpty(subs))
	}
	pending := map[string]inputCase{}
	for _, c := range cases {
		pending[c.name] = c
	}
	deadline := time.Now().Add(3 * time.Minute)
	notes := map[string][]string{}
	for len(pending) > 0 && time.Now().Before(deadline) {
		list := &eventsv1.EventList{}
		if err := h.k8s.List(h.ctx, list, client.InNamespace("default")); err != nil {
			t.Fatalf("list events: %v", err)
		}
		notes = map[string][]string{}
		for _, e := range list.Items {
			if e.Reason == tableEventReason {
				notes[e.Regarding.Kind+"/"+e.Regarding.Name] = append(notes[e.Regarding.Kind+"/"+e.Regarding.Name], e.Note)
			}
		}
		for name, c := range pending {
			for _, m := range notes[kindOf(c)+"/"+name] {
				if matches(c, m) {
					delete(pending, name)
					break
				}
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	names := make([]string, 0, len(pending))
	for name := range pending {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		c := pending[name]
		t.Errorf("%s: no %s Event naming %q with value %q, a fix and %q; Events: %q", name, tableEventReason, c.key, shortValue(c.value), c.want, notes[kindOf(c)+"/"+name])
	}

	// The condition says the same.
	for _, c := range cases {
		var cond string
		if c.kind == "Service" {
			cond = conditionMessage(h.service(c.name))
		} else {
			cond = ingressCondition(h.getIngress(c.name))
		}
		if !strings.HasPrefix(cond, "False InvalidConfiguration") || !matches(c, cond) {
			t.Errorf("%s: condition = %q", c.name, cond)
		}
	}

	if w := h.counts().Sub(before).Mutating(); len(w) != 0 {
		t.Errorf("AWS writes for bad input: %v", w)
	}
	if got := h.albAWSInventory(); got != inventory {
		t.Errorf("AWS inventory changed:\n%s\nwas\n%s", got, inventory)
	}
}

// shortValue is the part of a bad value every message quotes: long values are shortened
// to their first characters.
func shortValue(v string) string {
	if len(v) > 32 {
		return v[:32]
	}
	return v
}

func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
