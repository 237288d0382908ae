package naming

import (
	"errors"
	"fmt"
	"regexp"
)

// MaxClusterNameLength keeps the node-SG selector tag key kubernetes.io/cluster/<name> within
// AWS's 128-character limit for tag keys, and matches the longest EKS cluster name.
const MaxClusterNameLength = 100

// clusterNamePattern is an EKS cluster name (letters, digits, '-' and '_', starting with a
// letter or digit) widened with '.', which kops cluster names (DNS names) contain. It leaves
// out everything that would break the rule description elbv2.k8s.aws/cluster=<name>, whose
// labels end at white space, ',' or '=': with "prod,eu" lbsg would take rules of cluster
// "prod" for its own, and with "my cluster" it could never recognise its own rules.
var clusterNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// ValidateClusterName returns an error that names the value and the fix when name cannot
// be used as a cluster name.
func ValidateClusterName(name string) error {
	switch {
	case name == "":
		return errors.New("kubernetes cluster name must be specified") // upstream's message
	case len(name) > MaxClusterNameLength:
		return fmt.Errorf("invalid --cluster-name %q: at most %d characters (it has %d); fix: use the cluster's EKS name", shorten(name), MaxClusterNameLength, len(name))
	case !clusterNamePattern.MatchString(name):
		return fmt.Errorf("invalid --cluster-name %q: only letters, digits, '-', '_' and '.' are allowed, starting with a letter or digit (no spaces, ',' or '=', which would break the rule description elbv2.k8s.aws/cluster=<name>); fix: use the cluster's EKS name", shorten(name))
	}
	return nil
}

// shorten keeps an error message short for absurdly long input.
func shorten(s string) string {
	r := []rune(s)
	if len(r) <= 64 {
		return s
	}
	return string(r[:64]) + "…"
}
