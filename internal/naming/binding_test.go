package naming

import (
	"strings"
	"testing"
)

// The binding tags fit AWS's limits for the longest cluster, namespace and binding names.
func TestBindingTagsFitAWSLimits(t *testing.T) {
	cluster := strings.Repeat("c", MaxClusterNameLength)
	for _, k := range []string{BoundByTagKey(cluster), RegisteredTagKey(cluster)} {
		if len(k) > MaxTagKeyLength {
			t.Errorf("key %q has %d characters", k, len(k))
		}
		if reason, _ := TagProblem(k, "x"); reason != "" && !strings.Contains(reason, "reserved") {
			t.Errorf("key %q: %s", k, reason)
		}
	}
	ns, long := strings.Repeat("n", 63), strings.Repeat("b", 253)
	v := BoundByValue(ns, long)
	if len(v) > MaxTagValueLength || !strings.HasPrefix(v, ns+"/") {
		t.Errorf("value %q (%d characters)", v, len(v))
	}
	if v == BoundByValue(ns, long[:252]+"c") {
		t.Error("two long names share a value")
	}
	if got := BoundByValue("team-a", "web"); got != "team-a/web" {
		t.Errorf("BoundByValue = %q", got)
	}
}
