package main

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/lbsg/lbsg/internal/app"
	"github.com/lbsg/lbsg/internal/config"
	"github.com/lbsg/lbsg/internal/controller"
	"github.com/lbsg/lbsg/internal/localenv"
	"github.com/lbsg/lbsg/internal/spec"
)

// TestPlanCommandPrintsWhatTheReconcilersApply builds a cluster (a Service and an
// Ingress group, on a real kube-apiserver and the emulator), runs the planning of the
// Service and Ingress-group reconcilers and the plan command's, and asserts the same
// plans: lbsg plan reads the same snapshot and calls the same planner, with no
// difference in what it may create (the shared backend SG is a change of both).
func TestPlanCommandPrintsWhatTheReconcilersApply(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	moto, plane, world := localWorld(ctx, t, "same-cluster")
	c := plane.Client
	nlb := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web", Annotations: map[string]string{
			"service.beta.kubernetes.io/aws-load-balancer-type":   "external",
			"service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing"}},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Name: "http", Port: 80,
			Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(8080), NodePort: 30091}}},
	}
	backend := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "echo"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Name: "http", Port: 80,
			Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(8080), NodePort: 30092}}},
	}
	class := &networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "alb"},
		Spec: networkingv1.IngressClassSpec{Controller: "ingress.k8s.aws/alb"}}
	prefix := networkingv1.PathTypePrefix
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "echo", Annotations: map[string]string{
			"alb.ingress.kubernetes.io/group.name": "shop", "alb.ingress.kubernetes.io/scheme": "internet-facing"}},
		Spec: networkingv1.IngressSpec{IngressClassName: aws.String("alb"), Rules: []networkingv1.IngressRule{{
			IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{
				Path: "/", PathType: &prefix, Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
					Name: "echo", Port: networkingv1.ServiceBackendPort{Number: 80}}}}}}}}}},
	}
	for _, obj := range []client.Object{nlb, backend, class, ing} {
		if err := c.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}

	cfg := &config.Config{}
	fs := pflag.NewFlagSet("lbsg", pflag.ContinueOnError)
	cfg.AddFlags(fs)
	if err := fs.Parse([]string{"--cluster-name=same-cluster", "--aws-region=" + localenv.Region, "--aws-vpc-id=" + world.VPCID,
		"--aws-api-endpoints=EC2=" + moto.Endpoint + ",Elastic Load Balancing v2=" + moto.Endpoint}); err != nil {
		t.Fatal(err)
	}
	engine, _, err := app.NewEngine(ctx, cfg, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	svcs := &controller.ServiceReconciler{Client: c, Engine: engine}
	groups := &controller.IngressGroupReconciler{Client: c, Engine: engine, CRDs: controller.CRDs{Params: true}}
	svcPlan, err := svcs.Plan(ctx, nlb)
	if err != nil {
		t.Fatal(err)
	}
	groupPlan, err := groups.Plan(ctx, spec.IngressGroupID{Name: "shop"})
	if err != nil {
		t.Fatal(err)
	}
	if len(svcPlan.Problems) > 0 || svcPlan.Plan.Empty() || groupPlan == nil || len(groupPlan.Problems) > 0 || groupPlan.Plan.Empty() {
		t.Fatalf("the reconcilers plan nothing for a new Service and Ingress group: %+v %+v", svcPlan, groupPlan)
	}

	report, err := planAll(ctx, c, engine)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]StackReport{}
	for _, s := range report.Stacks {
		got[s.Owner.String()] = s
	}
	for _, sp := range []*controller.StackPlan{svcPlan, groupPlan} {
		s, ok := got[sp.Owner.String()]
		if !ok {
			t.Errorf("lbsg plan has no plan for %s", sp.Owner)
			continue
		}
		if diff := cmp.Diff(sp.Plan, s.Plan); diff != "" {
			t.Errorf("lbsg plan differs from the reconciler's plan for %s (-reconciler +lbsg plan):\n%s", sp.Owner, diff)
		}
	}
}
