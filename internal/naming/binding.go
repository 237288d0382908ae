package naming

import (
	"crypto/sha256"
	"encoding/hex"
)

// The tags lbsg keeps on a target group a TargetGroupBinding binds, one pair per cluster,
// so that bindings of several clusters can share a target group. A tenant can write its
// bindings but not the target group's tags: what lbsg registered for a binding is trusted
// only as far as these tags vouch for it.
const (
	// boundByTagPrefix + cluster names the binding of that cluster that owns the target
	// group's targets, as "<namespace>/<name>": one binding per target group and cluster.
	boundByTagPrefix = "lbsg.k8s.aws/bound-by/"
	// registeredTagPrefix + cluster holds the digests of the registered-targets records
	// lbsg wrote for that binding (see the TargetGroupBinding reconciler).
	registeredTagPrefix = "lbsg.k8s.aws/registered/"
)

// BoundByTagKey is the key of the tag that names the binding of cluster that owns a target
// group. Cluster names are at most MaxClusterNameLength characters, so the key fits AWS's
// MaxTagKeyLength.
func BoundByTagKey(cluster string) string { return boundByTagPrefix + cluster }

// RegisteredTagKey is the key of the tag that vouches for the records lbsg wrote for the
// binding of cluster that owns a target group.
func RegisteredTagKey(cluster string) string { return registeredTagPrefix + cluster }

// BoundByValue is the value of the BoundByTagKey tag for a binding: "<namespace>/<name>",
// or, for a name too long for a tag value, its first characters and a hash of the rest.
// The namespace always comes first, whole: it says whose the target group is.
func BoundByValue(namespace, name string) string {
	v := namespace + "/" + name
	if len(v) <= MaxTagValueLength {
		return v
	}
	sum := sha256.Sum256([]byte(name))
	suffix := "~" + hex.EncodeToString(sum[:8])
	return v[:MaxTagValueLength-len(suffix)] + suffix
}
