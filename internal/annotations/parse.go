// Package annotations parses and validates the annotations lbsg reads, with upstream's keys
// and value syntax. Bad input becomes an *Error that names the key, the value, what is wrong
// and how to fix it. The package is pure.
package annotations

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
)

// Error is bad input: it names the annotation key, the value, what is wrong and the fix.
// Other packages reuse it for bad fields and flags; the message calls Key an annotation only
// when it looks like one (it contains a "/").
type Error struct{ Key, Value, Reason, Fix string }

// Error renders e as one line, for example:
//
//	annotation service.beta.kubernetes.io/aws-load-balancer-scheme="public": must be "internal" or "internet-facing"; fix: set it to internal or internet-facing, or remove it
func (e *Error) Error() string {
	var b strings.Builder
	if strings.Contains(e.Key, "/") {
		b.WriteString("annotation ")
	}
	b.WriteString(e.Key)
	b.WriteString("=")
	b.WriteString(strconv.Quote(e.Value))
	b.WriteString(": ")
	b.WriteString(e.Reason)
	if e.Fix != "" {
		b.WriteString("; fix: ")
		b.WriteString(e.Fix)
	}
	return b.String()
}

// ParseStringList splits v on commas, trims each part and drops empty parts, as upstream's
// stringList does: no de-duplication, no sorting. The result is never nil, so a present but
// empty annotation reads as an empty list.
func ParseStringList(v string) []string {
	out := []string{}
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// ParseBool parses a bool annotation with Go's strconv.ParseBool, as upstream does: 1, t, T,
// TRUE, true, True, 0, f, F, FALSE, false and False are accepted.
func ParseBool(key, v string) (bool, *Error) {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, &Error{Key: key, Value: v,
			Reason: "failed to parse bool annotation: not true or false",
			Fix:    `set it to "true" or "false"`}
	}
	return b, nil
}

// ParseStringMap parses "k1=v1,k2=v2". Entries are split as by ParseStringList; keys and
// values are trimmed; a later duplicate key wins. An entry without "=" or with an empty key
// is an error. The result is never nil.
func ParseStringMap(key, v string) (map[string]string, *Error) {
	out := map[string]string{}
	for _, entry := range ParseStringList(v) {
		k, val, ok := strings.Cut(entry, "=")
		k = strings.TrimSpace(k)
		switch {
		case !ok:
			return nil, &Error{Key: key, Value: v,
				Reason: fmt.Sprintf("failed to parse stringMap annotation: entry %q has no \"=\"", entry),
				Fix:    "write it as key1=value1,key2=value2"}
		case k == "":
			return nil, &Error{Key: key, Value: v,
				Reason: fmt.Sprintf("failed to parse stringMap annotation: entry %q has an empty key", entry),
				Fix:    "give every entry a key: key1=value1,key2=value2"}
		}
		out[k] = strings.TrimSpace(val)
	}
	return out, nil
}

// ParseCIDRs parses a stringList of IPv4 or IPv6 CIDRs. Host bits are allowed, as upstream
// allows them (10.0.0.1/24 is kept as written). Every malformed entry is named in one Error.
func ParseCIDRs(key, v string) ([]string, *Error) {
	cidrs := ParseStringList(v)
	var bad []string
	for _, c := range cidrs {
		if _, _, err := net.ParseCIDR(c); err != nil {
			bad = append(bad, strconv.Quote(c))
		}
	}
	if len(bad) > 0 {
		return nil, &Error{Key: key, Value: v,
			Reason: "not a valid CIDR: " + strings.Join(bad, ", "),
			Fix:    "use comma-separated CIDRs such as 203.0.113.0/24,2001:db8::/32 (a single address needs /32 or /128)"}
	}
	return cidrs, nil
}

var prefixListID = regexp.MustCompile(`^pl-[0-9a-f]+$`)

// ParsePrefixLists parses a stringList of managed prefix list IDs (pl-<hex>). Every malformed
// entry is named in one Error.
func ParsePrefixLists(key, v string) ([]string, *Error) {
	ids := ParseStringList(v)
	var bad []string
	for _, id := range ids {
		if !prefixListID.MatchString(id) {
			bad = append(bad, strconv.Quote(id))
		}
	}
	if len(bad) > 0 {
		return nil, &Error{Key: key, Value: v,
			Reason: "not a managed prefix list ID: " + strings.Join(bad, ", "),
			Fix:    "use prefix list IDs such as pl-0123456789abcdef0, separated by commas (names are not accepted)"}
	}
	return ids, nil
}

// parsePort parses a port number in 1..65535.
func parsePort(v string) (int32, bool) {
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil || n < 1 || n > 65535 {
		return 0, false
	}
	return int32(n), true
}
