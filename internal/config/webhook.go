package config

import (
	"path/filepath"

	"github.com/spf13/pflag"
)

// Upstream's webhook flags, with upstream's defaults.
const (
	FlagEnablePodReadinessGateInject = "enable-pod-readiness-gate-inject"
	FlagWebhookBindPort              = "webhook-bind-port"
	FlagWebhookCertDir               = "webhook-cert-dir"
	FlagWebhookCertFile              = "webhook-cert-file"
	FlagWebhookKeyFile               = "webhook-key-file"

	DefaultWebhookBindPort = 9443
	DefaultWebhookCertDir  = "/tmp/k8s-webhook-server/serving-certs"
)

// Webhook configures the Pod mutating webhook that injects target-health readiness gates.
type Webhook struct {
	// EnablePodReadinessGateInject is --enable-pod-readiness-gate-inject (default true).
	EnablePodReadinessGateInject bool
	// BindPort is --webhook-bind-port (default 9443).
	BindPort int
	// CertDir, CertFile and KeyFile (--webhook-cert-dir, --webhook-cert-file,
	// --webhook-key-file) locate the serving certificate: CertDir/CertFile and CertDir/KeyFile.
	CertDir, CertFile, KeyFile string
}

func (w *Webhook) addFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&w.EnablePodReadinessGateInject, FlagEnablePodReadinessGateInject, true,
		"Serve the Pod mutating webhook that adds target-health readiness gates to Pods in namespaces labelled elbv2.k8s.aws/pod-readiness-gate-inject=enabled")
	fs.IntVar(&w.BindPort, FlagWebhookBindPort, DefaultWebhookBindPort, "The TCP port the webhook server listens on")
	fs.StringVar(&w.CertDir, FlagWebhookCertDir, DefaultWebhookCertDir, "The directory holding the webhook server's certificate and key")
	fs.StringVar(&w.CertFile, FlagWebhookCertFile, "tls.crt", "The webhook server's certificate, in --webhook-cert-dir")
	fs.StringVar(&w.KeyFile, FlagWebhookKeyFile, "tls.key", "The webhook server's private key, in --webhook-cert-dir")
}

// CertPath and KeyPath are the serving certificate's files.
func (w *Webhook) CertPath() string { return filepath.Join(w.CertDir, w.CertFile) }
func (w *Webhook) KeyPath() string  { return filepath.Join(w.CertDir, w.KeyFile) }

func (w *Webhook) validate(add func(format string, args ...any)) {
	if w.BindPort < 1 || w.BindPort > 65535 {
		add("invalid value %d for --%s: must be a TCP port, 1 to 65535", w.BindPort, FlagWebhookBindPort)
	}
	if w.EnablePodReadinessGateInject {
		for _, f := range []struct{ flag, value string }{
			{FlagWebhookCertDir, w.CertDir}, {FlagWebhookCertFile, w.CertFile}, {FlagWebhookKeyFile, w.KeyFile},
		} {
			if f.value == "" {
				add("--%s is empty: name the webhook certificate's location, or set --%s=false", f.flag, FlagEnablePodReadinessGateInject)
			}
		}
	}
}
