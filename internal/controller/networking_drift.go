package controller

import (
	"crypto/sha256"
	"encoding/json"
	"sync"

	"github.com/lbsg/lbsg/internal/plan"
	"github.com/lbsg/lbsg/internal/sgrules"
)

// driftTracker tells drift repairs from changes Kubernetes asked for, for the metrics only.
//
// A change on a target SG is a drift repair when what Kubernetes wants on that SG is the
// same as in the previous pass, and that pass left the SG as wanted: then nothing in
// Kubernetes asked for the change, so AWS must have changed behind lbsg's back (a rule
// revoked or added by hand, by another tool). Typically the periodic drift-check pass
// finds it. The first pass after a start counts no drift: there is no previous pass to
// compare with. The fingerprints are kept only to label the metric; no plan depends on
// them.
type driftTracker struct {
	mu   sync.Mutex
	last map[string][32]byte // target SG → fingerprint of what was wanted there
}

// wanted fingerprints what Kubernetes wants on one target SG in this pass.
func wanted(in plan.NetworkingInput, sg string) [32]byte {
	b, _ := json.Marshal(struct {
		Budget     int
		Needs      map[string][]sgrules.Need
		CIDR       []sgrules.Rule
		CIDROwners map[string][]sgrules.Rule
	}{in.Budget, in.Needs[sg], in.CIDRRules[sg], in.CIDROwners[sg]})
	return sha256.Sum256(b)
}

// isDrift reports whether changes on sg with this fingerprint repair drift.
func (d *driftTracker) isDrift(sg string, fp [32]byte) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	prev, ok := d.last[sg]
	return ok && prev == fp
}

// settled records that sg was left as wanted with fingerprint fp; forget drops an SG
// whose pass failed, so that the retry is not counted as a repair.
func (d *driftTracker) settled(sg string, fp [32]byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.last == nil {
		d.last = map[string][32]byte{}
	}
	d.last[sg] = fp
}

func (d *driftTracker) forget(sg string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.last, sg)
}
