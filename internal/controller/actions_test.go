package controller

import (
	"slices"
	"testing"

	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/lbsg/lbsg/internal/spec"
)

// The Services an actions.* forward names are backends of the Ingress: their changes
// reconcile its group (routesTo) and their targets join its networking contribution.
func TestBackendServicesIncludeActionServices(t *testing.T) {
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "shop", Annotations: map[string]string{
		"alb.ingress.kubernetes.io/actions.split": `{"type":"forward","forwardConfig":{"targetGroups":[{"serviceName":"blue","servicePort":80,"weight":20},{"serviceName":"green","servicePort":80,"weight":80}]}}`,
	}}}
	got := spec.BackendServices(ing)
	for _, name := range []string{"blue", "green"} {
		if !slices.Contains(got, name) || !routesTo(ing, name) {
			t.Errorf("backendServices = %v; want %s in it", got, name)
		}
	}
}
