package cloud

import (
	"cmp"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/lbsg/lbsg/internal/sgrules"
)

// Write-through of lbsg's own SG writes. A reconcile that created an SG or changed its
// rules is followed at once by more reconciles (its finalizer and status updates trigger
// them); they must find what it wrote in the caches rather than read AWS again. Each
// successful write therefore updates the per-ID cache and every cached tag search
// (FindSecurityGroups) in place; a search whose membership the write may change and that
// cannot be evaluated here (by Name tag, by rule reference) is dropped. A failed write
// drops everything it may have touched, as before.

// tagSearches remembers the tag filters of each cached FindSecurityGroups search, by
// cache key, so that a created SG can be added to the searches it matches.
type tagSearches struct {
	mu      sync.Mutex
	filters map[string]map[string][]string
}

func (t *tagSearches) remember(key string, filters map[string][]string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.filters == nil {
		t.filters = map[string]map[string][]string{}
	}
	if _, ok := t.filters[key]; !ok {
		t.filters[key] = maps.Clone(filters)
	}
}

func (t *tagSearches) all() map[string]map[string][]string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return maps.Clone(t.filters)
}

// matchesTags reports whether tags pass FindSecurityGroups' filters.
func matchesTags(filters map[string][]string, tags map[string]string) bool {
	for k, vals := range filters {
		v, ok := tags[k]
		if !ok || (len(vals) > 0 && !slices.Contains(vals, v)) {
			return false
		}
	}
	return true
}

const (
	nameSearchPrefix = "name\x00"
	refsSearchPrefix = "refs\x00"
)

// dropSearches drops the cached searches whose key starts with prefix.
func (o *Observer) dropSearches(prefix string) {
	o.searches.InvalidateIf(func(key string, _ []SecurityGroup) bool { return strings.HasPrefix(key, prefix) })
}

// wroteSG writes through an SG lbsg just created, with no rules: it joins the cached tag
// searches it matches.
func (o *Observer) wroteSG(sg SecurityGroup, gen uint64) {
	o.sgs.Store(map[string]SecurityGroup{sg.ID: sg}, gen)
	for key, filters := range o.tagKeys.all() {
		if !matchesTags(filters, sg.Tags) {
			continue
		}
		o.searches.Update(key, func(gs []SecurityGroup) []SecurityGroup {
			gs = slices.DeleteFunc(gs, func(g SecurityGroup) bool { return g.ID == sg.ID })
			gs = append(gs, cloneSecurityGroup(sg))
			slices.SortFunc(gs, func(a, b SecurityGroup) int { return cmp.Compare(a.ID, b.ID) })
			return gs
		})
	}
	if sg.Tags["Name"] != "" {
		o.dropSearches(nameSearchPrefix)
	}
}

// changedSG applies change to SG id in every cached tag search that holds it. Unless exact,
// the per-ID entry is dropped instead: callers that read SGs by ID (target SGs) then see
// what AWS made of the write, which may differ in details (descriptions of some peers). A
// revoke is exact: AWS holds the SG's rules less the keys revoked.
func (o *Observer) changedSG(id string, exact bool, change func(SecurityGroup) SecurityGroup) {
	if exact {
		o.sgs.Update(id, change)
	} else {
		o.sgs.Invalidate(id)
	}
	for key := range o.tagKeys.all() {
		o.searches.Update(key, func(gs []SecurityGroup) []SecurityGroup {
			for i := range gs {
				if gs[i].ID == id {
					gs[i] = change(gs[i])
				}
			}
			return gs
		})
	}
}

// wroteRules writes through rules lbsg added to (or, with remove, revoked from) SG id.
// Searches by rule reference may gain or lose the SG: they are dropped.
func (o *Observer) wroteRules(id string, rules []sgrules.Rule, remove bool) {
	keys := map[sgrules.Key]bool{}
	for _, r := range rules {
		keys[r.Key.Canonical()] = true
	}
	o.changedSG(id, remove, func(g SecurityGroup) SecurityGroup {
		g.Ingress = slices.DeleteFunc(g.Ingress, func(r sgrules.Rule) bool { return keys[r.Key.Canonical()] })
		if !remove {
			g.Ingress = append(g.Ingress, rules...)
		}
		return g
	})
	if slices.ContainsFunc(rules, func(r sgrules.Rule) bool { return r.PeerKind == sgrules.PeerSG }) {
		o.dropSearches(refsSearchPrefix)
	}
}

// deletedSG writes through the deletion of SG id: it leaves every cached search.
func (o *Observer) deletedSG(id string) {
	o.readMu.Lock()
	now := o.now()
	if now.Sub(o.deletedPruned) >= deletedMemory/24 {
		for k, at := range o.deleted {
			if now.Sub(at) >= deletedMemory {
				delete(o.deleted, k)
			}
		}
		o.deletedPruned = now
	}
	o.deleted[id] = now
	o.readMu.Unlock()
	o.sgs.Invalidate(id)
	for key := range o.tagKeys.all() {
		o.searches.Update(key, func(gs []SecurityGroup) []SecurityGroup {
			return slices.DeleteFunc(gs, func(g SecurityGroup) bool { return g.ID == id })
		})
	}
	o.dropSearches(nameSearchPrefix)
	o.dropSearches(refsSearchPrefix)
}

// foundSG puts an SG a fresh search (key) found into the other cached tag searches it
// matches, replacing the copy they hold.
func (o *Observer) foundSG(key string, sg SecurityGroup) {
	for k, filters := range o.tagKeys.all() {
		if k == key || !matchesTags(filters, sg.Tags) {
			continue
		}
		o.searches.Update(k, func(gs []SecurityGroup) []SecurityGroup {
			gs = slices.DeleteFunc(gs, func(g SecurityGroup) bool { return g.ID == sg.ID })
			gs = append(gs, cloneSecurityGroup(sg))
			slices.SortFunc(gs, func(a, b SecurityGroup) int { return cmp.Compare(a.ID, b.ID) })
			return gs
		})
	}
}
