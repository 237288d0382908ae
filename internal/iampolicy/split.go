package iampolicy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"unicode"
	"unicode/utf8"
)

// AWS's limits on identity policies (IAM and AWS STS quotas). IAM counts a document's
// characters without white space.
const (
	// ManagedPolicyMaxChars is the size of one customer managed policy.
	ManagedPolicyMaxChars = 6144
	// InlinePolicyMaxChars is the size of all inline policies of one role together.
	InlinePolicyMaxChars = 10240
	// MaxManagedPoliciesPerRole is how many managed policies a role may have attached by
	// default (a quota AWS raises to 20 on request).
	MaxManagedPoliciesPerRole = 10
)

// Size is what IAM counts against its limits: the characters of the document's JSON
// without white space (none of lbsg's names or values has any).
func Size(d Document) int {
	raw, err := compact(d)
	if err != nil {
		// A Document always marshals: its fields are strings and lists of strings.
		panic(err)
	}
	n := 0
	for len(raw) > 0 {
		r, w := utf8.DecodeRune(raw)
		raw = raw[w:]
		if !unicode.IsSpace(r) {
			n++
		}
	}
	return n
}

func compact(d Document) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(d); err != nil {
		return nil, err
	}
	return bytes.TrimSpace(buf.Bytes()), nil
}

// Managed renders the policy for o as customer managed policies, each within
// ManagedPolicyMaxChars: as many documents as that takes, all of them to be attached to
// lbsg's role. Statements are kept whole, conditions and all, and in their order; a
// statement too large for one document on its own (many --load-balancer-name-pattern
// values) is split by resources into statements with the same actions and conditions.
// More documents than MaxManagedPoliciesPerRole is an error.
func Managed(o Options) ([]Document, error) {
	doc, err := Render(o)
	if err != nil {
		return nil, err
	}
	return split(doc, ManagedPolicyMaxChars)
}

// Inline renders the policy for o as one inline policy, when it fits InlinePolicyMaxChars
// (which all inline policies of a role share); otherwise it says how large it is.
func Inline(o Options) (Document, error) {
	doc, err := Render(o)
	if err != nil {
		return Document{}, err
	}
	if n := Size(doc); n > InlinePolicyMaxChars {
		return Document{}, fmt.Errorf("the policy for cluster %q has %d characters without white space; an inline policy may have at most %d (for all inline policies of the role together): use managed policies (--format managed)",
			o.ClusterName, n, InlinePolicyMaxChars)
	}
	return doc, nil
}

// split packs doc's statements into documents of at most limit characters: each statement
// goes to the first document with room for it (first fit, in order), so the documents
// are few and stable for given options.
func split(doc Document, limit int) ([]Document, error) {
	var parts []Statement
	for _, s := range doc.Statement {
		ss, err := fitStatement(doc.Version, s, limit)
		if err != nil {
			return nil, err
		}
		parts = append(parts, ss...)
	}
	var out []Document
	for _, s := range parts {
		placed := false
		for i := range out {
			grown := Document{Version: out[i].Version, Statement: append(slices.Clip(out[i].Statement), s)}
			if Size(grown) <= limit {
				out[i] = grown
				placed = true
				break
			}
		}
		if !placed {
			out = append(out, Document{Version: doc.Version, Statement: []Statement{s}})
		}
	}
	if len(out) > MaxManagedPoliciesPerRole {
		return nil, fmt.Errorf("the policy needs %d managed policies of at most %d characters; a role may have %d attached by default: use fewer --load-balancer-name-pattern values",
			len(out), limit, MaxManagedPoliciesPerRole)
	}
	return out, nil
}

// fitStatement returns s as it is when a document holding only s fits limit; otherwise s
// split in halves by resources, recursively, with Sids s.Sid+"Part1", "Part2", …
func fitStatement(version string, s Statement, limit int) ([]Statement, error) {
	if Size(Document{Version: version, Statement: []Statement{s}}) <= limit {
		return []Statement{s}, nil
	}
	var halves func(s Statement) ([]Statement, error)
	halves = func(s Statement) ([]Statement, error) {
		if Size(Document{Version: version, Statement: []Statement{s}}) <= limit {
			return []Statement{s}, nil
		}
		if len(s.Resource) < 2 {
			return nil, fmt.Errorf("statement %s does not fit a policy of %d characters", s.Sid, limit)
		}
		mid := len(s.Resource) / 2
		a, b := s, s
		a.Resource, b.Resource = s.Resource[:mid:mid], s.Resource[mid:]
		left, err := halves(a)
		if err != nil {
			return nil, err
		}
		right, err := halves(b)
		if err != nil {
			return nil, err
		}
		return append(left, right...), nil
	}
	parts, err := halves(s)
	if err != nil {
		return nil, err
	}
	for i := range parts {
		parts[i].Sid = s.Sid + "Part" + strconv.Itoa(i+1)
	}
	return parts, nil
}

// Encode writes a document as indented JSON with a final newline, as IAM reads it.
func Encode(d Document) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Keep '<', '>' and '&' as they are: IAM reads them literally.
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "    ")
	if err := enc.Encode(d); err != nil {
		return nil, fmt.Errorf("encode the IAM policy: %w", err)
	}
	return buf.Bytes(), nil
}

// Merge returns the statements of several documents as one document: what a role with
// all of them attached is allowed.
func Merge(docs []Document) Document {
	out := Document{Version: "2012-10-17"}
	for _, d := range docs {
		out.Statement = append(out.Statement, d.Statement...)
	}
	return out
}
