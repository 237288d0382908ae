package targets

import (
	"strings"
	"testing"
	"time"
)

// A target is a live Pod: Running (or Pending with a readiness gate), not terminating, and
// the holder of its IP; finished Pods and Pods past their grace hold no IP at all.
func TestLiveness(t *testing.T) {
	now := time.Unix(1000, 0)
	soon, past := now.Add(30*time.Second), now.Add(-time.Second)
	tests := []struct {
		name  string
		l     Liveness
		holds bool
		why   string // "" a target, else a fragment of the reason
	}{
		{"running", Liveness{Phase: PhaseRunning, HasIP: true}, true, ""},
		{"running, no IP", Liveness{Phase: PhaseRunning}, false, "no IP"},
		{"pending with a gate", Liveness{Phase: PhasePending, HasIP: true, Gated: true}, true, ""},
		{"pending with a gate, no IP yet", Liveness{Phase: PhasePending, Gated: true}, false, "no IP"},
		{"pending without a gate", Liveness{Phase: PhasePending, HasIP: true}, true, "Pending"},
		{"no phase yet", Liveness{HasIP: true}, true, "Pending"},
		{"succeeded", Liveness{Phase: PhaseSucceeded, HasIP: true}, false, "finished (phase Succeeded)"},
		{"failed", Liveness{Phase: PhaseFailed, HasIP: true, Gated: true}, false, "finished (phase Failed)"},
		{"unknown", Liveness{Phase: "Unknown", HasIP: true}, true, "phase is Unknown"},
		{"terminating within its grace", Liveness{Phase: PhaseRunning, HasIP: true, Deadline: soon}, true, "terminating"},
		{"terminating past its grace", Liveness{Phase: PhaseRunning, HasIP: true, Deadline: past}, false, "past its grace"},
		{"grace ends now", Liveness{Phase: PhaseRunning, HasIP: true, Deadline: now}, false, "past its grace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := HoldsIP(tt.l, now); got != tt.holds {
				t.Errorf("HoldsIP = %t, want %t", got, tt.holds)
			}
			got := NotLive(tt.l, now)
			if (tt.why == "") != (got == "") || !strings.Contains(got, tt.why) {
				t.Errorf("NotLive = %q, want %q", got, tt.why)
			}
			if got == "" && !HoldsIP(tt.l, now) {
				t.Error("a target must hold its IP")
			}
		})
	}
}

func TestIPConflict(t *testing.T) {
	now := time.Unix(1000, 0)
	run := Liveness{Phase: PhaseRunning, HasIP: true}
	me := Holder{Namespace: "team-a", Name: "web", Live: run}
	host := Holder{Namespace: "team-a", Name: "agent", HostNetwork: true, Live: run}
	tests := []struct {
		name    string
		self    Holder
		holders []Holder
		want    string
	}{
		{"alone", me, []Holder{me}, ""},
		{"not confirmed", me, nil, "could not be checked"},
		{"not among the holders", me, []Holder{{Namespace: "team-b", Name: "db", Live: run}}, "could not be checked"},
		{"another namespace's live Pod", me, []Holder{me, {Namespace: "team-b", Name: "db", Live: run}}, "another live Pod"},
		{"the same namespace's live Pod", me, []Holder{me, {Namespace: "team-a", Name: "old", Live: run}}, "another live Pod"},
		{"a terminating Pod within its grace", me, []Holder{me, {Namespace: "team-b", Name: "db", Live: Liveness{Phase: PhaseRunning, HasIP: true, Deadline: now.Add(time.Minute)}}}, "another live Pod"},
		{"a finished Pod", me, []Holder{me, {Namespace: "team-b", Name: "job", Live: Liveness{Phase: PhaseSucceeded, HasIP: true}}}, ""},
		{"a Pod past its grace", me, []Holder{{Namespace: "team-b", Name: "gone", Live: Liveness{Phase: PhaseRunning, HasIP: true, Deadline: now.Add(-time.Minute)}}, me}, ""},
		{"host-network Pods share the node IP", host, []Holder{host, {Namespace: "team-b", Name: "agent", HostNetwork: true, Live: run}}, ""},
		{"a Pod of its own on the node IP", host, []Holder{host, {Namespace: "team-b", Name: "odd", Live: run}}, "another live Pod"},
		{"a Pod of its own against a host-network one", me, []Holder{me, {Namespace: "team-b", Name: "agent", HostNetwork: true, Live: run}}, "another live Pod"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := IPConflict(tt.self.Namespace, tt.self.Name, tt.holders, now)
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Errorf("IPConflict = %q, want %q", got, tt.want)
			}
		})
	}
}
