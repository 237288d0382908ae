package cloud

import (
	"errors"
	"fmt"
	"testing"

	"github.com/aws/smithy-go"
)

func TestErrorPredicates(t *testing.T) {
	preds := map[string]func(error) bool{
		"IsNotFound":            IsNotFound,
		"IsDependencyViolation": IsDependencyViolation,
		"IsPermissionDuplicate": IsPermissionDuplicate,
		"IsPermissionNotFound":  IsPermissionNotFound,
		"IsRuleLimitExceeded":   IsRuleLimitExceeded,
		"IsGroupDuplicate":      IsGroupDuplicate,
		"IsThrottling":          IsThrottling,
		"IsResourceInUse":       IsResourceInUse,
		"IsUnauthorized":        IsUnauthorized,
	}
	tests := []struct {
		code string
		want []string // the predicates that must say true; all others must say false
	}{
		{"InvalidGroup.NotFound", []string{"IsNotFound"}},
		{"InvalidSecurityGroupID.NotFound", []string{"IsNotFound"}},
		{"InvalidNetworkInterfaceID.NotFound", []string{"IsNotFound"}},
		{"InvalidInstanceID.NotFound", []string{"IsNotFound"}},
		{"InvalidSubnetID.NotFound", []string{"IsNotFound"}},
		{"LoadBalancerNotFound", []string{"IsNotFound"}},
		{"TargetGroupNotFound", []string{"IsNotFound"}},
		{"ListenerNotFound", []string{"IsNotFound"}},
		{"DependencyViolation", []string{"IsDependencyViolation"}},
		{"InvalidGroup.InUse", []string{"IsDependencyViolation"}},
		{"InvalidPermission.Duplicate", []string{"IsPermissionDuplicate"}},
		{"InvalidPermission.NotFound", []string{"IsPermissionNotFound"}},
		{"RulesPerSecurityGroupLimitExceeded", []string{"IsRuleLimitExceeded"}},
		{"InvalidGroup.Duplicate", []string{"IsGroupDuplicate"}},
		{"Throttling", []string{"IsThrottling"}},
		{"RequestLimitExceeded", []string{"IsThrottling"}},
		{"ThrottlingException", []string{"IsThrottling"}},
		{"ResourceInUse", []string{"IsResourceInUse"}},
		{"UnauthorizedOperation", []string{"IsUnauthorized"}},
		{"AccessDenied", []string{"IsUnauthorized"}},
		{"InvalidGroupId.Malformed", nil},
		{"SomethingElse", nil},
	}
	for _, tt := range tests {
		apiErr := &smithy.GenericAPIError{Code: tt.code, Message: "message text is never read"}
		// The same error as the SDK returns it, and wrapped again by lbsg.
		sdkErr := &smithy.OperationError{ServiceID: "EC2", OperationName: "X", Err: apiErr}
		wrapped := fmt.Errorf("revoke rules on sg-1: %w", sdkErr)
		for _, err := range []error{apiErr, sdkErr, wrapped} {
			if got := ErrorCode(err); got != tt.code {
				t.Errorf("ErrorCode(%v) = %q, want %q", err, got, tt.code)
			}
			for name, pred := range preds {
				want := false
				for _, w := range tt.want {
					want = want || w == name
				}
				if got := pred(err); got != want {
					t.Errorf("%s(%s) = %v, want %v", name, tt.code, got, want)
				}
			}
		}
	}
}

func TestErrorPredicatesIgnoreMessages(t *testing.T) {
	for _, err := range []error{nil, errors.New("InvalidGroup.NotFound"), fmt.Errorf("DependencyViolation: %w", errors.New("x"))} {
		if ErrorCode(err) != "" || IsNotFound(err) || IsDependencyViolation(err) {
			t.Errorf("%v: classified by message text", err)
		}
	}
}
