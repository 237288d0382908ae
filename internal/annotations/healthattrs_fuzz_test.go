package annotations

import (
	"strings"
	"testing"
)

var attrKeys = []string{SvcHealthCheckTimeout, SvcHealthyThreshold, SvcUnhealthyThreshold, SvcSuccessCodes, SvcTargetGroupAttributes,
	SvcAttributes, SvcCrossZone, SvcAccessLogEnabled, SvcAccessLogBucket, SvcAccessLogPrefix, SvcProxyProtocol, SvcListenerAttrsPrefix + "TCP-80"}

func checkAttrMap(t *testing.T, m map[string]string) {
	t.Helper()
	for k, v := range m {
		if !attrKey.MatchString(k) || v == "" {
			t.Errorf("attribute %q=%q kept", k, v)
		}
	}
}

func checkHealth(t *testing.T, h HealthSettings) {
	t.Helper()
	in := func(v int32, lo, hi int32) bool { return v == 0 || (v >= lo && v <= hi) }
	if !in(h.Interval, 5, 300) || !in(h.Timeout, 2, 120) || !in(h.Healthy, 2, 10) || !in(h.Unhealthy, 2, 10) ||
		(h.SuccessCodes != "" && !successCodes.MatchString(h.SuccessCodes)) {
		t.Errorf("health settings out of range kept: %+v", h)
	}
}

func FuzzParseServiceAttrs(f *testing.F) {
	f.Add(uint8(0), "6", uint8(4), "deletion_protection.enabled=true")
	f.Add(uint8(3), "200-399", uint8(10), "*")
	f.Add(uint8(5), "load_balancing.cross_zone.enabled=true", uint8(6), "false")
	f.Add(uint8(11), "tcp.idle_timeout.seconds=x", uint8(1), strings.Repeat("9", 400))
	f.Fuzz(func(t *testing.T, k1 uint8, v1 string, k2 uint8, v2 string) {
		ann := map[string]string{pick(attrKeys, k1): v1, pick(attrKeys, k2): v2}
		a, errs := ParseServiceAttrs(ann)
		checkErrors(t, ann, errs)
		checkHealth(t, a.Health)
		checkAttrMap(t, a.TargetGroup)
		checkAttrMap(t, a.LoadBalancer)
		for _, m := range a.Listeners {
			checkAttrMap(t, m)
		}
	})
}

func FuzzParseBackendAttrs(f *testing.F) {
	keys := []string{IngHealthCheckInterval, IngHealthCheckTimeout, IngHealthyThreshold, IngUnhealthyThreshold, IngSuccessCodes,
		IngTargetGroupAttributes, IngBackendProtocolVersion}
	f.Add(uint8(0), "10", uint8(1), "10", false)
	f.Add(uint8(6), "grpc", uint8(4), "0-99", true)
	f.Add(uint8(5), "stickiness.enabled=True", uint8(4), "200,", false)
	f.Fuzz(func(t *testing.T, k1 uint8, v1 string, k2 uint8, v2 string, onSvc bool) {
		ing := map[string]string{pick(keys, k1): v1}
		svc := map[string]string{pick(keys, k2): v2}
		if !onSvc {
			ing, svc = map[string]string{pick(keys, k1): v1, pick(keys, k2): v2}, nil
		}
		a, errs := ParseBackendAttrs(ing, svc)
		all := map[string]string{}
		for k, v := range ing {
			all[k] = v
		}
		for k, v := range svc {
			all[k] = v
		}
		checkErrors(t, all, errs)
		checkHealth(t, a.Health)
		checkAttrMap(t, a.TargetGroup)
		if a.Health.Interval != 0 && a.Health.Timeout >= a.Health.Interval {
			t.Errorf("timeout %d not shorter than interval %d kept", a.Health.Timeout, a.Health.Interval)
		}
	})
}
