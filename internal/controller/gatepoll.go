package controller

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/lbsg/lbsg/internal/readiness"
)

// gatePolls schedules the target-health reads of the groups Pods wait on: one read per
// group whenever it is due, however many Pods wait on it and however often its stack is
// reconciled for other reasons, with readiness.NextPoll's backoff between reads. A group
// is due at once when the Pods waiting on it change (a new Pod, new IPs, its containers
// ready), since that is when its targets change. What it remembers only spaces the reads
// out; nothing else depends on it, and it forgets a group as soon as no Pod waits on it.
type gatePolls struct {
	mu sync.Mutex
	// now is the clock; nil is time.Now.
	now    func() time.Time
	groups map[string]*gatePoll
}

// pollsInit guards the creation of an Engine's gatePolls, so that a zero Engine works.
var pollsInit sync.Mutex

// polls returns the Engine's gatePolls, created on first use. Copies of an Engine share it.
func (e *Engine) polls() *gatePolls {
	pollsInit.Lock()
	defer pollsInit.Unlock()
	if e.gates == nil {
		e.gates = &gatePolls{}
	}
	return e.gates
}

type gatePoll struct {
	// waiting and health fingerprint the Pods waiting and the conditions the last read
	// gave them.
	waiting, health string
	delay           time.Duration
	next            time.Time
}

func (p *gatePolls) clock() time.Time {
	if p.now != nil {
		return p.now()
	}
	return time.Now()
}

// due reports whether the group's health must be read now; if not, it also returns how
// long until it must.
func (p *gatePolls) due(key, waiting string) (bool, time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	g := p.groups[key]
	if g == nil || g.waiting != waiting {
		return true, 0
	}
	if wait := g.next.Sub(p.clock()); wait > 0 {
		return false, wait
	}
	return true, 0
}

// read records what a read of the group's health gave the Pods waiting on it, and returns
// how long until the next read.
func (p *gatePolls) read(key, waiting, health string) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock()
	if p.groups == nil {
		p.groups = map[string]*gatePoll{}
	}
	// A group overdue by more than the longest delay has no reconcile coming back to it
	// (its stack is gone): forget it.
	for k, g := range p.groups {
		if now.Sub(g.next) > readiness.PollMax {
			delete(p.groups, k)
		}
	}
	g := p.groups[key]
	if g == nil {
		g = &gatePoll{}
		p.groups[key] = g
	}
	g.delay = readiness.NextPoll(g.delay, g.waiting != waiting || g.health != health)
	g.waiting, g.health, g.next = waiting, health, now.Add(g.delay)
	return g.delay
}

// done forgets a group no Pod waits on.
func (p *gatePolls) done(key string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.groups, key)
}

// waitingPrint fingerprints what of the waiting Pods changes their targets: who they are,
// their IPs, whether their containers are ready.
func waitingPrint(pods []*corev1.Pod) string {
	parts := make([]string, len(pods))
	for i, p := range pods {
		ips := make([]string, len(p.Status.PodIPs))
		for j, ip := range p.Status.PodIPs {
			ips[j] = ip.IP
		}
		parts[i] = fmt.Sprintf("%s/%s %s %v", p.Name, p.UID, strings.Join(ips, ","), readiness.ContainersReady(p))
	}
	sort.Strings(parts)
	return strings.Join(parts, ";")
}

// healthPrint fingerprints the conditions a read gives the waiting Pods, by Pod.
func healthPrint(pods []*corev1.Pod, conds []corev1.PodCondition) string {
	parts := make([]string, len(pods))
	for i, p := range pods {
		c := conds[i]
		parts[i] = fmt.Sprintf("%s %s %s %s", p.Name, c.Status, c.Reason, c.Message)
	}
	sort.Strings(parts)
	return strings.Join(parts, ";")
}
