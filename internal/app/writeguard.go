package app

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	elbv2api "github.com/lbsg/lbsg/api/v1beta1"
)

// newGuardedClient is the manager's client with guardTrimmedWrites around it.
func newGuardedClient(config *rest.Config, options client.Options) (client.Client, error) {
	c, err := client.New(config, options)
	if err != nil {
		return nil, err
	}
	return guardTrimmedWrites(c), nil
}

// guardTrimmedWrites refuses an update of an object of a kind the informer cache trims
// (cachetrim.go): read from the cache, it lacks what lbsg does not read, and an update
// would erase that from the cluster: a tenant's annotations, a Pod's containers. lbsg writes
// these kinds with patches of its own fields; a new write that does not fails here, loudly,
// instead of losing data.
func guardTrimmedWrites(c client.Client) client.Client { return trimGuard{c} }

type trimGuard struct{ client.Client }

var _ client.Client = trimGuard{}

// trimmedKind reports whether the cache keeps less of obj than the apiserver has, beyond
// managed fields (which an update without them leaves as they are).
func trimmedKind(obj client.Object) bool {
	switch obj.(type) {
	case *corev1.Pod, *corev1.Node, *corev1.Service, *networkingv1.Ingress, *discoveryv1.EndpointSlice, *elbv2api.TargetGroupBinding:
		return true
	}
	return false
}

func refuseUpdate(obj client.Object, sub string) error {
	what := fmt.Sprintf("%T %s/%s", obj, obj.GetNamespace(), obj.GetName())
	if sub != "" {
		what += " (" + sub + ")"
	}
	return fmt.Errorf("update of %s refused: lbsg's cache keeps only the fields lbsg reads of this kind, and an update would erase the others; write it with a patch", what)
}

func (g trimGuard) Update(ctx context.Context, obj client.Object, opts ...client.UpdateOption) error {
	if trimmedKind(obj) {
		return refuseUpdate(obj, "")
	}
	return g.Client.Update(ctx, obj, opts...)
}

func (g trimGuard) Status() client.SubResourceWriter {
	return guardedSubResource{SubResourceClient: g.Client.SubResource("status"), name: "status"}
}

func (g trimGuard) SubResource(name string) client.SubResourceClient {
	return guardedSubResource{SubResourceClient: g.Client.SubResource(name), name: name}
}

type guardedSubResource struct {
	client.SubResourceClient
	name string
}

func (s guardedSubResource) Update(ctx context.Context, obj client.Object, opts ...client.SubResourceUpdateOption) error {
	if trimmedKind(obj) {
		return refuseUpdate(obj, s.name)
	}
	return s.SubResourceClient.Update(ctx, obj, opts...)
}
