package spec

import (
	"fmt"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/lbsg/lbsg/internal/annotations"
)

// ClassRules are the platform's rules about which Ingresses lbsg serves and how they may
// name their class and group: --ingress-class, --disable-ingress-class-annotation and
// --disable-ingress-group-name-annotation, as upstream. The zero value is upstream's
// default.
type ClassRules struct {
	// LegacyClass is the value of the kubernetes.io/ingress.class annotation that names
	// lbsg; "" means "alb".
	LegacyClass string
	// ServeClassless serves the Ingresses that name no class when the cluster has no
	// default IngressClass (upstream does so when --ingress-class is set to "").
	ServeClassless bool
	// DisableClassAnnotation refuses the kubernetes.io/ingress.class annotation: an
	// Ingress names lbsg's class with spec.ingressClassName.
	DisableClassAnnotation bool
	// DisableGroupNameAnnotation refuses the group.name annotation: only IngressClassParams
	// (spec.group.name) put Ingresses in an explicit group.
	DisableGroupNameAnnotation bool
}

// ClassRulesOf turns --ingress-class and the two hardening flags into ClassRules.
func ClassRulesOf(ingressClass string, disableClassAnnotation, disableGroupNameAnnotation bool) ClassRules {
	return ClassRules{LegacyClass: ingressClass, ServeClassless: ingressClass == "",
		DisableClassAnnotation: disableClassAnnotation, DisableGroupNameAnnotation: disableGroupNameAnnotation}
}

func (r ClassRules) legacyClass() string {
	if r.LegacyClass == "" {
		return IngressClassLegacyName
	}
	return r.LegacyClass
}

// IngressClassOf returns the IngressClass an Ingress uses and whether lbsg owns it; refused
// is set for an Ingress that is lbsg's but names its class in a way the platform turned off.
//
// The legacy kubernetes.io/ingress.class annotation decides alone when present, as
// upstream: it names lbsg when its value is --ingress-class (default alb). Upstream then
// reads no IngressClass, so no IngressClassParams apply; lbsg resolves the value to the
// IngressClass of that name when it exists and is lbsg's (the chart makes one named alb),
// so that its parameters (namespaceSelector, scheme, inboundCIDRs, group) apply on this
// path too. Else spec.ingressClassName names a class, lbsg's when its controller is
// ingress.k8s.aws/alb; else the cluster's default IngressClass decides; else the Ingress
// is lbsg's only with ClassRules.ServeClassless.
func IngressClassOf(ing *networkingv1.Ingress, classes []networkingv1.IngressClass, rules ClassRules) (class *networkingv1.IngressClass, ours bool, refused *Problem) {
	if v, ok := ing.Annotations[annotations.IngressClassAnnotation]; ok {
		if v != rules.legacyClass() {
			return nil, false, nil
		}
		if rules.DisableClassAnnotation {
			return nil, true, &Problem{Key: annotations.IngressClassAnnotation, Value: v,
				Reason: fmt.Sprintf("lbsg runs with --disable-ingress-class-annotation: Ingress %s/%s may not name its class with this annotation", ing.Namespace, ing.Name),
				Fix:    "set spec.ingressClassName to an IngressClass whose controller is " + IngressController + ", and remove the annotation"}
		}
		for i := range classes {
			if classes[i].Name == v && classes[i].Spec.Controller == IngressController {
				return &classes[i], true, nil
			}
		}
		return nil, true, nil
	}
	if ing.Spec.IngressClassName != nil {
		for i := range classes {
			if classes[i].Name == *ing.Spec.IngressClassName {
				return &classes[i], classes[i].Spec.Controller == IngressController, nil
			}
		}
		return nil, false, nil
	}
	for i := range classes {
		if classes[i].Annotations[isDefaultClass] == "true" {
			return &classes[i], classes[i].Spec.Controller == IngressController, nil
		}
	}
	return nil, rules.ServeClassless, nil
}

// GroupNameRefused is the problem of an Ingress whose group.name annotation decides its
// group while the platform refuses that annotation; nil otherwise. IngressClassParams that
// set a group win over the annotation, which then decides nothing.
func GroupNameRefused(ing *networkingv1.Ingress, params *ClassParams, rules ClassRules) *Problem {
	v, ok := ing.Annotations[annotations.IngGroupName]
	if !ok || !rules.DisableGroupNameAnnotation || (params != nil && params.Group != "") {
		return nil
	}
	return &Problem{Key: annotations.IngGroupName, Value: v,
		Reason: fmt.Sprintf("lbsg runs with --disable-ingress-group-name-annotation: Ingress %s/%s may not choose its group; the platform sets groups in IngressClassParams spec.group.name", ing.Namespace, ing.Name),
		Fix:    "remove the annotation (the Ingress gets a load balancer of its own), or use an IngressClass whose IngressClassParams set the group"}
}
