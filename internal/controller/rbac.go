package controller

// The Kubernetes permissions lbsg needs, and no more: `make generate` turns these markers
// into the ClusterRole config/rbac/role.yaml. A tenant-writable object is only read, except
// for the finalizers and status lbsg owns on Services and Ingresses.

// Services of type LoadBalancer: finalizer and status.
// +kubebuilder:rbac:groups="",resources=services,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups="",resources=services/status,verbs=update;patch

// Ingresses: finalizers and status; their classes and upstream's IngressClassParams.
// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingresses,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingresses/status,verbs=update;patch
// +kubebuilder:rbac:groups=networking.k8s.io,resources=ingressclasses,verbs=list;watch
// +kubebuilder:rbac:groups=elbv2.k8s.aws,resources=ingressclassparams,verbs=list;watch

// Gateway API's ReferenceGrants: a namespace's consent to other namespaces' Ingresses
// joining its Ingress groups.
// +kubebuilder:rbac:groups=gateway.networking.k8s.io,resources=referencegrants,verbs=list;watch

// TargetGroupBindings: users' bindings of their own target groups (finalizer, status) and
// upstream's bindings of stacks lbsg adopted (released and deleted).
// +kubebuilder:rbac:groups=elbv2.k8s.aws,resources=targetgroupbindings,verbs=get;list;watch;update;patch;delete
// +kubebuilder:rbac:groups=elbv2.k8s.aws,resources=targetgroupbindings/status;targetgroupbindings/finalizers,verbs=update;patch

// Everything but Services and Ingresses is read only through the informer cache, so list
// and watch are enough.

// Targets: nodes for instance targets, Pods and EndpointSlices for ip targets, namespaces
// for IngressClassParams namespaceSelector.
// +kubebuilder:rbac:groups="",resources=nodes;namespaces;pods,verbs=list;watch
// +kubebuilder:rbac:groups=discovery.k8s.io,resources=endpointslices,verbs=list;watch

// Pod readiness gates: lbsg sets its own target-health conditions in a Pod's status (a
// strategic merge patch of those conditions only).
// +kubebuilder:rbac:groups="",resources=pods/status,verbs=patch

// Events on the objects lbsg serves (events.k8s.io), and leader election's own (core).
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch

// Leader election.
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;create;update
