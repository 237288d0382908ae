package chart

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	"helm.sh/helm/v3/pkg/lint"
	"helm.sh/helm/v3/pkg/lint/support"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/lbsg/lbsg/internal/config"
)

const (
	release   = "lbsg"
	namespace = "kube-system"
	// upstreamValues is a values file written for upstream's chart.
	upstreamValues = "testdata/upstream-values.yaml"
)

func render(t *testing.T, values map[string]any) *Release {
	t.Helper()
	r, err := Render(release, namespace, values)
	if err != nil {
		t.Fatalf("render: %v", err)
	}
	return r
}

func readUpstreamValues(t *testing.T) map[string]any {
	t.Helper()
	v, err := ReadValues(upstreamValues)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func container(t *testing.T, r *Release) *corev1.Container {
	t.Helper()
	c, err := r.Container()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func object(t *testing.T, r *Release, kind, name string, into any) {
	t.Helper()
	u := r.Find(kind, name)
	if u == nil {
		t.Fatalf("no %s %s rendered; rendered: %v", kind, name, r.Kinds())
	}
	if err := Convert(u, into); err != nil {
		t.Fatal(err)
	}
}

// parseArgs parses the container's arguments as `lbsg controller` does and validates them.
func parseArgs(t *testing.T, args []string) *config.Config {
	t.Helper()
	cfg := &config.Config{}
	fs := pflag.NewFlagSet("lbsg controller", pflag.ContinueOnError)
	cfg.AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("lbsg does not accept the rendered arguments %q: %v", args, err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("lbsg refuses the rendered arguments %q: %v", args, err)
	}
	return cfg
}

func TestChartLintsWithDefaultAndUpstreamValues(t *testing.T) {
	for name, values := range map[string]map[string]any{
		"defaults":        {"clusterName": "my-cluster"},
		"upstream values": readUpstreamValues(t),
		"cert-manager":    {"clusterName": "my-cluster", "enableCertManager": true},
		"no pod webhook":  {"clusterName": "my-cluster", "enablePodReadinessGateInject": false},
	} {
		t.Run(name, func(t *testing.T) {
			l := lint.AllWithKubeVersion(Dir(), values, namespace, nil)
			for _, m := range l.Messages {
				if m.Severity >= support.WarningSev {
					t.Errorf("lint: %v", m)
				}
			}
		})
	}
}

func TestChartLintFailsWithoutClusterName(t *testing.T) {
	l := lint.AllWithKubeVersion(Dir(), nil, namespace, nil)
	if l.HighestSeverity < support.ErrorSev {
		t.Fatalf("lint without clusterName passed: %v", l.Messages)
	}
	var all []string
	for _, m := range l.Messages {
		all = append(all, m.Error())
	}
	if !strings.Contains(strings.Join(all, "\n"), "clusterName") {
		t.Errorf("lint messages do not name clusterName: %v", all)
	}
}

// TestChartDefaultsRenderTheController guards what a plain `helm install --set
// clusterName=…` gets: the objects, the entrypoint's arguments, probes on the health port,
// a non-root container and the IngressClass kept on uninstall.
func TestChartDefaultsRenderTheController(t *testing.T) {
	r := render(t, map[string]any{"clusterName": "my-cluster"})
	want := []string{
		"PodDisruptionBudget/lbsg", "ServiceAccount/lbsg", "Secret/lbsg-tls", "ClusterRole/lbsg", "ClusterRoleBinding/lbsg",
		"Role/lbsg-leader-election", "RoleBinding/lbsg-leader-election", "Service/lbsg-webhook-service", "Deployment/lbsg",
		"IngressClass/alb", "IngressClassParams/alb", "MutatingWebhookConfiguration/lbsg-webhook",
	}
	if got := r.Kinds(); !reflect.DeepEqual(got, want) {
		t.Errorf("rendered %v\nwant     %v", got, want)
	}
	d, err := r.Deployment()
	if err != nil {
		t.Fatal(err)
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 2 {
		t.Errorf("replicas = %v, want 2", d.Spec.Replicas)
	}
	pod := d.Spec.Template.Spec
	if pod.ServiceAccountName != "lbsg" {
		t.Errorf("serviceAccountName = %q", pod.ServiceAccountName)
	}
	c := container(t, r)
	if c.Image != "ghcr.io/lbsg/lbsg:0.1.0" {
		t.Errorf("image = %q, want the repository at the chart's appVersion", c.Image)
	}
	// The image's entrypoint is `/lbsg controller`: the chart must not replace it.
	if len(c.Command) != 0 {
		t.Errorf("command = %q, want the image's entrypoint", c.Command)
	}
	wantArgs := []string{"--cluster-name=my-cluster", "--enable-leader-election=true", "--leader-election-namespace=kube-system"}
	if !reflect.DeepEqual(c.Args, wantArgs) {
		t.Errorf("args = %q, want %q", c.Args, wantArgs)
	}
	cfg := parseArgs(t, c.Args)
	if !cfg.EnableLeaderElection || cfg.LeaderElectionNamespace != namespace {
		t.Errorf("leader election %v in %q, want on in %s", cfg.EnableLeaderElection, cfg.LeaderElectionNamespace, namespace)
	}

	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	healthPort := strings.TrimPrefix(cfg.HealthProbeBindAddr, ":")
	for probe, path := range map[*corev1.Probe]string{c.LivenessProbe: "/healthz", c.ReadinessProbe: "/readyz"} {
		if probe == nil || probe.HTTPGet == nil {
			t.Errorf("no HTTP probe for %s", path)
			continue
		}
		if probe.HTTPGet.Path != path || probe.HTTPGet.Port.String() != healthPort {
			t.Errorf("probe %s:%s, want %s on the health port %s", probe.HTTPGet.Path, probe.HTTPGet.Port.String(), path, healthPort)
		}
	}
	if ports["healthz"] != 61779 || ports["metrics-server"] != 8080 || ports["webhook-server"] != 9443 {
		t.Errorf("container ports %v, want healthz 61779, metrics-server 8080 and webhook-server 9443", ports)
	}
	if d.Spec.Template.Annotations["prometheus.io/port"] != "8080" {
		t.Errorf("pod annotations %v, want prometheus.io/port 8080", d.Spec.Template.Annotations)
	}

	sc, psc := c.SecurityContext, pod.SecurityContext
	if sc == nil || psc == nil || psc.RunAsUser == nil || *psc.RunAsUser != 65532 || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("security context pod %+v container %+v, want non-root 65532, read-only, no privilege escalation, no capabilities", psc, sc)
	}
	if pod.TerminationGracePeriodSeconds == nil || *pod.TerminationGracePeriodSeconds < 30 {
		t.Errorf("terminationGracePeriodSeconds = %v, want at least lbsg's 30 s shutdown", pod.TerminationGracePeriodSeconds)
	}

	var pdb policyv1.PodDisruptionBudget
	object(t, r, "PodDisruptionBudget", "lbsg", &pdb)
	if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 || pdb.Spec.MinAvailable != nil {
		t.Errorf("PDB spec %+v, want maxUnavailable 1", pdb.Spec)
	}
	if !reflect.DeepEqual(pdb.Spec.Selector.MatchLabels, d.Spec.Selector.MatchLabels) {
		t.Errorf("PDB selects %v, the Deployment's Pods are %v", pdb.Spec.Selector.MatchLabels, d.Spec.Selector.MatchLabels)
	}
}

// TestChartIngressClassIsKeptOnUninstall guards that `helm uninstall` never removes the
// IngressClass (nor the parameters it points to): Ingresses of the class would lose it.
func TestChartIngressClassIsKeptOnUninstall(t *testing.T) {
	r := render(t, readUpstreamValues(t))
	var ic networkingv1.IngressClass
	object(t, r, "IngressClass", "alb", &ic)
	if ic.Annotations["helm.sh/resource-policy"] != "keep" {
		t.Errorf("IngressClass annotations %v, want helm.sh/resource-policy: keep", ic.Annotations)
	}
	if ic.Spec.Controller != "ingress.k8s.aws/alb" {
		t.Errorf("controller %q", ic.Spec.Controller)
	}
	// Named after the class, as upstream's chart names it.
	if p := ic.Spec.Parameters; p == nil || p.Kind != "IngressClassParams" || p.Name != "alb" {
		t.Errorf("parameters %+v, want the IngressClassParams alb", p)
	}
	params := r.Find("IngressClassParams", "alb")
	if params == nil {
		t.Fatalf("no IngressClassParams: %v", r.Kinds())
	}
	if params.GetAnnotations()["helm.sh/resource-policy"] != "keep" {
		t.Errorf("IngressClassParams annotations %v, want keep", params.GetAnnotations())
	}
	if s, _, _ := unstructured.NestedString(params.Object, "spec", "scheme"); s != "internal" {
		t.Errorf("IngressClassParams spec.scheme = %q, want internal", s)
	}

	none := render(t, map[string]any{"clusterName": "c", "createIngressClassResource": false})
	if none.Find("IngressClass", "alb") != nil || none.Find("IngressClassParams", "alb") != nil {
		t.Errorf("createIngressClassResource=false rendered %v", none.Kinds())
	}
}

// TestChartUpstreamValuesFileWorks guards that a values file written for upstream's chart
// installs lbsg with each setting where upstream's chart puts it.
func TestChartUpstreamValuesFileWorks(t *testing.T) {
	r := render(t, readUpstreamValues(t))
	c := container(t, r)
	want := []string{
		"--cluster-name=prod-eu-1",
		"--enable-leader-election=true",
		"--leader-election-namespace=kube-system",
		"--aws-region=eu-west-1",
		"--aws-vpc-id=vpc-0a1b2c3d4e5f60718",
		"--aws-api-throttle=Elastic Load Balancing v2:RegisterTargets|DeregisterTargets=4:20,Elastic Load Balancing v2:.*=10:40",
		"--aws-max-retries=5",
		"--log-level=info",
		"--service-max-concurrent-reconciles=5",
		"--ingress-max-concurrent-reconciles=5",
		"--sync-period=1h0m0s",
		"--default-tags=cost-center=4711,team=platform",
		"--enable-backend-security-group=true",
		"--disable-restricted-sg-rules=false",
		"--feature-gates=ListenerRulesTagging=true,NLBSecurityGroup=true",
	}
	if !reflect.DeepEqual(c.Args, want) {
		t.Errorf("args:\n%s\nwant:\n%s", strings.Join(c.Args, "\n"), strings.Join(want, "\n"))
	}
	cfg := parseArgs(t, c.Args)
	if cfg.AWSRegion != "eu-west-1" || cfg.AWSVPCID != "vpc-0a1b2c3d4e5f60718" || cfg.DefaultTags["team"] != "platform" || cfg.AWSMaxRetries != 5 {
		t.Errorf("parsed config %+v", cfg)
	}

	var sa corev1.ServiceAccount
	object(t, r, "ServiceAccount", "aws-load-balancer-controller", &sa)
	if got := sa.Annotations["eks.amazonaws.com/role-arn"]; got != "arn:aws:iam::111122223333:role/AmazonEKSLoadBalancerControllerRole" {
		t.Errorf("IRSA annotation = %q", got)
	}
	var crb rbacv1.ClusterRoleBinding
	object(t, r, "ClusterRoleBinding", "lbsg", &crb)
	if len(crb.Subjects) != 1 || crb.Subjects[0].Name != "aws-load-balancer-controller" || crb.Subjects[0].Namespace != namespace {
		t.Errorf("ClusterRoleBinding subjects %+v, want the ServiceAccount", crb.Subjects)
	}

	d, err := r.Deployment()
	if err != nil {
		t.Fatal(err)
	}
	pod := d.Spec.Template.Spec
	if pod.ServiceAccountName != "aws-load-balancer-controller" {
		t.Errorf("serviceAccountName %q", pod.ServiceAccountName)
	}
	if pod.NodeSelector["node-role"] != "system" || pod.NodeSelector["kubernetes.io/os"] != "linux" {
		t.Errorf("nodeSelector %v", pod.NodeSelector)
	}
	if len(pod.Tolerations) != 2 || pod.Tolerations[0].Key != "CriticalAddonsOnly" || pod.Tolerations[1].Effect != corev1.TaintEffectNoSchedule {
		t.Errorf("tolerations %+v", pod.Tolerations)
	}
	if c.Resources.Requests.Cpu().String() != "100m" || c.Resources.Limits.Memory().String() != "256Mi" {
		t.Errorf("resources %+v", c.Resources)
	}
	if len(c.Env) != 1 || c.Env[0].Name != "AWS_STS_REGIONAL_ENDPOINTS" || c.Env[0].Value != "regional" {
		t.Errorf("env %+v", c.Env)
	}
	if d.Spec.Template.Labels["team"] != "platform" {
		t.Errorf("pod labels %v", d.Spec.Template.Labels)
	}
	if _, ok := d.Spec.Template.Annotations["prometheus.io/scrape"]; ok {
		t.Errorf("scrape annotations with a ServiceMonitor: %v", d.Spec.Template.Annotations)
	}

	sm := r.Find("ServiceMonitor", "lbsg")
	if sm == nil {
		t.Fatalf("no ServiceMonitor: %v", r.Kinds())
	}
	if sm.GetLabels()["release"] != "kube-prometheus-stack" {
		t.Errorf("ServiceMonitor labels %v", sm.GetLabels())
	}
	eps, _, _ := unstructured.NestedSlice(sm.Object, "spec", "endpoints")
	if len(eps) != 1 || eps[0].(map[string]any)["port"] != "metrics-server" || eps[0].(map[string]any)["interval"] != "30s" {
		t.Errorf("ServiceMonitor endpoints %v", eps)
	}
	var svc corev1.Service
	object(t, r, "Service", "lbsg-metrics", &svc)
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].TargetPort.String() != "metrics-server" ||
		!reflect.DeepEqual(svc.Spec.Selector, d.Spec.Selector.MatchLabels) {
		t.Errorf("metrics Service %+v, want the metrics-server port of the Deployment's Pods", svc.Spec)
	}
}

// TestChartValuesBecomeLbsgFlags guards the value → flag mapping of each key, each value
// shape upstream's chart accepts, and lbsg's own keys; every result must parse as lbsg's flags.
func TestChartValuesBecomeLbsgFlags(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values map[string]any
		want   []string // arguments after the three every release has
	}{
		{"awsApiThrottle as a string", map[string]any{"awsApiThrottle": "EC2:.*=10:40"}, []string{"--aws-api-throttle=EC2:.*=10:40"}},
		{"awsApiThrottle as a list (--set awsApiThrottle={a,b})", map[string]any{"awsApiThrottle": []any{"EC2:.*=10:40", "Elastic Load Balancing v2:.*=5:10"}},
			[]string{"--aws-api-throttle=EC2:.*=10:40,Elastic Load Balancing v2:.*=5:10"}},
		{"concurrency", map[string]any{"serviceMaxConcurrentReconciles": 4, "ingressMaxConcurrentReconciles": 2},
			[]string{"--service-max-concurrent-reconciles=4", "--ingress-max-concurrent-reconciles=2"}},
		{"awsMaxRetries 0 is passed", map[string]any{"awsMaxRetries": 0}, []string{"--aws-max-retries=0"}},
		{"enableBackendSG is enableBackendSecurityGroup", map[string]any{"enableBackendSG": false}, []string{"--enable-backend-security-group=false"}},
		{"featureGates merge, controllerConfig wins", map[string]any{"featureGates": map[string]any{"NLBSecurityGroup": true, "IngressPlanAnnotation": true},
			"controllerConfig": map[string]any{"featureGates": map[string]any{"NLBSecurityGroup": false}}},
			[]string{"--feature-gates=IngressPlanAnnotation=true,NLBSecurityGroup=false"}},
		{"ingressClass other than alb", map[string]any{"ingressClass": "internal-alb"}, []string{"--ingress-class=internal-alb"}},
		{"defaultTargetType ip", map[string]any{"defaultTargetType": "ip", "defaultLoadBalancerScheme": "internet-facing"},
			[]string{"--default-target-type=ip", "--default-load-balancer-scheme=internet-facing"}},
		{"serviceTargetENISGTags as upstream's string", map[string]any{"serviceTargetENISGTags": "role=node,env=prod"},
			[]string{"--service-target-eni-security-group-tags=role=node,env=prod"}},
		{"serviceTargetENISGTags as a map", map[string]any{"serviceTargetENISGTags": map[string]any{"role": "node"}},
			[]string{"--service-target-eni-security-group-tags=role=node"}},
		{"tags and class", map[string]any{"externalManagedTags": []any{"owner", "cost"}, "loadBalancerClass": "example.com/nlb",
			"backendSecurityGroup": "sg-0123456789abcdef0", "enableManageBackendSecurityGroupRules": true, "disableRestrictedSecurityGroupRules": true},
			[]string{"--external-managed-tags=owner,cost", "--enable-manage-backend-security-group-rules=true",
				"--backend-security-group=sg-0123456789abcdef0", "--disable-restricted-sg-rules=true", "--load-balancer-class=example.com/nlb"}},
		{"namespace, period, metrics", map[string]any{"watchNamespace": "apps", "syncPeriod": "30m", "metricsBindAddr": ":9090", "logLevel": "debug",
			"awsApiEndpoints": "EC2=https://ec2.example.com"},
			[]string{"--aws-api-endpoints=EC2=https://ec2.example.com", "--metrics-bind-addr=:9090", "--log-level=debug", "--sync-period=30m", "--watch-namespace=apps"}},
		{"lbsg's own", map[string]any{"targetSGRuleBudget": 3, "sgRulesQuota": 100, "driftCheckInterval": "5m", "reconcileTimeout": "2m", "awsApiTimeout": "20s"},
			[]string{"--target-sg-rule-budget=3", "--sg-rules-quota=100", "--drift-check-interval=5m", "--reconcile-timeout=2m", "--aws-api-timeout=20s"}},
		{"orphan grace period", map[string]any{"orphanGracePeriod": "10m"}, []string{"--orphan-grace-period=10m"}},
		{"targetSGSelection", map[string]any{"targetSGSelection": "first-tagged"}, []string{"--target-sg-selection=first-tagged"}},
		{"shared target SG limits", map[string]any{"sgRulesNamespaceShare": 40, "serviceNodePortRange": "20000-22767",
			"allowClientCIDRRulesOutsideNodePortRange": true},
			[]string{"--sg-rules-namespace-share=40", "--service-node-port-range=20000-22767", "--allow-client-cidr-rules-outside-node-port-range=true"}},
		{"a logLevel upstream accepts and lbsg does not know", map[string]any{"logLevel": "warn"}, []string{"--log-level=warn"}},
		{"upstream's values lbsg accepts and ignores", map[string]any{"defaultSSLPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06",
			"targetgroupbindingRequeueDuration": "30s", "maxTargetsPerTargetGroup": 0, "albGatewayMaxConcurrentReconciles": 2},
			[]string{"--alb-gateway-max-concurrent-reconciles=2", "--default-ssl-policy=ELBSecurityPolicy-TLS13-1-2-2021-06",
				"--targetgroupbinding-requeue-duration=30s"}},
		{"Ingress group and class hardening", map[string]any{"ingressGroupNamespaces": "any", "disableIngressClassAnnotation": true,
			"disableIngressGroupNameAnnotation": false},
			[]string{"--ingress-group-namespaces=any", "--disable-ingress-class-annotation=true", "--disable-ingress-group-name-annotation=false"}},
		{"upstream's flags lbsg ignores", map[string]any{"enableShield": false, "enableWaf": false,
			"vpcTags": map[string]any{"Name": "prod"}, "tolerateNonExistentBackendService": false},
			[]string{"--aws-vpc-tags=Name=prod", "--enable-shield=false", "--enable-waf=false", "--tolerate-non-existent-backend-service=false"}},
		{"pod webhook off, own port", map[string]any{"enablePodReadinessGateInject": false, "webhookBindPort": 10443},
			[]string{"--enable-pod-readiness-gate-inject=false", "--webhook-bind-port=10443"}},
		{"pod webhook on, as upstream passes it", map[string]any{"enablePodReadinessGateInject": true},
			[]string{"--enable-pod-readiness-gate-inject=true"}},
		{"extraArgs as a map", map[string]any{"extraArgs": map[string]any{"zap-encoder": "console", "sg-rules-quota": 80}},
			[]string{"--sg-rules-quota=80", "--zap-encoder=console"}},
		{"extraArgs as a list", map[string]any{"extraArgs": []any{"--drift-check-interval=3m"}}, []string{"--drift-check-interval=3m"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			values := map[string]any{"clusterName": "c1"}
			for k, v := range tc.values {
				values[k] = v
			}
			args := container(t, render(t, values)).Args
			base := []string{"--cluster-name=c1", "--enable-leader-election=true", "--leader-election-namespace=kube-system"}
			if !slices.Equal(args[:3], base) || !slices.Equal(args[3:], tc.want) {
				t.Errorf("args\n%q\nwant %q + %q", args, base, tc.want)
			}
			// The zap flags are the binary's, registered next to the config's.
			var lbsgArgs []string
			for _, a := range args {
				if !strings.HasPrefix(a, "--zap-") {
					lbsgArgs = append(lbsgArgs, a)
				}
			}
			parseArgs(t, lbsgArgs)
		})
	}
}

// TestChartRejectsBadValuesNamingTheKey guards that values.schema.json stops a bad value
// before anything is installed, with a message that names the key.
func TestChartRejectsBadValuesNamingTheKey(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values map[string]any
		want   []string
	}{
		{"missing clusterName", map[string]any{}, []string{"clusterName"}},
		{"empty clusterName", map[string]any{"clusterName": ""}, []string{"/clusterName", "minLength"}},
		{"clusterName with a space", map[string]any{"clusterName": "prod eu"}, []string{"/clusterName", "does not match pattern"}},
		{"replicaCount not an integer", map[string]any{"clusterName": "c", "replicaCount": "two"}, []string{"/replicaCount", "want integer"}},
		{"replicaCount 1.5", map[string]any{"clusterName": "c", "replicaCount": 1.5}, []string{"/replicaCount"}},
		{"logLevel not a string", map[string]any{"clusterName": "c", "logLevel": 3}, []string{"/logLevel"}},
		{"bad defaultTargetType", map[string]any{"clusterName": "c", "defaultTargetType": "pod"}, []string{"/defaultTargetType"}},
		{"bad vpcId", map[string]any{"clusterName": "c", "vpcId": "my-vpc"}, []string{"/vpcId"}},
		{"bad backendSecurityGroup", map[string]any{"clusterName": "c", "backendSecurityGroup": "backend"}, []string{"/backendSecurityGroup"}},
		{"feature gate not a bool", map[string]any{"clusterName": "c", "controllerConfig": map[string]any{"featureGates": map[string]any{"NLBSecurityGroup": "yes"}}},
			[]string{"/controllerConfig/featureGates/NLBSecurityGroup", "want boolean"}},
		{"bad syncPeriod", map[string]any{"clusterName": "c", "syncPeriod": "ten hours"}, []string{"/syncPeriod"}},
		{"serviceAccount.create not a bool", map[string]any{"clusterName": "c", "serviceAccount": map[string]any{"create": "yes"}},
			[]string{"/serviceAccount/create", "want boolean"}},
		{"defaultTags not a map", map[string]any{"clusterName": "c", "defaultTags": "team=web"}, []string{"/defaultTags"}},
		{"replicaCount 0", map[string]any{"clusterName": "c", "replicaCount": 0}, []string{"/replicaCount", "minimum"}},
		{"bad targetSGSelection", map[string]any{"clusterName": "c", "targetSGSelection": "any"}, []string{"/targetSGSelection"}},
		{"bad ingressGroupNamespaces", map[string]any{"clusterName": "c", "ingressGroupNamespaces": "all"}, []string{"/ingressGroupNamespaces"}},
		{"bad pod webhook failurePolicy", map[string]any{"clusterName": "c", "podMutatorWebhookConfig": map[string]any{"failurePolicy": "Never"}},
			[]string{"/podMutatorWebhookConfig/failurePolicy", "'Fail', 'Ignore'"}},
		{"pod webhook timeout over the API server's 30 s", map[string]any{"clusterName": "c", "podMutatorWebhookConfig": map[string]any{"timeoutSeconds": 60}},
			[]string{"/podMutatorWebhookConfig/timeoutSeconds", "maximum"}},
		{"webhookBindPort 0", map[string]any{"clusterName": "c", "webhookBindPort": 0}, []string{"/webhookBindPort", "minimum"}},
		{"enablePodReadinessGateInject not a bool", map[string]any{"clusterName": "c", "enablePodReadinessGateInject": "no"},
			[]string{"/enablePodReadinessGateInject", "boolean"}},
		{"webhookNamespaceSelectors not a list", map[string]any{"clusterName": "c", "webhookNamespaceSelectors": map[string]any{"team": "web"}},
			[]string{"/webhookNamespaceSelectors"}},
		{"bad webhookNamespaceSelectors operator", map[string]any{"clusterName": "c",
			"webhookNamespaceSelectors": []any{map[string]any{"key": "team", "operator": "Equals", "values": []any{"web"}}}},
			[]string{"/webhookNamespaceSelectors/0/operator"}},
		{"certManager.issuerRef without a name", map[string]any{"clusterName": "c", "enableCertManager": true,
			"certManager": map[string]any{"issuerRef": map[string]any{"kind": "ClusterIssuer"}}}, []string{"/certManager/issuerRef", "name"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Render(release, namespace, tc.values)
			if err == nil {
				t.Fatal("rendered, want a schema error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not contain %q:\n%v", w, err)
				}
			}
		})
	}
}

// TestChartRejectsConflictsWithAClearMessage guards the checks the schema cannot make.
func TestChartRejectsConflictsWithAClearMessage(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values map[string]any
		want   string
	}{
		{"upstream's image", map[string]any{"clusterName": "c", "image": map[string]any{"repository": "public.ecr.aws/eks/aws-load-balancer-controller"}},
			"image.repository \"public.ecr.aws/eks/aws-load-balancer-controller\" is upstream's controller image"},
		{"both backend SG keys, disagreeing", map[string]any{"clusterName": "c", "enableBackendSecurityGroup": true, "enableBackendSG": false},
			"enableBackendSecurityGroup (true) and enableBackendSG (false) disagree"},
		{"no ServiceAccount name", map[string]any{"clusterName": "c", "serviceAccount": map[string]any{"create": false}},
			"serviceAccount.name is required when serviceAccount.create is false"},
		{"webhookTLS without its CA", map[string]any{"clusterName": "c", "webhookTLS": map[string]any{"cert": "x", "key": "y"}},
			"webhookTLS: cert, key given without the others"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Render(release, namespace, tc.values)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestChartClusterRoleIsTheGeneratedOne guards that the chart grants exactly the
// ClusterRole generated from the code's +kubebuilder:rbac markers (make generate).
func TestChartClusterRoleIsTheGeneratedOne(t *testing.T) {
	generatedPath := filepath.Join(RepoRoot(), "config", "rbac", "role.yaml")
	generated, err := os.ReadFile(generatedPath)
	if err != nil {
		t.Fatal(err)
	}
	copied, err := os.ReadFile(filepath.Join(Dir(), "files", "clusterrole.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(generated, copied) {
		t.Errorf("charts/lbsg/files/clusterrole.yaml differs from config/rbac/role.yaml: run make generate")
	}
	var want rbacv1.ClusterRole
	if err := yaml.UnmarshalStrict(generated, &want); err != nil {
		t.Fatal(err)
	}
	var got rbacv1.ClusterRole
	object(t, render(t, map[string]any{"clusterName": "c"}), "ClusterRole", "lbsg", &got)
	if len(want.Rules) == 0 || !reflect.DeepEqual(got.Rules, want.Rules) {
		t.Errorf("rendered ClusterRole rules\n%+v\nwant the generated\n%+v", got.Rules, want.Rules)
	}
}

// TestChartCRDsAreTheGeneratedOnes guards that crds/ holds config/crd's manifests, byte
// for byte (make generate copies them).
func TestChartCRDsAreTheGeneratedOnes(t *testing.T) {
	want, err := filepath.Glob(filepath.Join(RepoRoot(), "config", "crd", "*.yaml"))
	if err != nil || len(want) == 0 {
		t.Fatalf("no CRDs in config/crd: %v", err)
	}
	got, err := filepath.Glob(filepath.Join(Dir(), "crds", "*"))
	if err != nil {
		t.Fatal(err)
	}
	names := func(paths []string) []string {
		var out []string
		for _, p := range paths {
			out = append(out, filepath.Base(p))
		}
		return out
	}
	if !slices.Equal(names(got), names(want)) {
		t.Fatalf("charts/lbsg/crds has %v, config/crd has %v: run make generate", names(got), names(want))
	}
	for i := range want {
		a, _ := os.ReadFile(want[i])
		b, _ := os.ReadFile(got[i])
		if !bytes.Equal(a, b) {
			t.Errorf("charts/lbsg/crds/%s differs from config/crd: run make generate", filepath.Base(want[i]))
		}
	}
	r := render(t, map[string]any{"clusterName": "c"})
	if len(r.CRDs) != len(want) || r.CRDs[0].GetName() != "ingressclassparams.elbv2.k8s.aws" {
		t.Errorf("the chart installs CRDs %v", r.CRDs)
	}
}

// TestChartDashboardConfigMapForGrafanaSidecar guards the dashboard ConfigMap: off by
// default, and when on, dashboards/lbsg.json under the sidecar's label.
func TestChartDashboardConfigMapForGrafanaSidecar(t *testing.T) {
	if r := render(t, map[string]any{"clusterName": "c"}); r.Find("ConfigMap", "lbsg-dashboard") != nil {
		t.Errorf("dashboard rendered by default")
	}
	r := render(t, map[string]any{"clusterName": "c", "dashboards": map[string]any{"enabled": true, "namespace": "monitoring"}})
	var cm corev1.ConfigMap
	object(t, r, "ConfigMap", "lbsg-dashboard", &cm)
	if cm.Labels["grafana_dashboard"] != "1" || cm.Namespace != "monitoring" {
		t.Errorf("ConfigMap labels %v in %q, want grafana_dashboard: \"1\" in monitoring", cm.Labels, cm.Namespace)
	}
	dash, err := os.ReadFile(filepath.Join(Dir(), "dashboards", "lbsg.json"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(cm.Data["lbsg.json"]) != strings.TrimSpace(string(dash)) {
		t.Errorf("the ConfigMap's lbsg.json is not dashboards/lbsg.json")
	}
}

// TestChartPodDisruptionBudgetTakesOneBound guards that a user's minAvailable replaces the
// default maxUnavailable (Kubernetes refuses both), and that one replica gets no PDB
// (it would block every node drain).
func TestChartPodDisruptionBudgetTakesOneBound(t *testing.T) {
	r := render(t, map[string]any{"clusterName": "c", "podDisruptionBudget": map[string]any{"minAvailable": 1}})
	var pdb policyv1.PodDisruptionBudget
	object(t, r, "PodDisruptionBudget", "lbsg", &pdb)
	if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() != 1 || pdb.Spec.MaxUnavailable != nil {
		t.Errorf("PDB spec %+v, want minAvailable 1 alone", pdb.Spec)
	}
	if r := render(t, map[string]any{"clusterName": "c", "replicaCount": 1}); r.Find("PodDisruptionBudget", "lbsg") != nil {
		t.Errorf("PDB rendered for one replica")
	}
}

// TestChartNoRBACNoServiceAccount guards rbac.create=false and serviceAccount.create=false,
// for clusters whose RBAC and ServiceAccounts are managed elsewhere.
func TestChartNoRBACNoServiceAccount(t *testing.T) {
	r := render(t, map[string]any{"clusterName": "c", "rbac": map[string]any{"create": false},
		"serviceAccount": map[string]any{"create": false, "name": "lbsg-sa"}})
	for _, kind := range []string{"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"} {
		for _, o := range r.Objects {
			if o.GetKind() == kind {
				t.Errorf("%s %s rendered", kind, o.GetName())
			}
		}
	}
	d, err := r.Deployment()
	if err != nil {
		t.Fatal(err)
	}
	if d.Spec.Template.Spec.ServiceAccountName != "lbsg-sa" {
		t.Errorf("serviceAccountName %q", d.Spec.Template.Spec.ServiceAccountName)
	}
}

// TestChartDocsListEveryValue guards docs/helm.md: every top-level key of values.yaml is
// in its table.
func TestChartDocsListEveryValue(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(RepoRoot(), "docs", "helm.md"))
	if err != nil {
		t.Fatal(err)
	}
	values, err := ReadValues(filepath.Join(Dir(), "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for k := range values {
		if !strings.Contains(string(doc), "`"+k) {
			t.Errorf("docs/helm.md does not list the value %s", k)
		}
	}
}
