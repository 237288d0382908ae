package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/lbsg/lbsg/internal/app"
	"github.com/lbsg/lbsg/internal/controller"
	"github.com/lbsg/lbsg/internal/localenv"
)

// generatedRole is the ClusterRole `make generate` writes from the +kubebuilder:rbac markers.
const generatedRole = "../../config/rbac/role.yaml"

// forbiddenLog collects every "forbidden" error the Kubernetes client libraries report
// (informer lists and watches) or the manager logs (reconcile errors).
type forbiddenLog struct {
	mu   sync.Mutex
	seen []string
}

func (f *forbiddenLog) add(s string) {
	if !strings.Contains(strings.ToLower(s), "forbidden") {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seen = append(f.seen, s)
}

func (f *forbiddenLog) all() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.seen...)
}

// watchForbidden records the errors informers report through client-go's error handlers
// until the test ends.
func watchForbidden(t *testing.T) *forbiddenLog {
	f := &forbiddenLog{}
	saved := utilruntime.ErrorHandlers
	utilruntime.ErrorHandlers = append(append([]utilruntime.ErrorHandler(nil), saved...),
		func(_ context.Context, err error, msg string, kv ...interface{}) {
			f.add(fmt.Sprint(msg, " ", err, " ", kv))
		})
	t.Cleanup(func() {
		utilruntime.ErrorHandlers = saved
		if seen := f.all(); t.Failed() && len(seen) > 0 {
			t.Logf("forbidden errors seen:\n%s", strings.Join(seen, "\n"))
		}
	})
	return f
}

// bindGeneratedRole applies config/rbac/role.yaml as a ClusterRole, binds it to a new
// ServiceAccount, and returns an admin config that impersonates that ServiceAccount.
func (h *harness) bindGeneratedRole(namespace, sa string) *rest.Config {
	h.t.Helper()
	raw, err := os.ReadFile(generatedRole)
	if err != nil {
		h.t.Fatalf("read the generated ClusterRole (run make generate): %v", err)
	}
	role := &rbacv1.ClusterRole{}
	if err := yaml.UnmarshalStrict(raw, role); err != nil {
		h.t.Fatalf("parse %s: %v", generatedRole, err)
	}
	if role.Kind != "ClusterRole" || len(role.Rules) == 0 {
		h.t.Fatalf("%s: kind %q with %d rules, want a ClusterRole with rules", generatedRole, role.Kind, len(role.Rules))
	}
	role.Name = "lbsg-generated-" + sa
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: role.Name},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: namespace, Name: sa}},
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}
	account := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: sa}}
	for _, obj := range []client.Object{ns, account, role, binding} {
		if err := h.k8s.Create(h.ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
			h.t.Fatalf("create %T %s: %v", obj, obj.GetName(), err)
		}
	}
	h.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, obj := range []client.Object{binding, role, account} {
			_ = h.k8s.Delete(ctx, obj)
		}
	})
	cfg := rest.CopyConfig(plane.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + namespace + ":" + sa}
	return cfg
}

// startControllerAs runs lbsg as startController does, but talking to Kubernetes with
// restCfg, and with the manager's and reconcilers' log going to log.
func (h *harness) startControllerAs(restCfg *rest.Config, log logr.Logger) {
	h.t.Helper()
	h.startControllerWith(app.RunOptions{RestConfig: restCfg, Logger: log})
}

// TestControllerRunsWithGeneratedClusterRole guards that the ClusterRole generated from the
// +kubebuilder:rbac markers is all lbsg needs: run as a ServiceAccount bound to it and
// nothing else, lbsg converges the seed 003 sample with no forbidden error anywhere.
func TestControllerRunsWithGeneratedClusterRole(t *testing.T) {
	h := newHarness(t, localenv.WorldOptions{})
	forbidden := watchForbidden(t)
	restCfg := h.bindGeneratedRole("lbsg-system", "lbsg")

	// The binding is in force before lbsg starts: the ServiceAccount can list Services
	// and cannot read Secrets (it is not an admin by mistake).
	asSA, err := client.New(restCfg, client.Options{Scheme: plane.Client.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	h.eventually("the binding in force", 20*time.Second, func() string {
		if err := asSA.List(h.ctx, &corev1.ServiceList{}); err != nil {
			return err.Error()
		}
		return ""
	})
	if err := asSA.List(h.ctx, &corev1.SecretList{}); !apierrors.IsForbidden(err) {
		t.Fatalf("list secrets as the ServiceAccount: %v, want forbidden", err)
	}

	h.startControllerAs(restCfg, funcr.New(func(prefix, args string) { forbidden.add(prefix + " " + args) }, funcr.Options{}))
	h.create(webserver("webserver", nil))
	h.waitHostname("webserver")
	h.waitEventOf("Service", "webserver", controller.EventSuccessfullyDeploy, "")
	svc := h.service("webserver")
	if c := meta.FindStatusCondition(svc.Status.Conditions, controller.ConditionReady); c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("Ready condition = %s, want True", conditionMessage(svc))
	}
	if len(svc.Finalizers) == 0 {
		t.Errorf("no finalizer on the Service: %v", svc.Finalizers)
	}
	// Every informer (Ingress side included) has listed and watched by now; give a
	// failed watch time to be retried and reported.
	h.quiesce()
	select {
	case err := <-h.done:
		h.stop = nil
		t.Fatalf("controller stopped: %v", err)
	default:
	}
	if seen := forbidden.all(); len(seen) > 0 {
		t.Fatalf("forbidden under the generated ClusterRole:\n%s", strings.Join(seen, "\n"))
	}
}
