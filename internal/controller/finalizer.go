package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

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
