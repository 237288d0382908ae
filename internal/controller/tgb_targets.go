package controller

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/lbsg/lbsg/internal/state"
)

// TGBTargetsAnnotation records on a TargetGroupBinding the target group and the targets
// lbsg registered in it, so that lbsg deregisters only those: the target group is the
// user's, and targets someone else registered (another cluster, a script) are left alone.
// The annotation is the tenant's to write (and kubectl exports it with the binding), so it
// is trusted only when the target group's naming.RegisteredTagKey tag, which only lbsg
// writes, holds its digest for this binding (recordDigest).
const TGBTargetsAnnotation = "lbsg.k8s.aws/registered-targets"

// trackedTargets is the decoded TGBTargetsAnnotation.
type trackedTargets struct {
	ARN     string
	Targets []state.Target
}

// encodeTracked renders "<arn> <id>:<port>,<id>:<port>…", the targets sorted.
func encodeTracked(t trackedTargets) string {
	if t.ARN == "" {
		return ""
	}
	ts := sortedTargets(t.Targets)
	parts := make([]string, len(ts))
	for i, x := range ts {
		parts[i] = x.ID + ":" + strconv.Itoa(int(x.Port))
	}
	return t.ARN + " " + strings.Join(parts, ",")
}

// decodeTracked parses encodeTracked's output; an unreadable value is an error, and the
// caller then deregisters nothing.
func decodeTracked(v string) (trackedTargets, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return trackedTargets{}, nil
	}
	arn, list, _ := strings.Cut(v, " ")
	out := trackedTargets{ARN: arn}
	if list == "" {
		return out, nil
	}
	for _, p := range strings.Split(list, ",") {
		i := strings.LastIndex(p, ":")
		if i <= 0 {
			return trackedTargets{}, fmt.Errorf("annotation %s: target %q is not <id>:<port>", TGBTargetsAnnotation, p)
		}
		port, err := strconv.ParseInt(p[i+1:], 10, 32)
		if err != nil || port < 1 || port > 65535 {
			return trackedTargets{}, fmt.Errorf("annotation %s: target %q has no valid port", TGBTargetsAnnotation, p)
		}
		out.Targets = append(out.Targets, state.Target{ID: p[:i], Port: int32(port)})
	}
	return out, nil
}

// targetsDiff is what a binding's reconcile changes in its target group: register what is
// wanted and missing; deregister what lbsg registered (tracked), is still there and is no
// longer wanted. A target lbsg did not register is never deregistered.
func targetsDiff(want, have, tracked []state.Target) (register, deregister []state.Target) {
	haveSet := targetSet(have)
	wantSet := targetSet(want)
	for _, t := range sortedTargets(want) {
		if !haveSet[t] {
			register = append(register, t)
		}
	}
	for _, t := range sortedTargets(tracked) {
		if haveSet[t] && !wantSet[t] {
			deregister = append(deregister, t)
		}
	}
	return register, deregister
}

// stillTracked are the targets to record before the writes of a reconcile: the wanted
// ones and the tracked ones still registered, so that a failure between the AWS writes and
// the next record loses none.
func stillTracked(want, have, tracked []state.Target) []state.Target {
	haveSet := targetSet(have)
	out := targetSet(want)
	for _, t := range tracked {
		if haveSet[t] {
			out[t] = true
		}
	}
	list := make([]state.Target, 0, len(out))
	for t := range out {
		list = append(list, t)
	}
	return sortedTargets(list)
}

func targetSet(ts []state.Target) map[state.Target]bool {
	m := make(map[state.Target]bool, len(ts))
	for _, t := range ts {
		m[t] = true
	}
	return m
}

func sortedTargets(ts []state.Target) []state.Target {
	out := append([]state.Target(nil), ts...)
	sort.Slice(out, func(i, j int) bool {
		if out[i].ID != out[j].ID {
			return out[i].ID < out[j].ID
		}
		return out[i].Port < out[j].Port
	})
	// Duplicates would register twice.
	uniq := out[:0]
	for i, t := range out {
		if i == 0 || t != out[i-1] {
			uniq = append(uniq, t)
		}
	}
	return uniq
}

// recordDigest seals a registered-targets record for one binding of one cluster: the
// digest of the cluster, the binding's namespace and name and the record. The same record
// copied to another binding, or edited, has another digest.
func recordDigest(cluster, namespace, name string, t trackedTargets) string {
	h := sha256.New()
	for _, part := range []string{"lbsg registered-targets", cluster, namespace, name, encodeTracked(t)} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:16])
}

// sealValue is the value of the naming.RegisteredTagKey tag that vouches for each of
// digests: a reconcile writes it once, before it writes the records those digests seal in
// turn, so that whichever of them a failure leaves on the binding is still trusted.
func sealValue(digests ...string) string {
	var out []string
	for _, d := range digests {
		if d != "" && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return strings.Join(out, " ")
}

// sealed reports whether a naming.RegisteredTagKey tag value vouches for digest.
func sealed(tag, digest string) bool {
	return digest != "" && slices.Contains(strings.Fields(tag), digest)
}

// targetList renders at most max targets as "id:port, …" and counts the rest, for a
// message.
func targetList(ts []state.Target, max int) string {
	parts := make([]string, 0, min(len(ts), max)+1)
	for i, t := range ts {
		if i == max {
			parts = append(parts, fmt.Sprintf("and %d more", len(ts)-max))
			break
		}
		parts = append(parts, t.ID+":"+strconv.Itoa(int(t.Port)))
	}
	return strings.Join(parts, ", ")
}
