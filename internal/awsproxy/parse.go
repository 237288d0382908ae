package awsproxy

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// faultKeys are the keys of the textual form of Faults, in the order String writes them.
var faultKeys = []string{"seed", "throttle", "server-error", "latency", "dependency-violations"}

const faultSyntax = "key=value pairs separated by commas, keys seed, throttle, server-error (probabilities in [0,1]), latency (a duration) and dependency-violations (a count), e.g. throttle=0.25,server-error=0.05,dependency-violations=1,seed=7"

// ParseFaults reads Faults from the textual form command-line tools take, e.g.
//
//	throttle=0.25,server-error=0.05,dependency-violations=1,latency=20ms,seed=7
//
// Keys left out are zero. Every bad pair is reported, with the syntax.
func ParseFaults(s string) (Faults, error) {
	var f Faults
	if strings.TrimSpace(s) == "" {
		return f, fmt.Errorf("empty fault list; fix: write %s", faultSyntax)
	}
	var errs []error
	seen := map[string]bool{}
	for _, pair := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || v == "" {
			errs = append(errs, fmt.Errorf("%q is not key=value", pair))
			continue
		}
		if seen[k] {
			errs = append(errs, fmt.Errorf("%q is given more than once", k))
			continue
		}
		seen[k] = true
		var err error
		switch k {
		case "seed":
			f.Seed, err = strconv.ParseInt(v, 10, 64)
		case "throttle":
			f.Throttle, err = strconv.ParseFloat(v, 64)
		case "server-error":
			f.ServerError, err = strconv.ParseFloat(v, 64)
		case "latency":
			f.Latency, err = time.ParseDuration(v)
		case "dependency-violations":
			f.DependencyViolations, err = strconv.Atoi(v)
		default:
			err = errors.New("unknown key")
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%q: %v", pair, err))
		}
	}
	if len(errs) == 0 {
		if err := f.validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return Faults{}, fmt.Errorf("invalid faults %q: %w; fix: write %s", s, errors.Join(errs...), faultSyntax)
	}
	return f, nil
}

// String renders f in the form ParseFaults reads, zero fields left out ("none" when
// every field is zero).
func (f Faults) String() string {
	var parts []string
	for _, k := range faultKeys {
		switch {
		case k == "seed" && f.Seed != 0:
			parts = append(parts, "seed="+strconv.FormatInt(f.Seed, 10))
		case k == "throttle" && f.Throttle != 0:
			parts = append(parts, "throttle="+strconv.FormatFloat(f.Throttle, 'g', -1, 64))
		case k == "server-error" && f.ServerError != 0:
			parts = append(parts, "server-error="+strconv.FormatFloat(f.ServerError, 'g', -1, 64))
		case k == "latency" && f.Latency != 0:
			parts = append(parts, "latency="+f.Latency.String())
		case k == "dependency-violations" && f.DependencyViolations != 0:
			parts = append(parts, "dependency-violations="+strconv.Itoa(f.DependencyViolations))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ",")
}
