// Package naming holds the names, hashes, tags and finalizers lbsg shares with the upstream
// AWS Load Balancer Controller. They are the compatibility contract: a resource upstream
// created must get the same name, and be found by the same tags, when lbsg takes over.
// Everything here is pure.
package naming

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
)

// sanitize keeps only the ASCII letters and digits of s, as upstream's "[[:^alnum:]]"
// pattern does. Every byte of a multi-byte UTF-8 rune is >= 0x80, so such runes go entirely.
func sanitize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// trunc returns the first n bytes of s, or s when it is shorter. Callers pass sanitized
// (ASCII) strings or hex digests, so a byte cut never splits a rune.
func trunc(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// hashHex is the lowercase hex SHA-256 of the concatenated parts, with no separators.
func hashHex(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// nsNameHash renders upstream's "k8s-<ns:8>-<name:8>-<hash:10>" shape, used by Service
// and implicit-Ingress SG names, NLB names and target group names. At most 32 characters.
func nsNameHash(namespace, name, hash string) string {
	return "k8s-" + trunc(sanitize(namespace), 8) + "-" + trunc(sanitize(name), 8) + "-" + trunc(hash, 10)
}

// BackendSGName is the name the shared backend SG is created with (reference §4):
// "k8s-traffic-" + sanitize(cluster)[:232] + "-" + sha256(cluster)[:10]. The raw cluster
// name is hashed. At most 255 characters, the AWS limit. The backend SG is recognised by
// this name together with its tags: AWS keeps a name unique within a VPC, tags can be copied.
func BackendSGName(cluster string) string {
	return "k8s-traffic-" + trunc(sanitize(cluster), 232) + "-" + trunc(hashHex(cluster), 10)
}

// ServiceSGName is the name of a Service's managed frontend SG (reference §3.2). The hash
// input is cluster + name + namespace + UID, in that order (name before namespace).
func ServiceSGName(cluster, namespace, name, uid string) string {
	return nsNameHash(namespace, name, hashHex(cluster, name, namespace, uid))
}

// IsServiceSGName reports whether sgName has the shape of the managed SG name of the
// Service namespace/name for some UID: "k8s-<ns:8>-<name:8>-" and 10 lowercase hex digits.
// A Service that no longer exists has no UID to hash, so its SG is recognised by this
// shape together with its tags.
func IsServiceSGName(namespace, name, sgName string) bool {
	prefix := nsNameHash(namespace, name, "")
	hash, ok := strings.CutPrefix(sgName, prefix)
	if !ok || len(hash) != 10 {
		return false
	}
	for i := 0; i < len(hash); i++ {
		if c := hash[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// IngressSGName is the name of the managed frontend SG of an implicit Ingress group (one
// Ingress). The hash input is cluster + "<namespace>/<name>".
func IngressSGName(cluster, namespace, name string) string {
	return nsNameHash(namespace, name, hashHex(cluster, namespace+"/"+name))
}

// IngressGroupSGName is the name of the managed frontend SG of an explicit Ingress group
// (alb.ingress.kubernetes.io/group.name): "k8s-" + sanitize(group)[:17] + "-" +
// sha256(cluster + group)[:10].
func IngressGroupSGName(cluster, group string) string {
	return "k8s-" + trunc(sanitize(group), 17) + "-" + trunc(hashHex(cluster, group), 10)
}

// ServiceLBName is the generated name of a Service's NLB (upstream buildLoadBalancerName in
// pkg/service): "k8s-<ns:8>-<name:8>-<hash:10>" with the hash over cluster + UID + scheme.
// The namespace and name are not hashed. A scheme change therefore changes the name (the NLB
// is replaced), while the SG name, which has no scheme, stays. The
// aws-load-balancer-name annotation overrides this name; that is the caller's business.
func ServiceLBName(cluster, namespace, name, uid, scheme string) string {
	return nsNameHash(namespace, name, hashHex(cluster, uid, scheme))
}

// TargetGroupNameInput holds the inputs of upstream's NLB target group name
// (buildTargetGroupName in pkg/service/model_build_target_group.go). Each field is hashed
// in its rendered form, in this order:
//
//	Cluster, BaseUID (only when set), UID, TargetGroupPort (decimal), Port (decimal),
//	TargetType, Protocol, HealthCheckProtocol, HealthCheckInterval (decimal)
//
// The name shown is "k8s-<Namespace:8>-<Name:8>-<hash:10>".
type TargetGroupNameInput struct {
	Cluster   string
	Namespace string // of the Service whose endpoints are the targets
	Name      string // of the Service whose endpoints are the targets
	UID       string // of the Service whose endpoints are the targets
	// BaseUID is set only for weighted target groups that forward to another Service: it is
	// the UID of the Service that owns the NLB. Empty for an NLB's own target groups.
	BaseUID string
	// Port is the Service port (spec.ports[].port) the listener serves.
	Port int32
	// TargetGroupPort is the target group's own port, as ServiceTargetGroupPort computes it.
	TargetGroupPort int32
	// TargetType is "instance" or "ip".
	TargetType string
	// Protocol is the target group protocol as ELBv2 spells it: TCP, UDP, TCP_UDP, TLS, ...
	Protocol string
	// HealthCheckProtocol is the effective health-check protocol (TCP, HTTP or HTTPS); empty
	// means TCP. Note the default is HTTP for instance targets of an externalTrafficPolicy
	// Local Service.
	HealthCheckProtocol string
	// HealthCheckInterval is the effective interval in seconds; 0 means upstream's default, 10.
	HealthCheckInterval int32
}

// DefaultHealthCheckInterval is upstream's NLB health-check interval in seconds, used in the
// target group name when no aws-load-balancer-healthcheck-interval annotation is set.
const DefaultHealthCheckInterval = 10

// ServiceTargetGroupName is the generated name of an NLB target group, matching upstream
// byte for byte given the same inputs (see TargetGroupNameInput). At most 32 characters.
func ServiceTargetGroupName(in TargetGroupNameInput) string {
	hcProto := in.HealthCheckProtocol
	if hcProto == "" {
		hcProto = "TCP"
	}
	interval := in.HealthCheckInterval
	if interval == 0 {
		interval = DefaultHealthCheckInterval
	}
	parts := []string{in.Cluster}
	if in.BaseUID != "" {
		parts = append(parts, in.BaseUID)
	}
	parts = append(parts,
		in.UID,
		strconv.Itoa(int(in.TargetGroupPort)),
		strconv.Itoa(int(in.Port)),
		in.TargetType,
		in.Protocol,
		hcProto,
		strconv.Itoa(int(interval)),
	)
	return nsNameHash(in.Namespace, in.Name, hashHex(parts...))
}

// ServiceTargetGroupPort is the port upstream gives an NLB target group (and hashes into its
// name): the NodePort for instance targets; for ip targets the numeric targetPort, or 1
// when the targetPort is a name (upstream's placeholder: the real port is set per target).
// targetPort is the Service's spec.ports[].targetPort rendered as a string ("8080" or "http");
// empty means the targetPort defaults to the Service port, so port is used.
func ServiceTargetGroupPort(targetType string, port, nodePort int32, targetPort string) int32 {
	if targetType == "instance" {
		return nodePort
	}
	if targetPort == "" {
		return port
	}
	if n, err := strconv.ParseInt(targetPort, 10, 32); err == nil {
		return int32(n)
	}
	return 1
}

// IngressLBName is the generated name of an Ingress group's ALB (upstream
// buildLoadBalancerName in pkg/ingress). The hash is over cluster + group ID + scheme, where
// the group ID is the group name for an explicit group and "<namespace>/<name>" for an
// implicit one. An explicit group renders "k8s-<group:17>-<hash:10>", an implicit one
// "k8s-<ns:8>-<name:8>-<hash:10>".
func IngressLBName(cluster string, explicit bool, namespace, name, scheme string) string {
	id := name
	if !explicit {
		id = namespace + "/" + name
	}
	h := hashHex(cluster, id, scheme)
	if explicit {
		return "k8s-" + trunc(sanitize(name), 17) + "-" + trunc(h, 10)
	}
	return nsNameHash(namespace, name, h)
}

// IngressTargetGroupNameInput holds the inputs of upstream's ALB target group name
// (buildTargetGroupName in pkg/ingress), hashed in this order with no separators:
// Cluster, GroupID, IngressNamespace, IngressName, ServiceUID, ServicePort,
// TargetGroupPort (decimal), TargetType, Protocol, ProtocolVersion.
type IngressTargetGroupNameInput struct {
	Cluster          string
	GroupID          string // group name (explicit) or "<namespace>/<name>" (implicit)
	IngressNamespace string // of the Ingress whose backend this is
	IngressName      string
	ServiceNamespace string // shown in the name, not hashed
	ServiceName      string // shown in the name, not hashed
	ServiceUID       string
	ServicePort      string // the Ingress backend's port: a number or a port name
	TargetGroupPort  int32
	TargetType       string
	Protocol         string // HTTP or HTTPS
	ProtocolVersion  string // HTTP1 unless set otherwise
}

// IngressTargetGroupName renders "k8s-<svc ns:8>-<svc name:8>-<hash:10>".
func IngressTargetGroupName(in IngressTargetGroupNameInput) string {
	h := hashHex(in.Cluster, in.GroupID, in.IngressNamespace, in.IngressName, in.ServiceUID, in.ServicePort,
		strconv.Itoa(int(in.TargetGroupPort)), in.TargetType, in.Protocol, in.ProtocolVersion)
	return nsNameHash(in.ServiceNamespace, in.ServiceName, h)
}
