package cloud

import (
	"errors"

	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/smithy-go"
)

// AWS error codes lbsg reacts to. They are compared with the code of a smithy.APIError,
// never with the message text.
const (
	// EC2: security groups and their rules.
	CodeGroupNotFound         = "InvalidGroup.NotFound"              // DescribeSecurityGroups(GroupIds), DeleteSecurityGroup, Authorize/Revoke on a missing SG
	CodeSecurityGroupNotFound = "InvalidSecurityGroupID.NotFound"    // the same, as reported by some other EC2 calls (e.g. ModifyNetworkInterfaceAttribute)
	CodeGroupIDMalformed      = "InvalidGroupId.Malformed"           // an SG ID that is not of the form sg-…
	CodeGroupDuplicate        = "InvalidGroup.Duplicate"             // CreateSecurityGroup: the name is taken in the VPC
	CodeGroupInUse            = "InvalidGroup.InUse"                 // DeleteSecurityGroup: referenced by another SG (older form of DependencyViolation)
	CodeDependencyViolation   = "DependencyViolation"                // DeleteSecurityGroup: still attached to an ENI or referenced by a rule
	CodePermissionDuplicate   = "InvalidPermission.Duplicate"        // AuthorizeSecurityGroupIngress: a rule already exists
	CodePermissionNotFound    = "InvalidPermission.NotFound"         // RevokeSecurityGroupIngress: a rule does not exist
	CodeRuleLimitExceeded     = "RulesPerSecurityGroupLimitExceeded" // AuthorizeSecurityGroupIngress: the SG's inbound rule quota is used up
	CodeSecurityGroupLimit    = "SecurityGroupLimitExceeded"         // CreateSecurityGroup: per-VPC SG quota

	// EC2: other resources lbsg reads.
	CodeNetworkInterfaceNotFound = "InvalidNetworkInterfaceID.NotFound"
	CodeInstanceNotFound         = "InvalidInstanceID.NotFound"
	CodeSubnetNotFound           = "InvalidSubnetID.NotFound"
	CodeVPCNotFound              = "InvalidVpcID.NotFound"

	// Elastic Load Balancing v2.
	CodeLoadBalancerNotFound = "LoadBalancerNotFound"
	CodeTargetGroupNotFound  = "TargetGroupNotFound"
	CodeListenerNotFound     = "ListenerNotFound"
	CodeRuleNotFound         = "RuleNotFound"
	CodeResourceInUse        = "ResourceInUse" // e.g. DeleteTargetGroup while a listener still uses it

	// Permissions.
	CodeUnauthorizedOperation = "UnauthorizedOperation" // EC2
	CodeAccessDenied          = "AccessDenied"          // ELBv2
)

// notFoundCodes are the codes that mean "the resource named in the request does not exist".
// InvalidPermission.NotFound is not among them: it names a rule, not a resource (see
// IsPermissionNotFound).
var notFoundCodes = codeSet(
	CodeGroupNotFound,
	CodeSecurityGroupNotFound,
	CodeNetworkInterfaceNotFound,
	CodeInstanceNotFound,
	CodeSubnetNotFound,
	CodeVPCNotFound,
	CodeLoadBalancerNotFound,
	CodeTargetGroupNotFound,
	CodeListenerNotFound,
	CodeRuleNotFound,
)

// throttlingCodes are the codes EC2 and ELBv2 use when a caller is over its request rate
// (the SDK's retryer knows the same list).
var throttlingCodes = codeSet(
	"Throttling",
	"ThrottlingException",
	"ThrottledException",
	"RequestThrottledException",
	"TooManyRequestsException",
	"ProvisionedThroughputExceededException",
	"TransactionInProgressException",
	"RequestLimitExceeded",
	"BandwidthLimitExceeded",
	"LimitExceededException",
	"RequestThrottled",
	"SlowDown",
	"PriorRequestNotComplete",
	"EC2ThrottledException",
)

// ErrorCode returns the AWS error code carried by err (through any wrapping), or "" when
// err is nil or carries none.
func ErrorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// IsNotFound reports whether err says that the EC2 or ELBv2 resource it names does not exist.
func IsNotFound(err error) bool { return notFoundCodes[ErrorCode(err)] }

// IsDependencyViolation reports whether an SG cannot be deleted yet because an ENI, a load
// balancer or another SG's rule still refers to it.
func IsDependencyViolation(err error) bool {
	c := ErrorCode(err)
	return c == CodeDependencyViolation || c == CodeGroupInUse
}

// IsPermissionDuplicate reports whether an authorize failed because a rule already exists.
func IsPermissionDuplicate(err error) bool { return ErrorCode(err) == CodePermissionDuplicate }

// IsPermissionNotFound reports whether a revoke failed because a rule does not exist.
func IsPermissionNotFound(err error) bool { return ErrorCode(err) == CodePermissionNotFound }

// IsRuleLimitExceeded reports whether an authorize would exceed the SG's rule quota.
func IsRuleLimitExceeded(err error) bool { return ErrorCode(err) == CodeRuleLimitExceeded }

// IsGroupDuplicate reports whether CreateSecurityGroup failed because the name is taken.
func IsGroupDuplicate(err error) bool { return ErrorCode(err) == CodeGroupDuplicate }

// IsThrottling reports whether err says to slow down: AWS throttled the call, the SDK's
// retry budget is used up (IsRetryQuotaExceeded), or lbsg's own rate limit held the call
// back until its deadline (ThrottleWaitError).
func IsThrottling(err error) bool {
	var wait *ThrottleWaitError
	return throttlingCodes[ErrorCode(err)] || IsRetryQuotaExceeded(err) || errors.As(err, &wait)
}

// IsRetryQuotaExceeded reports whether the SDK gave up retrying a call because its retry
// budget (the retry quota its retryer shares between all calls of a client) is used up:
// so many calls failed lately that retrying would only add load. The error still carries
// the last attempt's AWS error, whatever it was; the remedy is the same as for throttling,
// to come back later.
func IsRetryQuotaExceeded(err error) bool {
	var q ratelimit.QuotaExceededError
	var qp *ratelimit.QuotaExceededError
	return errors.As(err, &q) || errors.As(err, &qp)
}

// IsResourceInUse reports whether an ELBv2 resource cannot be changed or deleted because
// another resource uses it.
func IsResourceInUse(err error) bool { return ErrorCode(err) == CodeResourceInUse }

// IsUnauthorized reports whether the controller's IAM role lacks a permission.
func IsUnauthorized(err error) bool {
	c := ErrorCode(err)
	return c == CodeUnauthorizedOperation || c == CodeAccessDenied
}

func codeSet(codes ...string) map[string]bool {
	m := make(map[string]bool, len(codes))
	for _, c := range codes {
		m[c] = true
	}
	return m
}
