package annotations

// Keeping the managed frontend security group next to user security groups (lbsg's own
// keys; upstream replaces the managed group with the listed ones, upstream issue #1352).
const (
	SvcManageFrontendSG = ServicePrefix + "aws-load-balancer-manage-frontend-security-group"
	IngManageFrontendSG = IngressPrefix + "manage-frontend-security-group"
)

func init() {
	ServiceKeys = append(ServiceKeys, SvcManageFrontendSG)
	IngressKeys = append(IngressKeys, IngManageFrontendSG)
}

// ManageFrontendSG reads the opt-in under key: false when absent. A blank value is
// reported by ParseService and ParseIngress (empty values are errors), so it is not
// reported twice here.
func ManageFrontendSG(ann map[string]string, key string) (bool, *Error) {
	v, ok := ann[key]
	if !ok || isBlank(v) {
		return false, nil
	}
	b, err := ParseBool(key, v)
	if err != nil {
		return false, err
	}
	return b, nil
}
