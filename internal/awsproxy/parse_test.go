package awsproxy

import (
	"strings"
	"testing"
	"time"
)

func TestParseFaults(t *testing.T) {
	good := []struct {
		in   string
		want Faults
	}{
		{"throttle=0.25,server-error=0.05", Faults{Throttle: 0.25, ServerError: 0.05}},
		{" seed=7 , latency=20ms,dependency-violations=1", Faults{Seed: 7, Latency: 20 * time.Millisecond, DependencyViolations: 1}},
		{"throttle=1", Faults{Throttle: 1}},
	}
	for _, tt := range good {
		got, err := ParseFaults(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseFaults(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
		if back, err := ParseFaults(got.String()); err != nil || back != got {
			t.Errorf("%q does not round-trip: %q gives %+v, %v", tt.in, got.String(), back, err)
		}
	}
	bad := []struct{ in, want string }{
		{"", "empty fault list"},
		{"throttle", `"throttle" is not key=value`},
		{"throttle=", `"throttle=" is not key=value`},
		{"throttel=0.1", `"throttel=0.1": unknown key`},
		{"throttle=lots", `"throttle=lots"`},
		{"latency=5", `"latency=5"`},
		{"throttle=0.1,throttle=0.2", `"throttle" is given more than once`},
		{"throttle=0.7,server-error=0.5", "sum to at most 1"},
		{"dependency-violations=-1", "must not be negative"},
	}
	for _, tt := range bad {
		_, err := ParseFaults(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "fix: write") {
			t.Errorf("ParseFaults(%q) = %v; want an error saying %q and the fix", tt.in, err, tt.want)
		}
	}
	if s := (Faults{}).String(); s != "none" {
		t.Errorf("zero Faults = %q", s)
	}
}
