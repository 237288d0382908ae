package controller

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/lbsg/lbsg/internal/annotations"
	"github.com/lbsg/lbsg/internal/spec"
)

// Whether an object that holds lbsg's finalizer is still lbsg's decides whether its load
// balancer is deleted. Only an explicit statement on the object itself lets it go: its
// deletion, or a class, type or controller that exists and is someone else's. Anything
// lbsg cannot resolve (a missing IngressClass or IngressClassParams, a CRD that is gone, an
// invalid value) is an error on the object, and its load balancer is kept as it is.
// Deleting an IngressClass (for example by uninstalling a Helm chart) must never delete
// load balancers.

// EventSettingLeftAsIs is the reason of the Warning Event that names an adopted setting
// lbsg does not model and leaves as observed (a redirect, a TLS listener...).
const EventSettingLeftAsIs = "SettingLeftAsIs"

// classStatus is what an Ingress's class says about who owns it.
type classStatus int

const (
	// classForeign: the Ingress names, explicitly, a class that is someone else's.
	classForeign classStatus = iota
	// classOurs: the Ingress is lbsg's.
	classOurs
	// classUnresolved: lbsg cannot tell, because what the Ingress refers to is missing.
	classUnresolved
	// classRefused: the Ingress is lbsg's, but its class does not admit it (the
	// namespaceSelector of its IngressClassParams), or it names its class in a way the
	// platform turned off (--disable-ingress-class-annotation). It is served by no group.
	classRefused
)

// UnresolvedIngress is an Ingress that holds a group's finalizer but whose class lbsg
// cannot resolve, with the problem that says why and how to fix it.
type UnresolvedIngress struct {
	Ingress *networkingv1.Ingress
	Problem *spec.Problem
}

// unresolvedClass explains why an Ingress that spec.IngressClassOf does not find to be
// lbsg's may still be: nil when its class is explicitly someone else's.
func unresolvedClass(ing *networkingv1.Ingress, class *networkingv1.IngressClass) *spec.Problem {
	key := ing.Namespace + "/" + ing.Name
	const kept = "lbsg keeps its load balancer and finalizer and changes nothing in AWS until this is fixed"
	handOver := "to hand the Ingress to another controller, set spec.ingressClassName to that controller's IngressClass; deleting the Ingress deletes its load balancer"
	if v, ok := ing.Annotations[annotations.IngressClassAnnotation]; ok {
		if strings.TrimSpace(v) != "" {
			return nil
		}
		return &spec.Problem{Key: annotations.IngressClassAnnotation, Value: v,
			Reason: fmt.Sprintf("empty class on Ingress %s, which holds lbsg's finalizer; %s", key, kept),
			Fix:    "set it to " + spec.IngressClassLegacyName + ", or to another controller's class to hand the Ingress over, or remove it"}
	}
	if name := ing.Spec.IngressClassName; name != nil {
		if class != nil {
			return nil
		}
		return &spec.Problem{Key: "spec.ingressClassName", Value: *name,
			Reason: fmt.Sprintf("IngressClass %s does not exist (Ingress %s holds lbsg's finalizer); %s", *name, key, kept),
			Fix:    fmt.Sprintf("recreate IngressClass %s with spec.controller %s; %s", *name, spec.IngressController, handOver)}
	}
	if class == nil {
		return &spec.Problem{Key: "spec.ingressClassName", Value: "",
			Reason: fmt.Sprintf("Ingress %s names no IngressClass and the cluster has no default IngressClass (it holds lbsg's finalizer); %s", key, kept),
			Fix:    fmt.Sprintf("set spec.ingressClassName to an IngressClass with spec.controller %s, or recreate the default IngressClass; %s", spec.IngressController, handOver)}
	}
	// The default class changed under an Ingress that names none: that is a change of a
	// cluster-wide default, not a statement about this Ingress.
	return &spec.Problem{Key: "spec.ingressClassName", Value: "",
		Reason: fmt.Sprintf("Ingress %s names no IngressClass and the default IngressClass %s has controller %s, not %s (it holds lbsg's finalizer); %s",
			key, class.Name, class.Spec.Controller, spec.IngressController, kept),
		Fix: fmt.Sprintf("set spec.ingressClassName to an IngressClass with spec.controller %s; %s", spec.IngressController, handOver)}
}

// missingParams is the problem of an Ingress whose class refers to IngressClassParams that
// do not exist.
func missingParams(m spec.IngressMember) *spec.Problem {
	key := m.Ingress.Namespace + "/" + m.Ingress.Name
	return &spec.Problem{Key: "spec.ingressClassName", Value: m.ClassName,
		Reason: fmt.Sprintf("IngressClass %s refers to IngressClassParams %s, which does not exist (Ingress %s holds lbsg's finalizer); lbsg keeps its load balancer and finalizer and changes nothing in AWS until this is fixed",
			m.ClassName, m.MissingParams, key),
		Fix: fmt.Sprintf("recreate IngressClassParams %s (if its CRD was installed after lbsg started, restart lbsg), or remove spec.parameters from IngressClass %s", m.MissingParams, m.ClassName)}
}

// ServiceLoadBalancerTypeInTree is the aws-load-balancer-type value that hands a Service to
// the in-tree cloud provider's NLB.
const serviceLoadBalancerTypeInTree = "nlb"

// serviceReleaseProblem says why a Service that holds lbsg's finalizer but that
// spec.OwnsService does not find to be lbsg's must not be let go: nil when it explicitly
// moved (another type, another loadBalancerClass, the type annotation removed or set to
// the in-tree "nlb"), or is being deleted.
func serviceReleaseProblem(svc *corev1.Service) *spec.Problem {
	if svc.DeletionTimestamp != nil || svc.Spec.Type != corev1.ServiceTypeLoadBalancer || svc.Spec.LoadBalancerClass != nil {
		return nil
	}
	v, ok := svc.Annotations[annotations.SvcLoadBalancerType]
	if !ok || v == serviceLoadBalancerTypeInTree {
		return nil
	}
	return &spec.Problem{Key: annotations.SvcLoadBalancerType, Value: v,
		Reason: fmt.Sprintf("not a load balancer type (Service %s/%s holds lbsg's finalizer); lbsg keeps its load balancer and finalizer and changes nothing in AWS until this is fixed", svc.Namespace, svc.Name),
		Fix:    "set it to external (lbsg's), or to nlb or remove it to hand the Service to the in-tree cloud provider; deleting the Service deletes its load balancer"}
}
