package plan

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/lbsg/lbsg/internal/spec"
	"github.com/lbsg/lbsg/internal/state"
)

// planAttributes writes the attributes the user set whose observed value differs, on the
// target groups, the load balancer and its listeners. Attributes the user did not name are
// never written: lbsg does not model them, so whatever AWS has stays. A resource that is
// created by this plan, or whose attributes were not read, gets all of the user's.
func planAttributes(b *builder, d *spec.Stack, tgRefs map[string]Ref, lbRef Ref, lb *state.LoadBalancer, o Observed) {
	for _, tg := range d.TargetGroups {
		ref := tgRefs[tg.ResourceID]
		if diff := attrDiff(tg.Attributes, o.Attributes[ref.ID]); len(diff) > 0 {
			b.add(Change{Op: OpSetTGAttributes, Target: ref, Attributes: diff,
				Reason: fmt.Sprintf("target group %s attributes %s", tg.Name, attrString(diff))})
		}
	}
	if diff := attrDiff(d.LoadBalancer.Attributes, o.Attributes[lbRef.ID]); len(diff) > 0 {
		b.add(Change{Op: OpSetLBAttributes, Target: lbRef, Attributes: diff,
			Reason: fmt.Sprintf("load balancer %s attributes %s", d.LoadBalancer.Name, attrString(diff))})
	}
	byPort := map[int32]state.Listener{}
	if lb != nil {
		for _, l := range o.Listeners[lb.ARN] {
			byPort[l.Port] = l
		}
	}
	for _, l := range d.Listeners {
		if len(l.Attributes) == 0 {
			continue
		}
		ref := Ref{Kind: KindListener, Key: fmt.Sprintf("listener/%d", l.Port)}
		if old, ok := byPort[l.Port]; ok {
			if foreignTag(listenerTags(d), old.Tags) != "" {
				continue // left as it is; planListeners says so
			}
			ref = Ref{Kind: KindListener, ID: old.ARN}
		}
		if diff := attrDiff(l.Attributes, o.Attributes[ref.ID]); len(diff) > 0 {
			b.add(Change{Op: OpSetListenerAttributes, Target: ref, Attributes: diff,
				Reason: fmt.Sprintf("listener on port %d attributes %s", l.Port, attrString(diff))})
		}
	}
}

// attrDiff returns the attributes of want whose value in have differs (all of want when
// have is nil: the resource is new or its attributes were not read).
func attrDiff(want, have map[string]string) map[string]string {
	var out map[string]string
	for k, v := range want {
		if hv, ok := have[k]; ok && hv == v {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[k] = v
	}
	return out
}

func attrString(m map[string]string) string { return "must be " + attrList(m) }

// attrList renders attributes as key=value pairs in key order.
func attrList(m map[string]string) string {
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ",")
}

// hcString renders a health check with the settings that are set.
func hcString(hc state.HealthCheck) string {
	s := hc.Protocol + ":" + hc.Port + hc.Path
	add := func(name string, v int32) {
		if v != 0 {
			s += " " + name + "=" + strconv.Itoa(int(v))
		}
	}
	add("interval", hc.Interval)
	add("timeout", hc.Timeout)
	add("healthy", hc.Healthy)
	add("unhealthy", hc.Unhealthy)
	if hc.SuccessCodes != "" {
		s += " codes=" + hc.SuccessCodes
	}
	return s
}

// pick and pickS show the observed value of a setting only when the desired one is set.
func pick(want, have int32) int32 {
	if want == 0 {
		return 0
	}
	return have
}

func pickS(want, have string) string {
	if want == "" {
		return ""
	}
	return have
}
