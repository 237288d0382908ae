package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/lbsg/lbsg/internal/app"
	"github.com/lbsg/lbsg/internal/config"
	"github.com/lbsg/lbsg/internal/localenv"
	"github.com/lbsg/lbsg/internal/naming"
)

// TestPlanCoversServicesAndIngresses runs the plan command's planner against a real
// kube-apiserver and the AWS emulator: it shows the NLB of a Service and the ALB of an
// Ingress group, and it only reads.
func TestPlanCoversServicesAndIngresses(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel) // after the processes localWorld started have stopped
	moto, plane, world := localWorld(ctx, t, "plan-cluster")
	c := plane.Client
	nlb := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web", Annotations: map[string]string{
			"service.beta.kubernetes.io/aws-load-balancer-type":   "external",
			"service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing"}},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, Ports: []corev1.ServicePort{{Name: "http", Port: 80,
			Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(8080), NodePort: 30081}}},
	}
	backend := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "echo"},
		Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, Ports: []corev1.ServicePort{{Name: "http", Port: 80,
			Protocol: corev1.ProtocolTCP, TargetPort: intstr.FromInt32(8080), NodePort: 30082}}},
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
	if err := c.Create(ctx, nlb); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, backend); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, class); err != nil {
		t.Fatal(err)
	}
	if err := c.Create(ctx, ing); err != nil {
		t.Fatal(err)
	}

	cfg := &config.Config{}
	fs := pflag.NewFlagSet("lbsg", pflag.ContinueOnError)
	cfg.AddFlags(fs)
	if err := fs.Parse([]string{"--cluster-name=plan-cluster", "--aws-region=" + localenv.Region, "--aws-vpc-id=" + world.VPCID,
		"--aws-api-endpoints=EC2=" + moto.Endpoint + ",Elastic Load Balancing v2=" + moto.Endpoint}); err != nil {
		t.Fatal(err)
	}
	engine, clients, err := app.NewEngine(ctx, cfg, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	report, err := planAll(ctx, c, engine)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := report.write(&out); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{
		"Service default/web",
		"IngressGroup shop",
		"create-lb",
		naming.IngressLBName("plan-cluster", true, "", "shop", "internet-facing"),
		naming.IngressGroupSGName("plan-cluster", "shop"),
		"create-listener",
		"create-rule",
		"host * path /* -> (new target-group/default/echo-echo:80)",
		"create the shared backend security group",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("plan output lacks %q:\n%s", want, text)
		}
	}
	if m := clients.Calls.Snapshot().Mutating(); len(m) != 0 {
		t.Errorf("lbsg plan wrote to AWS: %v", m)
	}
	if testing.Verbose() {
		_, _ = os.Stdout.WriteString(text)
	}
}
