package chart

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
)

const (
	webhookConfigName  = "lbsg-webhook"
	webhookServiceName = "lbsg-webhook-service"
	webhookSecretName  = "lbsg-tls"
	// The flags' defaults: --webhook-cert-dir, --webhook-bind-port.
	webhookCertDir = "/tmp/k8s-webhook-server/serving-certs"
	webhookPort    = 9443
)

// webhookDNSNames are the names the API server may dial the webhook Service by.
func webhookDNSNames(domain string) []string {
	return []string{
		webhookServiceName,
		webhookServiceName + "." + namespace,
		webhookServiceName + "." + namespace + ".svc",
		webhookServiceName + "." + namespace + ".svc." + domain,
	}
}

func podWebhook(t *testing.T, r *Release) (*admissionregistrationv1.MutatingWebhookConfiguration, *admissionregistrationv1.MutatingWebhook) {
	t.Helper()
	var cfg admissionregistrationv1.MutatingWebhookConfiguration
	object(t, r, "MutatingWebhookConfiguration", webhookConfigName, &cfg)
	if len(cfg.Webhooks) != 1 || cfg.Webhooks[0].Name != "mpod.elbv2.k8s.aws" {
		t.Fatalf("webhooks %+v, want mpod.elbv2.k8s.aws alone", cfg.Webhooks)
	}
	return &cfg, &cfg.Webhooks[0]
}

func parseCert(t *testing.T, what string, data []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("%s is not a PEM certificate: %q", what, data)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return c
}

// verifyServing checks that the Secret's tls.crt and tls.key are a pair, and that tls.crt
// is valid for every name of the webhook Service under the CA the API server is given.
func verifyServing(t *testing.T, secret *corev1.Secret, caBundle []byte, domain string) {
	t.Helper()
	if _, err := tls.X509KeyPair(secret.Data["tls.crt"], secret.Data["tls.key"]); err != nil {
		t.Errorf("tls.crt and tls.key are not a pair: %v", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caBundle) {
		t.Fatalf("caBundle holds no PEM certificate: %q", caBundle)
	}
	leaf := parseCert(t, "tls.crt", secret.Data["tls.crt"])
	for _, name := range webhookDNSNames(domain) {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
			t.Errorf("the serving certificate does not verify for %s under the caBundle: %v", name, err)
		}
	}
}

// TestChartPodWebhookByDefault guards what a plain install gets for the pod readiness gate
// webhook: the webhook as upstream's (path, rules, selectors, failure policy), a Service
// that reaches every replica's webhook-server port, and a Secret whose serving certificate
// verifies for the Service's names under the caBundle, mounted where lbsg reads it.
func TestChartPodWebhookByDefault(t *testing.T) {
	r := render(t, map[string]any{"clusterName": "c"})
	_, wh := podWebhook(t, r)

	svcRef := wh.ClientConfig.Service
	if svcRef == nil || svcRef.Name != webhookServiceName || svcRef.Namespace != namespace ||
		svcRef.Path == nil || *svcRef.Path != "/mutate-v1-pod" || svcRef.Port == nil || *svcRef.Port != 443 {
		t.Errorf("clientConfig.service %+v, want %s/%s:443 /mutate-v1-pod", svcRef, namespace, webhookServiceName)
	}
	if wh.ClientConfig.URL != nil {
		t.Errorf("clientConfig.url %q, want the Service", *wh.ClientConfig.URL)
	}
	wantRules := []admissionregistrationv1.RuleWithOperations{{
		Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
		Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
	}}
	for i := range wh.Rules {
		wh.Rules[i].Scope = nil
	}
	if !reflect.DeepEqual(wh.Rules, wantRules) {
		t.Errorf("rules %+v, want CREATE of v1 pods", wh.Rules)
	}
	if !slices.Equal(wh.AdmissionReviewVersions, []string{"v1"}) {
		t.Errorf("admissionReviewVersions %q", wh.AdmissionReviewVersions)
	}
	if wh.SideEffects == nil || *wh.SideEffects != admissionregistrationv1.SideEffectClassNone {
		t.Errorf("sideEffects %v, want None", wh.SideEffects)
	}
	// Upstream's chart's default: without lbsg, Pods are created without readiness gates.
	if wh.FailurePolicy == nil || *wh.FailurePolicy != admissionregistrationv1.Ignore {
		t.Errorf("failurePolicy %v, want upstream's Ignore", wh.FailurePolicy)
	}
	if wh.TimeoutSeconds == nil || *wh.TimeoutSeconds != 10 {
		t.Errorf("timeoutSeconds %v, want 10", wh.TimeoutSeconds)
	}
	wantNS := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
		{Key: "elbv2.k8s.aws/pod-readiness-gate-inject", Operator: metav1.LabelSelectorOpIn, Values: []string{"enabled"}}}}
	if !reflect.DeepEqual(wh.NamespaceSelector, wantNS) {
		t.Errorf("namespaceSelector %+v, want %+v", wh.NamespaceSelector, wantNS)
	}

	d, err := r.Deployment()
	if err != nil {
		t.Fatal(err)
	}
	// lbsg's own Pods are never sent to the webhook: the object selector refuses their labels.
	if sel, err := metav1.LabelSelectorAsSelector(wh.ObjectSelector); err != nil || sel.Matches(labels.Set(d.Spec.Template.Labels)) {
		t.Errorf("objectSelector %+v (%v) selects lbsg's Pods %v", wh.ObjectSelector, err, d.Spec.Template.Labels)
	} else if !sel.Matches(labels.Set{"app": "web"}) {
		t.Errorf("objectSelector %+v does not select an application's Pod", wh.ObjectSelector)
	}

	var svc corev1.Service
	object(t, r, "Service", webhookServiceName, &svc)
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 443 || svc.Spec.Ports[0].TargetPort.String() != "webhook-server" {
		t.Errorf("webhook Service ports %+v, want 443 to webhook-server", svc.Spec.Ports)
	}
	if !reflect.DeepEqual(svc.Spec.Selector, d.Spec.Selector.MatchLabels) {
		t.Errorf("webhook Service selects %v, the Deployment's Pods are %v", svc.Spec.Selector, d.Spec.Selector.MatchLabels)
	}
	c := container(t, r)
	var port *corev1.ContainerPort
	for i := range c.Ports {
		if c.Ports[i].Name == "webhook-server" {
			port = &c.Ports[i]
		}
	}
	if port == nil || port.ContainerPort != webhookPort || port.Protocol != corev1.ProtocolTCP {
		t.Errorf("container ports %+v, want webhook-server %d/TCP", c.Ports, webhookPort)
	}

	var secret corev1.Secret
	object(t, r, "Secret", webhookSecretName, &secret)
	if secret.Type != corev1.SecretTypeTLS || len(secret.Data) != 3 {
		t.Errorf("Secret type %q keys %v, want kubernetes.io/tls with tls.crt, tls.key, ca.crt", secret.Type, keys(secret.Data))
	}
	if !bytes.Equal(wh.ClientConfig.CABundle, secret.Data["ca.crt"]) {
		t.Errorf("caBundle is not the Secret's ca.crt")
	}
	ca := parseCert(t, "ca.crt", secret.Data["ca.crt"])
	if !ca.IsCA || time.Until(ca.NotAfter) < 5*365*24*time.Hour {
		t.Errorf("ca.crt: CA %v until %v, want a CA for years", ca.IsCA, ca.NotAfter)
	}
	verifyServing(t, &secret, wh.ClientConfig.CABundle, "cluster.local")

	var mounted bool
	for _, m := range c.VolumeMounts {
		if m.MountPath == webhookCertDir {
			mounted = m.ReadOnly && secretVolume(d.Spec.Template.Spec.Volumes, m.Name) == webhookSecretName
		}
	}
	if !mounted {
		t.Errorf("volume mounts %+v, volumes %+v: want the Secret %s mounted read-only at %s",
			c.VolumeMounts, d.Spec.Template.Spec.Volumes, webhookSecretName, webhookCertDir)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func secretVolume(volumes []corev1.Volume, name string) string {
	for _, v := range volumes {
		if v.Name == name && v.Secret != nil {
			return v.Secret.SecretName
		}
	}
	return ""
}

// TestChartPodWebhookNewCertificateEachRender guards that two installs do not share a key:
// the chart makes a CA per render, not a fixed one.
func TestChartPodWebhookNewCertificateEachRender(t *testing.T) {
	var a, b corev1.Secret
	object(t, render(t, map[string]any{"clusterName": "c"}), "Secret", webhookSecretName, &a)
	object(t, render(t, map[string]any{"clusterName": "c"}), "Secret", webhookSecretName, &b)
	if bytes.Equal(a.Data["tls.key"], b.Data["tls.key"]) || bytes.Equal(a.Data["ca.crt"], b.Data["ca.crt"]) {
		t.Errorf("two renders share the key or the CA")
	}
}

// TestChartPodWebhookUpstreamSettings guards upstream's keys for the webhook:
// podMutatorWebhookConfig.failurePolicy, webhookNamespaceSelectors replacing the namespace
// label, objectSelector narrowing the Pods (lbsg's own still left out), webhookBindPort,
// cluster.dnsDomain in the certificate, serviceAnnotations on the webhook Service, and
// lbsg's podMutatorWebhookConfig.timeoutSeconds.
func TestChartPodWebhookUpstreamSettings(t *testing.T) {
	r := render(t, map[string]any{
		"clusterName":             "c",
		"podMutatorWebhookConfig": map[string]any{"failurePolicy": "Fail", "timeoutSeconds": 5},
		"webhookNamespaceSelectors": []any{
			map[string]any{"key": "team", "operator": "In", "values": []any{"web", "api"}},
		},
		"objectSelector": map[string]any{
			"matchExpressions": []any{map[string]any{"key": "inject", "operator": "NotIn", "values": []any{"false"}}},
			"matchLabels":      map[string]any{"tier": "frontend"},
		},
		"webhookBindPort":    10443,
		"cluster":            map[string]any{"dnsDomain": "corp.example"},
		"serviceAnnotations": map[string]any{"example.com/owner": "platform"},
	})
	_, wh := podWebhook(t, r)
	if wh.FailurePolicy == nil || *wh.FailurePolicy != admissionregistrationv1.Fail {
		t.Errorf("failurePolicy %v, want Fail", wh.FailurePolicy)
	}
	if wh.TimeoutSeconds == nil || *wh.TimeoutSeconds != 5 {
		t.Errorf("timeoutSeconds %v, want 5", wh.TimeoutSeconds)
	}
	wantNS := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
		{Key: "team", Operator: metav1.LabelSelectorOpIn, Values: []string{"web", "api"}}}}
	if !reflect.DeepEqual(wh.NamespaceSelector, wantNS) {
		t.Errorf("namespaceSelector %+v, want %+v", wh.NamespaceSelector, wantNS)
	}
	sel, err := metav1.LabelSelectorAsSelector(wh.ObjectSelector)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		pod  labels.Set
		want bool
	}{
		{labels.Set{"tier": "frontend"}, true},
		{labels.Set{"tier": "frontend", "inject": "false"}, false},
		{labels.Set{"tier": "backend"}, false},
		{labels.Set{"tier": "frontend", "app.kubernetes.io/name": "lbsg"}, false},
		{labels.Set{"tier": "frontend", "app.kubernetes.io/name": "web-app"}, true},
	} {
		if got := sel.Matches(tc.pod); got != tc.want {
			t.Errorf("objectSelector %s selects %v: %v, want %v", sel, tc.pod, got, tc.want)
		}
	}

	c := container(t, r)
	if !slices.Contains(c.Args, "--webhook-bind-port=10443") {
		t.Errorf("args %q, want --webhook-bind-port=10443", c.Args)
	}
	parseArgs(t, c.Args)
	for _, p := range c.Ports {
		if p.Name == "webhook-server" && p.ContainerPort != 10443 {
			t.Errorf("webhook-server port %d, want 10443", p.ContainerPort)
		}
	}
	var svc corev1.Service
	object(t, r, "Service", webhookServiceName, &svc)
	if svc.Annotations["example.com/owner"] != "platform" || svc.Spec.Ports[0].Port != 443 {
		t.Errorf("webhook Service annotations %v port %d", svc.Annotations, svc.Spec.Ports[0].Port)
	}
	var secret corev1.Secret
	object(t, r, "Secret", webhookSecretName, &secret)
	verifyServing(t, &secret, wh.ClientConfig.CABundle, "corp.example")
}

// TestChartPodWebhookOff guards enablePodReadinessGateInject=false: lbsg is told so, and
// nothing of the webhook is rendered (a webhook configuration without a server would, with
// failurePolicy Fail, block Pods in labelled namespaces).
func TestChartPodWebhookOff(t *testing.T) {
	for name, extra := range map[string]map[string]any{
		"chart's certificate": {},
		"cert-manager":        {"enableCertManager": true},
	} {
		t.Run(name, func(t *testing.T) {
			values := map[string]any{"clusterName": "c", "enablePodReadinessGateInject": false,
				"extraVolumes":      []any{map[string]any{"name": "extra", "emptyDir": map[string]any{}}},
				"extraVolumeMounts": []any{map[string]any{"name": "extra", "mountPath": "/extra"}}}
			for k, v := range extra {
				values[k] = v
			}
			r := render(t, values)
			for _, o := range r.Objects {
				switch {
				case o.GetKind() == "MutatingWebhookConfiguration", o.GetKind() == "Secret",
					o.GetKind() == "Issuer", o.GetKind() == "Certificate",
					o.GetKind() == "Service" && o.GetName() == webhookServiceName:
					t.Errorf("%s %s rendered with the webhook off", o.GetKind(), o.GetName())
				}
			}
			c := container(t, r)
			if !slices.Contains(c.Args, "--enable-pod-readiness-gate-inject=false") {
				t.Errorf("args %q, want --enable-pod-readiness-gate-inject=false", c.Args)
			}
			parseArgs(t, c.Args)
			for _, p := range c.Ports {
				if p.Name == "webhook-server" {
					t.Errorf("webhook-server port exposed with the webhook off")
				}
			}
			d, err := r.Deployment()
			if err != nil {
				t.Fatal(err)
			}
			if v := d.Spec.Template.Spec.Volumes; len(v) != 1 || v[0].Name != "extra" {
				t.Errorf("volumes %+v, want extraVolumes alone", v)
			}
			if m := c.VolumeMounts; len(m) != 1 || m[0].MountPath != "/extra" {
				t.Errorf("volume mounts %+v, want extraVolumeMounts alone", m)
			}
		})
	}
}

// TestChartPodWebhookKeepsExtraVolumes guards that the certificate's volume is added to the
// user's extraVolumes and extraVolumeMounts, not in their place.
func TestChartPodWebhookKeepsExtraVolumes(t *testing.T) {
	r := render(t, map[string]any{"clusterName": "c",
		"extraVolumes":      []any{map[string]any{"name": "aws-iam-token", "emptyDir": map[string]any{}}},
		"extraVolumeMounts": []any{map[string]any{"name": "aws-iam-token", "mountPath": "/var/run/secrets/eks.amazonaws.com/serviceaccount"}}})
	d, err := r.Deployment()
	if err != nil {
		t.Fatal(err)
	}
	var vols, mounts []string
	for _, v := range d.Spec.Template.Spec.Volumes {
		vols = append(vols, v.Name)
	}
	for _, m := range d.Spec.Template.Spec.Containers[0].VolumeMounts {
		mounts = append(mounts, m.MountPath)
	}
	if !slices.Equal(vols, []string{"webhook-cert", "aws-iam-token"}) ||
		!slices.Equal(mounts, []string{webhookCertDir, "/var/run/secrets/eks.amazonaws.com/serviceaccount"}) {
		t.Errorf("volumes %q mounts %q, want the certificate's and the user's", vols, mounts)
	}
}

// TestChartPodWebhookCertManager guards enableCertManager: the chart's CA chain (a
// self-signed Issuer, a CA Certificate, an Issuer of that CA) issues the serving
// Certificate into the Secret the Deployment mounts, cert-manager injects the caBundle,
// and the chart renders no Secret of its own; with certManager.issuerRef, the user's
// issuer signs it and the chart's CA is not rendered.
func TestChartPodWebhookCertManager(t *testing.T) {
	r := render(t, map[string]any{"clusterName": "c", "enableCertManager": true,
		"certManager": map[string]any{"duration": "2160h", "renewBefore": "360h"}})
	cfg, wh := podWebhook(t, r)
	if got := cfg.Annotations["cert-manager.io/inject-ca-from"]; got != namespace+"/lbsg-serving-cert" {
		t.Errorf("cert-manager.io/inject-ca-from %q, want %s/lbsg-serving-cert", got, namespace)
	}
	if len(wh.ClientConfig.CABundle) != 0 {
		t.Errorf("caBundle set with cert-manager, whose injector owns it")
	}
	if s := r.Find("Secret", webhookSecretName); s != nil {
		t.Errorf("the chart renders the Secret cert-manager writes")
	}

	issuers := map[string]map[string]any{}
	certs := map[string]map[string]any{}
	for _, o := range r.Objects {
		spec, _, _ := unstructured.NestedMap(o.Object, "spec")
		if o.GetAPIVersion() == "cert-manager.io/v1" && o.GetNamespace() != namespace {
			t.Errorf("%s %s in %q, want %s", o.GetKind(), o.GetName(), o.GetNamespace(), namespace)
		}
		switch o.GetKind() {
		case "Issuer":
			issuers[o.GetName()] = spec
		case "Certificate":
			certs[o.GetName()] = spec
		}
	}
	if !slices.Equal(keys(issuers), []string{"lbsg-ca-issuer", "lbsg-selfsigned-issuer"}) || !slices.Equal(keys(certs), []string{"lbsg-root-ca", "lbsg-serving-cert"}) {
		t.Fatalf("issuers %v certificates %v", keys(issuers), keys(certs))
	}
	if _, ok := issuers["lbsg-selfsigned-issuer"]["selfSigned"]; !ok {
		t.Errorf("lbsg-selfsigned-issuer %v, want selfSigned", issuers["lbsg-selfsigned-issuer"])
	}
	root := certs["lbsg-root-ca"]
	if root["isCA"] != true || root["duration"] != "43800h0m0s" || root["secretName"] != "lbsg-root-ca" ||
		!reflect.DeepEqual(root["issuerRef"], map[string]any{"kind": "Issuer", "name": "lbsg-selfsigned-issuer"}) {
		t.Errorf("root CA Certificate %v", root)
	}
	if ca, _, _ := unstructured.NestedString(issuers["lbsg-ca-issuer"], "ca", "secretName"); ca != "lbsg-root-ca" {
		t.Errorf("lbsg-ca-issuer %v, want the root CA's Secret", issuers["lbsg-ca-issuer"])
	}
	serving := certs["lbsg-serving-cert"]
	if serving["secretName"] != webhookSecretName || serving["duration"] != "2160h" || serving["renewBefore"] != "360h" ||
		!reflect.DeepEqual(serving["issuerRef"], map[string]any{"kind": "Issuer", "name": "lbsg-ca-issuer"}) {
		t.Errorf("serving Certificate %v", serving)
	}
	var names []string
	for _, n := range serving["dnsNames"].([]any) {
		names = append(names, n.(string))
	}
	if !slices.Equal(names, webhookDNSNames("cluster.local")) {
		t.Errorf("dnsNames %q, want %q", names, webhookDNSNames("cluster.local"))
	}
	d, err := r.Deployment()
	if err != nil {
		t.Fatal(err)
	}
	if secretVolume(d.Spec.Template.Spec.Volumes, "webhook-cert") != webhookSecretName {
		t.Errorf("volumes %+v, want cert-manager's Secret %s", d.Spec.Template.Spec.Volumes, webhookSecretName)
	}

	own := render(t, map[string]any{"clusterName": "c", "enableCertManager": true,
		"certManager": map[string]any{"issuerRef": map[string]any{"name": "corp-ca", "kind": "ClusterIssuer"}}})
	var kinds []string
	for _, o := range own.Objects {
		if o.GetAPIVersion() == "cert-manager.io/v1" {
			kinds = append(kinds, o.GetKind()+"/"+o.GetName())
		}
	}
	if !slices.Equal(kinds, []string{"Certificate/lbsg-serving-cert"}) {
		t.Fatalf("with issuerRef, cert-manager objects %v, want the serving Certificate alone", kinds)
	}
	ref, _, _ := unstructured.NestedMap(own.Find("Certificate", "lbsg-serving-cert").Object, "spec", "issuerRef")
	if !reflect.DeepEqual(ref, map[string]any{"name": "corp-ca", "kind": "ClusterIssuer"}) {
		t.Errorf("issuerRef %v, want the user's", ref)
	}
}

// testCA makes a CA and a serving certificate for the webhook Service, as a user would
// bring them in webhookTLS (another render's: each render makes its own).
func testCA(t *testing.T) (caPEM, certPEM, keyPEM []byte) {
	t.Helper()
	var s corev1.Secret
	object(t, render(t, map[string]any{"clusterName": "c"}), "Secret", webhookSecretName, &s)
	return s.Data["ca.crt"], s.Data["tls.crt"], s.Data["tls.key"]
}

// TestChartPodWebhookUserCertificate guards webhookTLS: the user's CA, certificate and key
// are the Secret's and the caBundle, unchanged.
func TestChartPodWebhookUserCertificate(t *testing.T) {
	ca, cert, key := testCA(t)
	r := render(t, map[string]any{"clusterName": "c",
		"webhookTLS": map[string]any{"caCert": string(ca), "cert": string(cert), "key": string(key)}})
	_, wh := podWebhook(t, r)
	var s corev1.Secret
	object(t, r, "Secret", webhookSecretName, &s)
	if !bytes.Equal(s.Data["ca.crt"], ca) || !bytes.Equal(s.Data["tls.crt"], cert) || !bytes.Equal(s.Data["tls.key"], key) {
		t.Errorf("the Secret is not webhookTLS as given")
	}
	if !bytes.Equal(wh.ClientConfig.CABundle, ca) {
		t.Errorf("caBundle is not webhookTLS.caCert")
	}
}

// TestChartPodWebhookKeepTLSSecret guards keepTLSSecret on upgrade: the certificate of the
// Secret already in the cluster is kept (the Pods' mounted certificate stays valid), and
// without keepTLSSecret, or without a complete Secret, a new one is made.
func TestChartPodWebhookKeepTLSSecret(t *testing.T) {
	ca, cert, key := testCA(t)
	existing := &corev1.Secret{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
		ObjectMeta: metav1.ObjectMeta{Name: webhookSecretName, Namespace: namespace},
		Type:       corev1.SecretTypeTLS,
		Data:       map[string][]byte{"ca.crt": ca, "tls.crt": cert, "tls.key": key},
	}
	m, err := k8sruntime.DefaultUnstructuredConverter.ToUnstructured(existing)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: m}
	partial := u.DeepCopy()
	unstructured.RemoveNestedField(partial.Object, "data", "ca.crt")

	for _, tc := range []struct {
		name     string
		keep     bool
		existing *unstructured.Unstructured
		kept     bool
	}{
		{"keepTLSSecret", true, u, true},
		{"keepTLSSecret, no Secret yet", true, nil, false},
		{"keepTLSSecret, Secret without ca.crt", true, partial, false},
		{"without keepTLSSecret", false, u, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var objs []*unstructured.Unstructured
			if tc.existing != nil {
				objs = append(objs, tc.existing)
			}
			r, err := RenderInCluster(release, namespace, map[string]any{"clusterName": "c", "keepTLSSecret": tc.keep}, objs...)
			if err != nil {
				t.Fatal(err)
			}
			_, wh := podWebhook(t, r)
			var s corev1.Secret
			object(t, r, "Secret", webhookSecretName, &s)
			same := bytes.Equal(s.Data["ca.crt"], ca) && bytes.Equal(s.Data["tls.crt"], cert) && bytes.Equal(s.Data["tls.key"], key)
			if same != tc.kept {
				t.Errorf("the existing certificate kept: %v, want %v", same, tc.kept)
			}
			if !bytes.Equal(wh.ClientConfig.CABundle, s.Data["ca.crt"]) {
				t.Errorf("caBundle is not the Secret's ca.crt")
			}
			verifyServing(t, &s, wh.ClientConfig.CABundle, "cluster.local")
		})
	}
}

// TestChartPodWebhookLongNames guards that a long release name still gives a webhook
// Service name Kubernetes accepts (63 characters at most), and that the certificate
// names that Service.
func TestChartPodWebhookLongNames(t *testing.T) {
	long := strings.Repeat("a", 40) + "-lbsg-" + strings.Repeat("b", 17)
	r, err := Render(long, namespace, map[string]any{"clusterName": "c"})
	if err != nil {
		t.Fatal(err)
	}
	var cfg admissionregistrationv1.MutatingWebhookConfiguration
	var found bool
	for _, o := range r.Objects {
		if o.GetKind() == "MutatingWebhookConfiguration" {
			found = true
			if err := Convert(o, &cfg); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !found {
		t.Fatalf("no webhook configuration: %v", r.Kinds())
	}
	name := cfg.Webhooks[0].ClientConfig.Service.Name
	if len(name) > 63 || !strings.HasSuffix(name, "-webhook-service") || r.Find("Service", name) == nil {
		t.Errorf("webhook Service %q (%d characters), rendered %v", name, len(name), r.Kinds())
	}
	for _, o := range r.Objects {
		if o.GetKind() == "Secret" {
			var s corev1.Secret
			if err := Convert(o, &s); err != nil {
				t.Fatal(err)
			}
			leaf := parseCert(t, "tls.crt", s.Data["tls.crt"])
			if !slices.Contains(leaf.DNSNames, name+"."+namespace+".svc") {
				t.Errorf("certificate names %q, want %s.%s.svc", leaf.DNSNames, name, namespace)
			}
		}
	}
}

// TestChartPodWebhookWithUpstreamValues guards that an upstream user's values file
// (keepTLSSecret, no cert-manager) gets the webhook as upstream's chart renders it, and the
// notes say how to use it.
func TestChartPodWebhookWithUpstreamValues(t *testing.T) {
	r := render(t, readUpstreamValues(t))
	_, wh := podWebhook(t, r)
	if wh.FailurePolicy == nil || *wh.FailurePolicy != admissionregistrationv1.Ignore || wh.ClientConfig.Service.Name != webhookServiceName {
		t.Errorf("webhook %+v", wh)
	}
	var s corev1.Secret
	object(t, r, "Secret", webhookSecretName, &s)
	verifyServing(t, &s, wh.ClientConfig.CABundle, "cluster.local")
	if r.Find("Service", webhookServiceName) == nil {
		t.Errorf("no webhook Service: %v", r.Kinds())
	}
	if !strings.Contains(r.Notes, "kubectl label namespace NAMESPACE elbv2.k8s.aws/pod-readiness-gate-inject=enabled") ||
		!strings.Contains(r.Notes, "failurePolicy Ignore") {
		t.Errorf("notes:\n%s", r.Notes)
	}
	if off := render(t, map[string]any{"clusterName": "c", "enablePodReadinessGateInject": false}); strings.Contains(off.Notes, "readiness gates") {
		t.Errorf("notes mention the webhook when it is off:\n%s", off.Notes)
	}
}
