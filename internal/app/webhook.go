package app

import (
	"fmt"
	"os"

	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/lbsg/lbsg/internal/config"
	"github.com/lbsg/lbsg/internal/controller"
)

// webhookServer returns the server for the Pod mutating webhook, or nil when it is off:
// disabled by flag, or no certificate where the flags say (the chart mounts one; a
// controller run outside the cluster has none, and then works without injection).
func webhookServer(w config.Webhook, host string, logger logr.Logger) webhook.Server {
	if !w.EnablePodReadinessGateInject {
		return nil
	}
	for _, f := range []string{w.CertPath(), w.KeyPath()} {
		if _, err := os.Stat(f); err != nil {
			logger.Info(fmt.Sprintf("pod readiness gate injection is off: no webhook certificate (%v); the Helm chart provides one, or set --%s=false",
				err, config.FlagEnablePodReadinessGateInject))
			return nil
		}
	}
	return webhook.NewServer(webhook.Options{Host: host, Port: w.BindPort, CertDir: w.CertDir, CertName: w.CertFile, KeyName: w.KeyFile})
}

// registerPodGateWebhook serves the Pod mutating webhook on every replica, leader or not:
// it reads only the informer cache.
func registerPodGateWebhook(mgr ctrl.Manager, e *controller.Engine, crds controller.CRDs, withBindings bool) {
	mgr.GetWebhookServer().Register(controller.PodGatePath, &webhook.Admission{
		Handler: controller.NewPodGateInjector(mgr.GetClient(), e, mgr.GetScheme(), crds, withBindings)})
}
