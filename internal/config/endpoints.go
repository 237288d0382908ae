package config

import (
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// AWS SDK service IDs lbsg talks to (they equal ec2.ServiceID and
// elasticloadbalancingv2.ServiceID in aws-sdk-go-v2).
const (
	ServiceEC2   = "EC2"
	ServiceELBv2 = "Elastic Load Balancing v2"
	ServiceSTS   = "STS"
)

// endpointServiceIDs maps every accepted spelling, lower-cased, to the SDK service ID.
// Besides EC2 and ELBv2, the IDs of the other services upstream calls are accepted (and
// kept in the map) so that an upstream Deployment's --aws-api-endpoints still parses; lbsg
// ignores those it does not call. The lower-case aliases are aws-sdk-go v1 endpoint IDs.
var endpointServiceIDs = func() map[string]string {
	m := map[string]string{}
	for id, aliases := range map[string][]string{
		ServiceEC2:                    {"ec2"},
		ServiceELBv2:                  {"elasticloadbalancing", "elbv2", "elasticloadbalancingv2"},
		ServiceSTS:                    {"sts"},
		"ACM":                         {"acm"},
		"WAFV2":                       {"wafv2"},
		"WAF Regional":                {"waf-regional"},
		"Shield":                      {"shield"},
		"Resource Groups Tagging API": {"tagging"},
		"Global Accelerator":          {"globalaccelerator"},
		"Route 53":                    {"route53"},
		"EKS":                         {"eks"},
		"CloudWatch Logs":             {"logs"},
	} {
		m[strings.ToLower(id)] = id
		for _, a := range aliases {
			m[a] = id
		}
	}
	return m
}()

// ParseEndpoints parses upstream's --aws-api-endpoints syntax, one argument holding
// "serviceID=URL" entries separated by commas:
//
//	EC2=http://127.0.0.1:5000,Elastic Load Balancing v2=http://127.0.0.1:5000
//
// Keys are AWS SDK service IDs, which may contain spaces; they match case-insensitively, and
// the aws-sdk-go v1 IDs ec2 and elasticloadbalancing (or elbv2) are accepted as aliases. The
// result is keyed by the canonical ID. An unknown key, an entry without "=", a key given twice
// or a value that is not an absolute http(s) URL is an error; all of them are reported.
func ParseEndpoints(v string) (map[string]string, error) {
	out := map[string]string{}
	var errs []error
	for _, entry := range strings.Split(v, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		k, u, ok := strings.Cut(entry, "=")
		if !ok {
			errs = append(errs, fmt.Errorf("entry %q has no \"=\": use serviceID=URL, e.g. EC2=https://ec2.example.com", entry))
			continue
		}
		id, err := canonicalServiceID(strings.TrimSpace(k))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		u = strings.TrimSpace(u)
		if err := checkEndpointURL(id, u); err != nil {
			errs = append(errs, err)
			continue
		}
		if _, dup := out[id]; dup {
			errs = append(errs, fmt.Errorf("service %q is given more than once", id))
			continue
		}
		out[id] = u
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func canonicalServiceID(k string) (string, error) {
	if id, ok := endpointServiceIDs[strings.ToLower(k)]; ok {
		return id, nil
	}
	return "", fmt.Errorf("unknown AWS service ID %q: use %q (or ec2) and %q (or elasticloadbalancing)",
		k, ServiceEC2, ServiceELBv2)
}

func checkEndpointURL(id, u string) error {
	parsed, err := url.Parse(u)
	if err != nil || (parsed.Scheme != "http" && parsed.Scheme != "https") || parsed.Host == "" {
		return fmt.Errorf("endpoint %q for %s is not an absolute http(s) URL such as https://ec2.example.com", u, id)
	}
	return nil
}

// validateEndpoints checks a map that may not have come through ParseEndpoints.
func validateEndpoints(m map[string]string) error {
	var errs []error
	for _, k := range sortedKeys(m) {
		id, err := canonicalServiceID(k)
		switch {
		case err != nil:
			errs = append(errs, err)
		case id != k:
			errs = append(errs, fmt.Errorf("AWS service ID %q must be spelled %q", k, id))
		default:
			if err := checkEndpointURL(id, m[k]); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid --%s: %w", FlagAWSAPIEndpoints, errors.Join(errs...))
	}
	return nil
}

// endpointsValue is the pflag.Value of --aws-api-endpoints. Unlike pflag's stringToString
// it does not read the value as CSV; repeated flags add entries, a later one wins.
type endpointsValue struct{ m *map[string]string }

func (e *endpointsValue) Set(v string) error {
	parsed, err := ParseEndpoints(v)
	if err != nil {
		return err
	}
	if *e.m == nil {
		*e.m = map[string]string{}
	}
	for k, u := range parsed {
		(*e.m)[k] = u
	}
	return nil
}

func (e *endpointsValue) String() string {
	if e.m == nil {
		return ""
	}
	keys := make([]string, 0, len(*e.m))
	for k := range *e.m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + (*e.m)[k]
	}
	return strings.Join(parts, ",")
}

func (e *endpointsValue) Type() string { return "serviceID=URL,..." }
