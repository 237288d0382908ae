package naming

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// ReservedTagPrefixes are the tag key prefixes no user input may set: AWS's own "aws:" and the
// prefixes of the tracking tags by which lbsg (and upstream) recognise their resources. A
// forged tracking tag would let a tenant make its own security group look like the shared
// backend SG, or claim another stack's resources, so every user-supplied tag (annotations,
// IngressClassParams, --default-tags) is checked against this one list.
var ReservedTagPrefixes = []string{
	"aws:",
	"elbv2.k8s.aws/",
	"ingress.k8s.aws/",
	"service.k8s.aws/",
	NodeSGClusterTagPrefix,
	"gateway.k8s.aws.alb/",
	"gateway.k8s.aws.nlb/",
}

// ReservedTagPrefix returns the reserved prefix key starts with, or "" when key is free to
// use. The comparison ignores case: AWS treats "aws:" that way, and a key that differs from a
// tracking key only in case would still mislead a human reading the tags.
func ReservedTagPrefix(key string) string {
	k := strings.ToLower(strings.TrimSpace(key))
	for _, p := range ReservedTagPrefixes {
		if strings.HasPrefix(k, p) {
			return p
		}
	}
	return ""
}

// NameTagKey is EC2's display-name tag. Annotations name security groups (and subnets) by
// it, so it is no label on the security groups lbsg makes: see UserTagProblem.
const NameTagKey = "Name"

// UserTagProblem checks one tag a Kubernetes object asks for (a tags annotation,
// IngressClassParams spec.tags): TagProblem, and the key Name. A tag an object asks for lands
// on its managed security group, and a Name tag there would make that group answer to every
// other load balancer's security-groups reference of that name. The comparison keeps case,
// as EC2's tag:Name filter does: "name" names nothing.
func UserTagProblem(key, value string) (reason, fix string) {
	if strings.TrimSpace(key) == NameTagKey {
		return fmt.Sprintf("tag key %q is reserved: annotations name security groups by their Name tag, so a Name tag on a security group lbsg makes would let it answer to other load balancers' security-groups", NameTagKey),
			"remove the Name tag; lbsg's resources are known by their AWS names"
	}
	return TagProblem(key, value)
}

// AWS tag limits (EC2 and ELBv2 alike): per resource at most MaxTagsPerResource tags; a key
// has 1..MaxTagKeyLength characters and a value at most MaxTagValueLength (Unicode
// characters, not bytes).
const (
	MaxTagsPerResource = 50
	MaxTagKeyLength    = 128
	MaxTagValueLength  = 256
)

// tagChars are the characters ELBv2 and EC2 accept in tag keys and values: letters, digits,
// white space and _ . : / = + - @.
var tagChars = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)

// TagProblem checks one user-supplied tag against the reserved prefixes and AWS's limits. It
// returns what is wrong and the fix, or two empty strings when the tag is fine.
func TagProblem(key, value string) (reason, fix string) {
	switch p := ReservedTagPrefix(key); {
	case p == "aws:":
		return fmt.Sprintf("tag key %q is reserved: keys starting with %q belong to AWS", shorten(key), p),
			"remove the tag or rename its key"
	case p != "":
		return fmt.Sprintf("tag key %q is reserved: keys starting with %q are lbsg's tracking tags, by which it recognises its own resources", shorten(key), p),
			"remove the tag or rename its key (reserved prefixes: " + strings.Join(ReservedTagPrefixes, ", ") + ")"
	case key == "":
		return "a tag key is empty", "give every tag a key"
	case utf8.RuneCountInString(key) > MaxTagKeyLength:
		return fmt.Sprintf("tag key %q has %d characters; AWS allows at most %d", shorten(key), utf8.RuneCountInString(key), MaxTagKeyLength),
			"shorten the key"
	case utf8.RuneCountInString(value) > MaxTagValueLength:
		return fmt.Sprintf("the value of tag %q has %d characters; AWS allows at most %d", shorten(key), utf8.RuneCountInString(value), MaxTagValueLength),
			"shorten the value"
	case !tagChars.MatchString(key):
		return fmt.Sprintf("tag key %q has a character AWS does not accept in tags", shorten(key)),
			"use only letters, digits, spaces and _ . : / = + - @"
	case !tagChars.MatchString(value):
		return fmt.Sprintf("the value of tag %q has a character AWS does not accept in tags", shorten(key)),
			"use only letters, digits, spaces and _ . : / = + - @"
	}
	return "", ""
}
