package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Values of IngressClassParamsSpec.Scheme.
const (
	SchemeInternal       = "internal"
	SchemeInternetFacing = "internet-facing"
)

// Values of IngressClassParamsSpec.IPAddressType.
const (
	IPAddressTypeIPv4                       = "ipv4"
	IPAddressTypeDualStack                  = "dualstack"
	IPAddressTypeDualStackWithoutPublicIPv4 = "dualstack-without-public-ipv4"
)

// IngressGroup names the IngressGroup of every Ingress of the class.
type IngressGroup struct {
	// Name is the name of the IngressGroup.
	Name string `json:"name"`
}

// Tag is an AWS tag.
type Tag struct {
	// Key of the tag.
	Key string `json:"key"`
	// Value of the tag.
	Value string `json:"value"`
}

// SubnetSelector selects existing subnets by ID or by tags.
type SubnetSelector struct {
	// IDs are subnet IDs. Exactly one of ids and tags should be given.
	// +optional
	IDs []string `json:"ids,omitempty"`

	// Tags selects the subnets of the load balancer's VPC where each tag key has one of the
	// listed values.
	// +optional
	Tags map[string][]string `json:"tags,omitempty"`
}

// IngressClassParamsSpec holds the fields of an IngressClassParams that lbsg reads. A field
// set here overrides the matching annotation on every Ingress of the class. The CRD keeps
// the fields of upstream's richer spec that have no Go field here.
type IngressClassParamsSpec struct {
	// NamespaceSelector restricts the namespaces of the Ingresses allowed to use the
	// IngressClass of these params. Absent or empty selects all namespaces.
	// +optional
	NamespaceSelector *metav1.LabelSelector `json:"namespaceSelector,omitempty"`

	// Group is the IngressGroup of every Ingress of the class.
	// +optional
	Group *IngressGroup `json:"group,omitempty"`

	// Scheme of the load balancers of the class.
	// +kubebuilder:validation:Enum=internal;internet-facing
	// +optional
	Scheme *string `json:"scheme,omitempty"`

	// IPAddressType of the load balancers of the class.
	// +kubebuilder:validation:Enum=ipv4;dualstack;dualstack-without-public-ipv4
	// +optional
	IPAddressType *string `json:"ipAddressType,omitempty"`

	// InboundCIDRs are the CIDRs allowed to reach the load balancers of the class.
	// +optional
	InboundCIDRs []string `json:"inboundCIDRs,omitempty"`

	// PrefixListsIDs are managed prefix list IDs allowed to reach the load balancers of
	// the class.
	// +optional
	PrefixListsIDs []string `json:"prefixListsIDs,omitempty"`

	// PrefixListsIDsLegacy is the older, capitalised spelling of prefixListsIDs; it is read
	// only when prefixListsIDs is empty.
	// +optional
	PrefixListsIDsLegacy []string `json:"PrefixListsIDs,omitempty"`

	// Tags are put on the AWS resources of the class; they win over the tags annotation.
	// +optional
	Tags []Tag `json:"tags,omitempty"`

	// Subnets of the load balancers of the class.
	// +optional
	Subnets *SubnetSelector `json:"subnets,omitempty"`

	// CertificateArn lists the ACM certificate ARNs of the load balancers of the class.
	// +optional
	CertificateArn []string `json:"certificateArn,omitempty"`

	// SSLPolicy is the security policy of the HTTPS listeners of the class.
	// +optional
	SSLPolicy string `json:"sslPolicy,omitempty"`

	// LoadBalancerAttributes are set on the load balancers of the class; they win over the
	// load-balancer-attributes annotation, key by key.
	// +optional
	LoadBalancerAttributes []Attribute `json:"loadBalancerAttributes,omitempty"`

	// SSLRedirectPort is the HTTPS port the HTTP listeners of the class redirect to; it wins
	// over the ssl-redirect annotation.
	// +optional
	SSLRedirectPort string `json:"sslRedirectPort,omitempty"`

	// WAFv2ACLArn is the ARN of the AWS WAFv2 web ACL of the load balancers of the class.
	// lbsg does not associate web ACLs yet: the Ingresses of a class that sets it are not
	// served (a protection lbsg cannot apply fails closed).
	// +optional
	WAFv2ACLArn string `json:"wafv2AclArn,omitempty"`

	// WAFv2ACLName is the name of the AWS WAFv2 web ACL of the load balancers of the class;
	// like wafv2AclArn, lbsg does not apply it and does not serve the class's Ingresses.
	// +optional
	WAFv2ACLName string `json:"wafv2AclName,omitempty"`
}

// Attribute is a load balancer attribute.
type Attribute struct {
	// Key of the attribute.
	Key string `json:"key"`
	// Value of the attribute.
	Value string `json:"value"`
}

// PrefixLists returns the managed prefix list IDs of the spec: prefixListsIDs if it is
// not empty, else the legacy PrefixListsIDs.
func (s *IngressClassParamsSpec) PrefixLists() []string {
	if len(s.PrefixListsIDs) > 0 {
		return s.PrefixListsIDs
	}
	return s.PrefixListsIDsLegacy
}

// IngressClassParams holds the parameters of an IngressClass of the AWS Load Balancer
// Controller (the IngressClass's spec.parameters names it).
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster
// +kubebuilder:storageversion
// +kubebuilder:printcolumn:name="GROUP-NAME",type="string",JSONPath=".spec.group.name",description="The Ingress Group name"
// +kubebuilder:printcolumn:name="SCHEME",type="string",JSONPath=".spec.scheme",description="The AWS Load Balancer scheme"
// +kubebuilder:printcolumn:name="IP-ADDRESS-TYPE",type="string",JSONPath=".spec.ipAddressType",description="The AWS Load Balancer ipAddressType"
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
type IngressClassParams struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec holds the parameters. Fields lbsg does not know are kept by the API server (but
	// dropped by a typed client that writes the object back).
	// +kubebuilder:pruning:PreserveUnknownFields
	// +optional
	Spec IngressClassParamsSpec `json:"spec,omitempty"`
}

// IngressClassParamsList is a list of IngressClassParams.
// +kubebuilder:object:root=true
type IngressClassParamsList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []IngressClassParams `json:"items"`
}

func init() {
	SchemeBuilder.Register(&IngressClassParams{}, &IngressClassParamsList{})
}
