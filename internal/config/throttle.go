package config

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/lbsg/lbsg/internal/cloud"
)

// FlagAWSAPIThrottle is upstream's flag for client-side AWS rate limits.
const FlagAWSAPIThrottle = "aws-api-throttle"

const throttleSyntax = `serviceID:operationRegex=rate:burst, e.g. "EC2:^Describe=20:100"`

// ParseThrottle parses upstream's --aws-api-throttle syntax: comma-separated entries
//
//	serviceID:operationRegex=rate:burst
//
// where serviceID is an AWS SDK service ID (as in --aws-api-endpoints: "EC2", "Elastic
// Load Balancing v2", or an alias), operationRegex a Go regular expression matched against
// the API action, rate the calls per second (> 0, fractions allowed) and burst the calls
// allowed at once (>= 1). Entries for services lbsg does not call (upstream's WAF, Shield,
// …) are checked and dropped. Every bad entry is reported, with the fix.
func ParseThrottle(v string) (cloud.Throttle, error) {
	if strings.TrimSpace(v) == "" {
		return nil, fmt.Errorf("empty value: give %s, or leave the flag out for the defaults", throttleSyntax)
	}
	var out cloud.Throttle
	var errs []error
	for _, entry := range strings.Split(v, ",") {
		r, err := parseThrottleEntry(strings.TrimSpace(entry))
		if err != nil {
			errs = append(errs, fmt.Errorf("entry %q: %w; fix: write %s", entry, err, throttleSyntax))
			continue
		}
		if r.Service == ServiceEC2 || r.Service == ServiceELBv2 {
			out = append(out, r)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func parseThrottleEntry(entry string) (cloud.ThrottleRule, error) {
	var r cloud.ThrottleRule
	if entry == "" {
		return r, errors.New("empty entry")
	}
	// rate:burst never holds "=", so the last "=" ends the regex, which may hold one.
	i := strings.LastIndex(entry, "=")
	if i < 0 {
		return r, errors.New(`no "=" between the operation and rate:burst`)
	}
	key, val := entry[:i], entry[i+1:]
	service, op, ok := strings.Cut(key, ":")
	if !ok {
		return r, errors.New(`no ":" between the service ID and the operation regex`)
	}
	id, err := canonicalServiceID(strings.TrimSpace(service))
	if err != nil {
		return r, err
	}
	if op == "" {
		return r, errors.New(`empty operation regex: use ".*" for every operation`)
	}
	re, err := regexp.Compile(op)
	if err != nil {
		return r, fmt.Errorf("operation regex %q: %w", op, err)
	}
	rateStr, burstStr, ok := strings.Cut(val, ":")
	if !ok {
		return r, fmt.Errorf("%q is not rate:burst", val)
	}
	rate, err := strconv.ParseFloat(strings.TrimSpace(rateStr), 64)
	if err != nil || rate <= 0 || math.IsInf(rate, 0) || math.IsNaN(rate) {
		return r, fmt.Errorf("rate %q must be a positive number of calls per second, such as 10 or 0.5", rateStr)
	}
	burst, err := strconv.Atoi(strings.TrimSpace(burstStr))
	if err != nil || burst < 1 {
		return r, fmt.Errorf("burst %q must be a whole number of calls, at least 1", burstStr)
	}
	return cloud.ThrottleRule{Service: id, Operation: re, Rate: rate, Burst: burst}, nil
}

// throttleValue is the pflag.Value of --aws-api-throttle. As upstream, the rules given for
// a service replace that service's defaults and keep the other services' defaults; when
// the flag is repeated, a later value for a service replaces an earlier one.
type throttleValue struct{ t *cloud.Throttle }

func (v *throttleValue) Set(s string) error {
	parsed, err := ParseThrottle(s)
	if err != nil {
		return err
	}
	given := map[string]bool{}
	for _, r := range parsed {
		given[r.Service] = true
	}
	var kept cloud.Throttle
	for _, r := range *v.t {
		if !given[r.Service] {
			kept = append(kept, r)
		}
	}
	*v.t = append(kept, parsed...)
	return nil
}

func (v *throttleValue) String() string {
	if v.t == nil {
		return ""
	}
	return v.t.String()
}

func (v *throttleValue) Type() string { return "serviceID:operationRegex=rate:burst,..." }
