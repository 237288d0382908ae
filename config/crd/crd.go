// Package crd embeds the CustomResourceDefinitions lbsg reads, so that the binary's local
// environment (the demo, the tests) can install them wherever it runs. The manifests are
// generated from api/ with `make generate`.
package crd

import (
	"embed"
	"fmt"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

//go:embed *.yaml
var manifests embed.FS

// All returns every embedded CRD.
func All() ([]*apiextensionsv1.CustomResourceDefinition, error) {
	entries, err := manifests.ReadDir(".")
	if err != nil {
		return nil, err
	}
	var out []*apiextensionsv1.CustomResourceDefinition
	for _, e := range entries {
		raw, err := manifests.ReadFile(e.Name())
		if err != nil {
			return nil, err
		}
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := yaml.UnmarshalStrict(raw, crd); err != nil {
			return nil, fmt.Errorf("decode %s: %w", e.Name(), err)
		}
		out = append(out, crd)
	}
	return out, nil
}
