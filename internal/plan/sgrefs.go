package plan

import (
	"slices"
	"strings"

	"github.com/lbsg/lbsg/internal/authz"
	"github.com/lbsg/lbsg/internal/naming"
)

// SGCandidate is a security group a reference may resolve to, as AWS described it.
type SGCandidate struct {
	ID    string
	VPCID string
	Tags  map[string]string
}

// SGRefsInput is a security-groups annotation's references (IDs and Name tags) with what
// AWS answered for them, and who asks.
type SGRefsInput struct {
	From authz.Subject
	// Key is the annotation that holds the references, for messages.
	Key  string
	Refs []string
	// ByID are the SGs named by ID that exist, in any VPC; Named are the SGs of the
	// cluster's VPC whose Name tag is one of the names.
	ByID  map[string]SGCandidate
	Named []SGCandidate
	// VPCID is the cluster's VPC; "" accepts any.
	VPCID      string
	Policy     authz.Policy
	Classifier authz.Classifier
	// BackendSGID is --backend-security-group: a backend SG the platform made, known by its
	// ID rather than by lbsg's tags.
	BackendSGID string
}

// SGRefs is what the references resolved to.
type SGRefs struct {
	// IDs are the SGs to attach, in the annotation's order, once each; Tags their tags.
	IDs  []string
	Tags map[string]map[string]string
	// Missing are the references that found no SG; Foreign the SGs named by ID that live
	// in another VPC.
	Missing []string
	Foreign []SGCandidate
	// Denied are references the policy refuses: an SG named by ID, or a name that only
	// refused SGs carry. Each is bad input of the referring object.
	Denied []authz.Denial
	// LeftOut are SGs that carry a name the object uses, which the policy refuses, next to
	// allowed SGs of that name: the name resolves to the allowed ones only. The object
	// did nothing wrong, but someone copied its SG's name.
	LeftOut []authz.Denial
}

// ResolveSGRefs resolves SG references: an ID is the SG of that ID in the cluster's VPC, a
// name every SG of the VPC whose Name tag it is (as upstream since v2.9). Each SG is first
// classified by its tracking tags and decided by the policy, so an SG that another stack,
// the backend SG role or another cluster holds is never attached because someone gave it
// a Name an object uses, nor because an object names it.
func ResolveSGRefs(in SGRefsInput) SGRefs {
	out := SGRefs{Tags: map[string]map[string]string{}}
	decide := func(ref string, c SGCandidate) (authz.Reference, authz.Decision) {
		r := authz.Reference{From: in.From, Kind: authz.SecurityGroup, Key: in.Key, Value: ref, ID: c.ID,
			Owner: in.Classifier.Classify(c.Tags)}
		if in.BackendSGID != "" && c.ID == in.BackendSGID {
			r.Owner = authz.Owner{Class: authz.BackendSG}
		}
		return r, in.Policy.Decide(r)
	}
	named := map[string][]SGCandidate{}
	for _, c := range in.Named {
		if n := c.Tags[naming.NameTagKey]; n != "" {
			named[n] = append(named[n], c)
		}
	}
	seen := map[string]bool{}
	for _, ref := range in.Refs {
		if seen[ref] {
			continue
		}
		seen[ref] = true
		var use []string
		if strings.HasPrefix(ref, "sg-") {
			c, ok := in.ByID[ref]
			switch {
			case !ok:
				out.Missing = append(out.Missing, ref)
			case c.VPCID != "" && in.VPCID != "" && c.VPCID != in.VPCID:
				if !slices.ContainsFunc(out.Foreign, func(f SGCandidate) bool { return f.ID == c.ID }) {
					out.Foreign = append(out.Foreign, c)
				}
			default:
				if r, d := decide(ref, c); d.Allowed {
					use = []string{c.ID}
					out.Tags[c.ID] = c.Tags
				} else {
					out.Denied = append(out.Denied, authz.Denial{Reference: r, Decision: d})
				}
			}
		} else {
			cands := named[ref]
			if len(cands) == 0 {
				out.Missing = append(out.Missing, ref)
			}
			var refused []authz.Denial
			for _, c := range cands {
				if r, d := decide(ref, c); d.Allowed {
					use = append(use, c.ID)
					out.Tags[c.ID] = c.Tags
				} else {
					refused = append(refused, authz.Denial{Reference: r, Decision: d})
				}
			}
			if len(use) > 0 {
				out.LeftOut = append(out.LeftOut, refused...)
			} else {
				out.Denied = append(out.Denied, refused...)
			}
		}
		for _, id := range use {
			if !slices.Contains(out.IDs, id) {
				out.IDs = append(out.IDs, id)
			}
		}
	}
	return out
}
