// Package annotations parses and validates the annotations lbsg reads, with upstream's keys
// and value syntax. Bad input becomes an *Error that names the key, the value, what is wrong
// and how to fix it. The package is pure.
package annotations

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Error is bad input: it names the annotation key, the value, what is wrong and the fix.
// Other packages reuse it for bad fields and flags; the message calls Key an annotation only
// when it looks like one (it contains a "/").
type Error struct {
	Key, Value, Reason, Fix string
	// Composite marks a Value that lbsg composed from several objects' values, each already
	// shortened (a conflict across the members of an Ingress group): it is quoted whole, up
	// to maxCompositeWidth, so that every side of the conflict shows.
	Composite bool
}

// maxCompositeWidth bounds a composite value in a message.
const maxCompositeWidth = 400

// Error renders e as one line, for example:
//
//	annotation service.beta.kubernetes.io/aws-load-balancer-scheme="public": must be "internal" or "internet-facing"; fix: set it to internal or internet-facing, or remove it
//
// A long value is shortened (see Shorten), so that the message still fits in an Event.
func (e *Error) Error() string {
	var b strings.Builder
	if strings.Contains(e.Key, "/") {
		b.WriteString("annotation ")
	}
	b.WriteString(e.Key)
	b.WriteString("=")
	if e.Composite {
		v := e.Value
		if len(v) > maxCompositeWidth {
			v = strings.ToValidUTF8(v[:maxCompositeWidth], "") + "…"
		}
		b.WriteString(strconv.Quote(v))
	} else {
		b.WriteString(strconv.Quote(Shorten(e.Value)))
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	if e.Fix != "" {
		b.WriteString("; fix: ")
		b.WriteString(e.Fix)
	}
	return b.String()
}

// MaxQuoted is how many characters of a user's value a message quotes.
const MaxQuoted = 64

// maxQuotedWidth bounds a shortened value once quoted: an invalid byte or a control
// character takes up to ten characters as an escape.
const maxQuotedWidth = 96

// Shorten returns s, or its first MaxQuoted characters (fewer when they need escapes)
// followed by "…" when it is longer: a 4 KB value must not push the key and the fix out of a
// message the apiserver refuses.
func Shorten(s string) string {
	n, width := 0, 0
	for i := 0; i < len(s); {
		_, size := utf8.DecodeRuneInString(s[i:])
		w := len(strconv.Quote(s[i:i+size])) - 2
		if n == MaxQuoted || width+w > maxQuotedWidth {
			return s[:i] + "…"
		}
		n++
		width += w
		i += size
	}
	return s
}

// someOf joins the first few items and says how many more there are, so that a list of 60
// bad entries still gives a short message.
func someOf(items []string) string {
	const show = 3
	if len(items) <= show {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:show], ", ") + fmt.Sprintf(" and %d more", len(items)-show)
}

// emptyError is the error for an annotation that is present with nothing in it. An empty
// value never falls back to the default: for a prefix list or a list of source ranges the
// default opens 0.0.0.0/0, the opposite of what someone who cleared the value may want.
func emptyError(key, v string) *Error {
	return &Error{Key: key, Value: v, Reason: "the value is empty",
		Fix: "set a value, or remove the annotation to use the default"}
}

// isBlank reports whether v holds nothing but white space.
func isBlank(v string) bool { return strings.TrimSpace(v) == "" }

// ParseStringList splits v on commas and trims each part, keeping the order; no
// de-duplication. A blank value, and a blank part ("a,,b", a trailing comma), is an error:
// lbsg never guesses what a missing entry meant.
func ParseStringList(key, v string) ([]string, *Error) {
	if isBlank(v) {
		return nil, emptyError(key, v)
	}
	parts := strings.Split(v, ",")
	out := make([]string, 0, len(parts))
	for i, part := range parts {
		part = strings.TrimSpace(part)
		if part == "" {
			return nil, &Error{Key: key, Value: v,
				Reason: fmt.Sprintf("entry %d of the comma-separated list is empty", i+1),
				Fix:    "remove the extra comma, or remove the annotation to use the default"}
		}
		out = append(out, part)
	}
	return out, nil
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
// values are trimmed; a later duplicate key wins. A blank value, an empty entry, an entry
// without "=" or with an empty key is an error.
func ParseStringMap(key, v string) (map[string]string, *Error) {
	entries, err := ParseStringList(key, v)
	if err != nil {
		if !isBlank(v) {
			err.Fix = "write it as key1=value1,key2=value2 without empty entries"
		}
		return nil, err
	}
	out := map[string]string{}
	for _, entry := range entries {
		k, val, ok := strings.Cut(entry, "=")
		k = strings.TrimSpace(k)
		switch {
		case !ok:
			return nil, &Error{Key: key, Value: v,
				Reason: fmt.Sprintf("failed to parse stringMap annotation: entry %q has no \"=\"", Shorten(entry)),
				Fix:    "write it as key1=value1,key2=value2"}
		case k == "":
			return nil, &Error{Key: key, Value: v,
				Reason: fmt.Sprintf("failed to parse stringMap annotation: entry %q has an empty key", Shorten(entry)),
				Fix:    "give every entry a key: key1=value1,key2=value2"}
		}
		out[k] = strings.TrimSpace(val)
	}
	return out, nil
}

// CIDRChange records a CIDR that lbsg uses in another form than the one written: the
// network a prefix with host bits names (10.0.0.1/8 is 10.0.0.0/8), or the canonical
// spelling of an IPv6 prefix. AWS stores that form, so using it keeps the observed and the
// desired rules equal; the caller shows the change to the user as a Warning Event.
type CIDRChange struct {
	Key       string `json:"key"`
	Written   string `json:"written"`
	Canonical string `json:"canonical"`
}

// Message explains the change and how to make it go away.
func (c CIDRChange) Message() string {
	what := "has host bits set"
	if p, err := netip.ParsePrefix(c.Written); err == nil && p == p.Masked() {
		what = "is not in canonical form"
	}
	where := c.Key
	if strings.Contains(c.Key, "/") {
		where = "annotation " + c.Key
	}
	return fmt.Sprintf("%s: CIDR %q %s; lbsg uses %s, the network it names, as AWS stores it; fix: write %s",
		where, Shorten(c.Written), what, c.Canonical, c.Canonical)
}

// CanonicalCIDR parses one IPv4 or IPv6 CIDR strictly (net/netip: no leading zeros in an
// IPv4 address or in the prefix length, no zone) and returns its canonical form: the masked
// network, IPv6 in RFC 5952 spelling. An IPv4-mapped IPv6 prefix is refused, since EC2 would
// take it for an IPv6 range while the user meant IPv4.
func CanonicalCIDR(c string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(c)
	if err != nil {
		return netip.Prefix{}, err
	}
	if p.Addr().Is4In6() {
		return netip.Prefix{}, fmt.Errorf("%q is an IPv4-mapped IPv6 prefix; write the IPv4 CIDR", c)
	}
	return p.Masked(), nil
}

// ParseCIDRs parses a stringList of IPv4 or IPv6 CIDRs (see CanonicalCIDR) and returns them
// in canonical form, with the entries whose form changed. Every malformed entry is named in
// one Error.
func ParseCIDRs(key, v string) ([]string, []CIDRChange, *Error) {
	list, err := ParseStringList(key, v)
	if err != nil {
		return nil, nil, err
	}
	cidrs, changed, err := CanonicalCIDRs(key, list)
	if err != nil {
		err.Value = v
	}
	return cidrs, changed, err
}

// CanonicalCIDRs is ParseCIDRs for a list that is already split, such as
// spec.loadBalancerSourceRanges or IngressClassParams inboundCIDRs.
func CanonicalCIDRs(key string, list []string) ([]string, []CIDRChange, *Error) {
	var (
		bad     []string
		badRaw  []string
		out     = make([]string, 0, len(list))
		changed []CIDRChange
	)
	for _, c := range list {
		t := strings.TrimSpace(c)
		p, err := CanonicalCIDR(t)
		if err != nil {
			bad = append(bad, strconv.Quote(Shorten(c)))
			badRaw = append(badRaw, c)
			continue
		}
		s := p.String()
		if s != t {
			changed = append(changed, CIDRChange{Key: key, Written: t, Canonical: s})
		}
		out = append(out, s)
	}
	if len(bad) > 0 {
		return nil, nil, &Error{Key: key, Value: strings.Join(badRaw, ","),
			Reason: "not a valid CIDR: " + someOf(bad),
			Fix:    "use comma-separated CIDRs such as 203.0.113.0/24,2001:db8::/32 (a single address needs /32 or /128; no leading zeros)"}
	}
	return out, changed, nil
}

var prefixListID = regexp.MustCompile(`^pl-[0-9a-f]+$`)

// ParsePrefixLists parses a stringList of managed prefix list IDs (pl-<hex>). Every malformed
// entry is named in one Error.
func ParsePrefixLists(key, v string) ([]string, *Error) {
	ids, err := ParseStringList(key, v)
	if err != nil {
		return nil, err
	}
	var bad []string
	for _, id := range ids {
		if !prefixListID.MatchString(id) {
			bad = append(bad, strconv.Quote(Shorten(id)))
		}
	}
	if len(bad) > 0 {
		return nil, &Error{Key: key, Value: v,
			Reason: "not a managed prefix list ID: " + someOf(bad),
			Fix:    "use prefix list IDs such as pl-0123456789abcdef0, separated by commas (names are not accepted)"}
	}
	return ids, nil
}

// ParsePort parses a port number in 1..65535 and returns it with its canonical spelling
// ("+80" and "080" are 80), so that what lbsg sends matches what AWS reports back.
func ParsePort(v string) (int32, bool) {
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil || n < 1 || n > 65535 {
		return 0, false
	}
	return int32(n), true
}

// MaxHealthCheckPathLength is ELBv2's limit for a target group's health-check path.
const MaxHealthCheckPathLength = 1024

// checkHealthCheckPath applies ELBv2's rules for a health-check path: it starts with "/",
// has at most 1024 characters, and no white space or control characters (it goes into an
// HTTP request line). It returns the reason, or "".
func checkHealthCheckPath(v string) string {
	switch {
	case !strings.HasPrefix(v, "/"):
		return `a health check path must start with "/"`
	case len(v) > MaxHealthCheckPathLength:
		return fmt.Sprintf("a health check path has at most %d characters (it has %d)", MaxHealthCheckPathLength, len(v))
	case strings.IndexFunc(v, func(r rune) bool { return r <= ' ' || r == 0x7f }) >= 0:
		return "a health check path cannot contain spaces or control characters"
	}
	return ""
}

// maxRefLength is the longest subnet or security group reference: an ID, or a Name tag value
// (AWS allows 256 characters).
const maxRefLength = 256

// ParseRefs parses a stringList of IDs or Name tags (subnets, security groups) and rejects an
// entry longer than any ID or Name tag can be, before it reaches an AWS filter.
func ParseRefs(key, v string) ([]string, *Error) {
	refs, err := ParseStringList(key, v)
	if err != nil {
		return nil, err
	}
	for _, r := range refs {
		if len(r) > maxRefLength {
			return nil, &Error{Key: key, Value: v,
				Reason: fmt.Sprintf("entry %q has %d characters; an ID or Name tag has at most %d", Shorten(r), len(r), maxRefLength),
				Fix:    "list IDs or Name tags separated by commas"}
		}
	}
	return refs, nil
}
