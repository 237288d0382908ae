package controller

import (
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/lbsg/lbsg/internal/cloud"
	"github.com/lbsg/lbsg/internal/spec"
	"github.com/lbsg/lbsg/internal/targets"
)

// EventPodENIIgnored is the reason of the Warning Event that says a Pod's
// vpc.amazonaws.com/pod-eni annotation was not used to find its target ENI.
const EventPodENIIgnored = "PodENIAnnotationIgnored"

// podENIClaim is what a Pod behind an ip target claims, by its pod-eni annotation, about the
// ENI that holds its IP.
type podENIClaim struct {
	pod   string // namespace/name
	ip    string
	claim targets.PodENIClaim
	err   error // the annotation could not be read
}

// podENIIndex maps namespace/IP to the annotation of the Pods with that IP that carry
// one. It is empty, and costs nothing more, in a cluster without security groups for pods.
type podENIIndex map[string][]podENIAnnotation

type podENIAnnotation struct{ pod, value string }

func newPodENIIndex(objs ClusterObjects) podENIIndex {
	idx := podENIIndex{}
	now := time.Now()
	for i := range objs.Pods {
		p := &objs.Pods[i]
		v, ok := p.Annotations[targets.PodENIAnnotation]
		if !ok || p.DeletionTimestamp != nil || p.Spec.HostNetwork || !targets.HoldsIP(podLiveness(p), now) {
			// A hostNetwork Pod's IP is its node's: its target ENI is the node's. A
			// finished Pod's annotation names an ENI that is no longer its own.
			continue
		}
		for _, ip := range p.Status.PodIPs {
			k := p.Namespace + "/" + ip.IP
			idx[k] = append(idx[k], podENIAnnotation{pod: p.Namespace + "/" + p.Name, value: v})
		}
	}
	return idx
}

// claims returns the claims of the Pods behind the stack's ip targets (ruleTargets).
func (idx podENIIndex) claims(st *spec.Stack, objs ClusterObjects) []podENIClaim {
	if len(idx) == 0 {
		return nil
	}
	var out []podENIClaim
	for _, tg := range st.TargetGroups {
		if tg.TargetType != spec.TargetIP {
			continue
		}
		for _, t := range ruleTargets(tg, objs) {
			anns := idx[tg.ServiceNamespace+"/"+t.ID]
			switch len(anns) {
			case 0:
				continue
			case 1:
				c := podENIClaim{pod: anns[0].pod, ip: t.ID}
				c.claim, c.err = targets.ClaimFor(anns[0].value, t.ID)
				out = append(out, c)
			default:
				out = append(out, podENIClaim{pod: anns[0].pod, ip: t.ID,
					err: fmt.Errorf("%d Pods with IP %s carry the annotation", len(anns), t.ID)})
			}
		}
	}
	return out
}

// resolveBranchENIs confirms each claim in EC2 (targets.VerifyBranchENI): the ENIs the
// claims name are read in one batched DescribeNetworkInterfaces per 200 IDs not read
// before in this resync period (one not found is remembered as such). It returns the
// confirmed branch ENI of each pod IP, and why each other claim is not used.
func (e *Engine) resolveBranchENIs(ctx context.Context, snap *NetworkingSnapshot, claims []podENIClaim) (map[string]cloud.ENI, map[podENIClaim]string) {
	confirmed := map[string]cloud.ENI{}
	refused := map[podENIClaim]string{}
	if snap.branchENI == nil || !snap.branchSince.Equal(snap.memoSince) {
		snap.branchENI, snap.branchSince = map[string]cloud.ENI{}, snap.memoSince
	}
	var ids, newIDs []string
	for _, c := range claims {
		if c.err == nil {
			ids = append(ids, c.claim.ENIID)
		}
	}
	ids = dedupStrings(ids)
	for _, id := range ids {
		if _, ok := snap.branchENI[id]; !ok {
			newIDs = append(newIDs, id)
		}
	}
	var readErr error
	if len(newIDs) > 0 {
		found, err := e.EC2.NetworkInterfaces(ctx, newIDs, false)
		if err != nil {
			readErr = err
		} else {
			for _, id := range newIDs {
				snap.branchENI[id] = found[id] // the zero ENI: not found
			}
		}
	}
	for id := range snap.branchENI {
		if !slices.Contains(ids, id) {
			delete(snap.branchENI, id)
		}
	}
	for _, c := range claims {
		if c.err != nil {
			refused[c] = c.err.Error()
			continue
		}
		eni, ok := snap.branchENI[c.claim.ENIID]
		if !ok {
			refused[c] = fmt.Sprintf("network interface %s could not be read: %v", c.claim.ENIID, readErr)
			continue
		}
		var obs *targets.ObservedENI
		if eni.ID != "" {
			obs = &targets.ObservedENI{ID: eni.ID, Type: eni.Type, VPCID: eni.VPCID, PrivateIPs: eni.PrivateIPs}
		}
		if why := targets.VerifyBranchENI(c.claim, c.ip, e.EC2.VPCID(), obs); why != "" {
			refused[c] = why
			continue
		}
		confirmed[c.ip] = eni
	}
	return confirmed, refused
}

// podENIMessage is the text of the Event for a claim that is not used.
func podENIMessage(c podENIClaim, why string) string {
	eni := ""
	if c.claim.ENIID != "" {
		eni = " (" + c.claim.ENIID + ")"
	}
	return fmt.Sprintf("annotation %s%s of Pod %s is not used for target %s: %s; its target ENI is found by its IP instead. "+
		"The annotation is the VPC resource controller's to write: remove or correct it",
		targets.PodENIAnnotation, eni, c.pod, c.ip, why)
}

// noticesByName keys notices by owner name, for the pass's fingerprint.
func noticesByName(n map[spec.Owner][]string) map[string][]string {
	if len(n) == 0 {
		return nil
	}
	out := make(map[string][]string, len(n))
	for o, msgs := range n {
		out[o.String()] = msgs
	}
	return out
}

// reportPodENI puts each pod-eni notice on its owner's objects as a Warning Event, once
// while it lasts. It is only a notice: the target still gets its rule (on the ENI that
// holds its IP), so the owner's Ready condition is left alone.
func (r *NetworkingReconciler) reportPodENI(objs ClusterObjects, notices map[spec.Owner][]string) {
	now := map[string]bool{}
	for owner, msgs := range notices {
		for _, m := range msgs {
			key := owner.String() + "\x00" + m
			now[key] = true
			if r.podENINoticed[key] {
				continue
			}
			for _, o := range r.ownerObjects(objs, owner) {
				r.Recorder.Eventf(o, nil, corev1.EventTypeWarning, EventPodENIIgnored, "Reconcile", "%s", m)
			}
		}
	}
	r.podENINoticed = now
}
