package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
)

// lockedPatch writes what changed in an object since before, as a merge patch that carries
// before's resourceVersion. Like an update it fails with a conflict when the object changed
// since it was read; unlike an update it writes only what lbsg changed. The objects lbsg
// reads come from an informer cache that keeps only what lbsg reads (a Service or an
// Ingress without the annotations of other tools, a Pod without its containers): written
// back whole, the rest would be erased.
func lockedPatch(before client.Object) client.Patch {
	return client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{})
}

// addFinalizer puts finalizer on obj with a patch of the finalizers alone, and reports
// whether it was missing.
func addFinalizer(ctx context.Context, c client.Client, obj client.Object, finalizer string) (bool, error) {
	if controllerutil.ContainsFinalizer(obj, finalizer) {
		return false, nil
	}
	before := obj.DeepCopyObject().(client.Object)
	controllerutil.AddFinalizer(obj, finalizer)
	if err := c.Patch(ctx, obj, lockedPatch(before)); err != nil {
		return false, err
	}
	return true, nil
}

// removeFinalizer takes finalizer off obj with a JSON patch that first tests the finalizer
// is still where it was read. Unlike an update, it does not fail because the object
// changed since it was read (lbsg's own status write, another controller's annotation),
// and unlike a merge patch it cannot drop a finalizer another controller added meanwhile.
// It reports whether there was a finalizer to remove.
func removeFinalizer(ctx context.Context, c client.Client, obj client.Object, finalizer string) (bool, error) {
	i := slices.Index(obj.GetFinalizers(), finalizer)
	if i < 0 {
		return false, nil
	}
	path := fmt.Sprintf("/metadata/finalizers/%d", i)
	patch, err := json.Marshal([]map[string]any{
		{"op": "test", "path": path, "value": finalizer},
		{"op": "remove", "path": path},
	})
	if err != nil {
		return false, err
	}
	if err := c.Patch(ctx, obj, client.RawPatch(types.JSONPatchType, patch)); err != nil {
		return false, err
	}
	return true, nil
}
