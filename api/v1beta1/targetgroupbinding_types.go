package v1beta1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Values of TargetGroupBindingSpec.TargetType.
const (
	TargetTypeInstance = "instance"
	TargetTypeIP       = "ip"
)

// Values of NetworkingPort.Protocol.
const (
	NetworkingProtocolTCP = "TCP"
	NetworkingProtocolUDP = "UDP"
)

// ServiceReference names a Service of the binding's namespace and one of its ports.
type ServiceReference struct {
	// Name of the Service.
	Name string `json:"name"`

	// Port of the Service: its number or its name.
	Port intstr.IntOrString `json:"port"`
}

// IPBlock is a CIDR (IPv4 or IPv6) allowed to reach the targets.
type IPBlock struct {
	// CIDR is the network CIDR.
	CIDR string `json:"cidr"`
}

// SecurityGroup is a security group whose members are allowed to reach the targets.
type SecurityGroup struct {
	// GroupID is the security group's ID.
	GroupID string `json:"groupID"`
}

// NetworkingPeer is the source of a networking rule: exactly one of ipBlock and
// securityGroup.
type NetworkingPeer struct {
	// IPBlock is a CIDR source.
	// +optional
	IPBlock *IPBlock `json:"ipBlock,omitempty"`

	// SecurityGroup is a security group source.
	// +optional
	SecurityGroup *SecurityGroup `json:"securityGroup,omitempty"`
}

// NetworkingPort is a port (and protocol) of the targets opened to the peers.
type NetworkingPort struct {
	// Protocol of the port; TCP when absent.
	// +kubebuilder:validation:Enum=TCP;UDP
	// +optional
	Protocol *string `json:"protocol,omitempty"`

	// Port is a port number or the name of a port of the target pods; every port when
	// absent. A name is resolved only for ip targets.
	// +optional
	Port *intstr.IntOrString `json:"port,omitempty"`
}

// NetworkingIngressRule opens ports of the binding's targets to peers.
type NetworkingIngressRule struct {
	// From are the peers allowed; at least one.
	From []NetworkingPeer `json:"from"`

	// Ports are the ports opened; every TCP port when empty.
	// +optional
	Ports []NetworkingPort `json:"ports,omitempty"`
}

// TargetGroupBindingNetworking holds the rules that let the load balancer reach the
// binding's targets.
type TargetGroupBindingNetworking struct {
	// Ingress are the inbound rules added to the targets' security groups.
	// +optional
	Ingress []NetworkingIngressRule `json:"ingress,omitempty"`
}

// TargetGroupBindingSpec binds an existing target group to a Service port.
type TargetGroupBindingSpec struct {
	// TargetGroupARN is the ARN of the target group. It is immutable: the targets lbsg
	// registered stay with the target group they were registered in; bind another target
	// group with another binding.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.targetGroupARN is immutable: create another TargetGroupBinding for another target group"
	TargetGroupARN string `json:"targetGroupARN"`

	// TargetType is the target group's target type; read from the target group when
	// absent. Once set it cannot change.
	// +kubebuilder:validation:Enum=instance;ip
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.targetType is immutable"
	// +optional
	TargetType *string `json:"targetType,omitempty"`

	// ServiceRef is the Service port whose endpoints become the targets.
	ServiceRef ServiceReference `json:"serviceRef"`

	// Networking are the rules that let the load balancer reach the targets.
	// +optional
	Networking *TargetGroupBindingNetworking `json:"networking,omitempty"`

	// NodeSelector restricts the nodes registered as instance targets.
	// +optional
	NodeSelector *metav1.LabelSelector `json:"nodeSelector,omitempty"`

	// IPAddressType is the IP address type of the target group's targets. Once set it
	// cannot change.
	// +kubebuilder:validation:Enum=ipv4;ipv6
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.ipAddressType is immutable"
	// +optional
	IPAddressType *string `json:"ipAddressType,omitempty"`

	// VpcID is the VPC of the target group; when set it must be the cluster's. Once set it
	// cannot change.
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="spec.vpcID is immutable"
	// +optional
	VpcID string `json:"vpcID,omitempty"`
}

// TargetGroupBindingStatus is the observed state of a binding.
type TargetGroupBindingStatus struct {
	// ObservedGeneration is the generation last reconciled.
	// +optional
	ObservedGeneration *int64 `json:"observedGeneration,omitempty"`
}

// TargetGroupBinding binds an existing target group (made outside Kubernetes) to a
// Service: the Service's endpoints are registered in it as they change.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:storageversion
// +kubebuilder:resource:categories=all
// +kubebuilder:printcolumn:name="SERVICE-NAME",type="string",JSONPath=".spec.serviceRef.name",description="The Kubernetes Service's name"
// +kubebuilder:printcolumn:name="SERVICE-PORT",type="string",JSONPath=".spec.serviceRef.port",description="The Kubernetes Service's port"
// +kubebuilder:printcolumn:name="TARGET-TYPE",type="string",JSONPath=".spec.targetType",description="The AWS TargetGroup's TargetType"
// +kubebuilder:printcolumn:name="ARN",type="string",JSONPath=".spec.targetGroupARN",description="The AWS TargetGroup's Amazon Resource Name",priority=1
// +kubebuilder:printcolumn:name="AGE",type="date",JSONPath=".metadata.creationTimestamp"
type TargetGroupBinding struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec of the binding. Fields of upstream's spec lbsg does not read are kept.
	// +kubebuilder:pruning:PreserveUnknownFields
	Spec TargetGroupBindingSpec `json:"spec,omitempty"`

	// Status of the binding.
	// +optional
	Status TargetGroupBindingStatus `json:"status,omitempty"`
}

// TargetGroupBindingList is a list of TargetGroupBinding.
// +kubebuilder:object:root=true
type TargetGroupBindingList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []TargetGroupBinding `json:"items"`
}

func init() {
	SchemeBuilder.Register(&TargetGroupBinding{}, &TargetGroupBindingList{})
}
