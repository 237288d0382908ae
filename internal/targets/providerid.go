package targets

import (
	"fmt"
	"regexp"
	"strings"
)

const awsProviderPrefix = "aws:///"

// instanceIDPattern is an EC2 instance ID: "i-" and 8 or 17 hex digits on AWS; any
// alphanumerics are accepted so emulators work too.
var instanceIDPattern = regexp.MustCompile(`^i-[0-9a-zA-Z]+$`)

// InstanceIDFromProviderID returns the EC2 instance ID in a node's spec.providerID:
// "aws:///us-west-2a/i-0123456789abcdef0" or "aws:///i-0123456789abcdef0" give
// "i-0123456789abcdef0". Anything else (another cloud, a Fargate or hybrid node, an empty
// value) is an error.
func InstanceIDFromProviderID(providerID string) (string, error) {
	rest, ok := strings.CutPrefix(providerID, awsProviderPrefix)
	if !ok {
		return "", fmt.Errorf("providerID %q is not an EC2 instance (want aws:///<zone>/i-...)", providerID)
	}
	parts := strings.Split(rest, "/")
	id := parts[len(parts)-1]
	if len(parts) > 2 || (len(parts) == 2 && parts[0] == "") || !instanceIDPattern.MatchString(id) {
		return "", fmt.Errorf("providerID %q is not an EC2 instance (want aws:///<zone>/i-...)", providerID)
	}
	return id, nil
}
