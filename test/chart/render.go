// Package chart renders the Helm chart charts/lbsg with the Helm SDK, as `helm install`
// would, for the chart's tests and the end-to-end test that installs it.
package chart

import (
	"fmt"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/engine"
	"helm.sh/helm/v3/pkg/releaseutil"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/fake"
	"sigs.k8s.io/yaml"
)

// Dir is the chart's directory.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "charts", "lbsg")
}

// RepoRoot is the repository's root directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Release is a rendered release: what `helm install` would send, in Helm's install order.
type Release struct {
	// CRDs are the chart's crds/ files, which Helm installs first.
	CRDs []*unstructured.Unstructured
	// Objects are the rendered templates, in Helm's install order.
	Objects []*unstructured.Unstructured
	// Notes is the rendered NOTES.txt.
	Notes string
}

// ReadValues reads a values file.
func ReadValues(path string) (map[string]any, error) {
	v, err := chartutil.ReadValuesFile(path)
	if err != nil {
		return nil, fmt.Errorf("read values %s: %w", path, err)
	}
	return v.AsMap(), nil
}

// Load loads the chart from Dir.
func Load() (*chart.Chart, error) {
	ch, err := loader.Load(Dir())
	if err != nil {
		return nil, fmt.Errorf("load chart %s: %w", Dir(), err)
	}
	return ch, nil
}

// Render renders the chart as release name in namespace with the user's values, validating
// them against values.schema.json as `helm install` does. Templates' lookup finds nothing,
// as with `helm template`.
func Render(name, namespace string, values map[string]any) (*Release, error) {
	return renderChart(name, namespace, values, nil)
}

// RenderInCluster renders the chart as Render does, as `helm upgrade` would in a cluster that
// holds the existing objects: templates' lookup finds them.
func RenderInCluster(name, namespace string, values map[string]any, existing ...*unstructured.Unstructured) (*Release, error) {
	objs := make([]k8sruntime.Object, 0, len(existing))
	for _, u := range existing {
		objs = append(objs, u.DeepCopy())
	}
	return renderChart(name, namespace, values, clusterClients{fake.NewSimpleDynamicClient(k8sruntime.NewScheme(), objs...)})
}

// clusterClients serves the templates' lookup from a fake dynamic client.
type clusterClients struct{ client *fake.FakeDynamicClient }

func (c clusterClients) GetClientFor(apiVersion, kind string) (dynamic.NamespaceableResourceInterface, bool, error) {
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return nil, false, err
	}
	// The fake client stores objects under the resource this guesses from their kind.
	gvr, _ := meta.UnsafeGuessKindToResource(gv.WithKind(kind))
	return c.client.Resource(gvr), true, nil
}

func renderChart(name, namespace string, values map[string]any, cluster engine.ClientProvider) (*Release, error) {
	ch, err := Load()
	if err != nil {
		return nil, err
	}
	opts := chartutil.ReleaseOptions{Name: name, Namespace: namespace, Revision: 1, IsInstall: true}
	top, err := chartutil.ToRenderValues(ch, values, opts, chartutil.DefaultCapabilities)
	if err != nil {
		return nil, err
	}
	var files map[string]string
	if cluster == nil {
		files, err = engine.Render(ch, top)
	} else {
		files, err = engine.RenderWithClientProvider(ch, top, cluster)
	}
	if err != nil {
		return nil, err
	}
	rel := &Release{}
	for path, content := range files {
		if strings.HasSuffix(path, "NOTES.txt") {
			rel.Notes = content
			delete(files, path)
		}
	}
	_, manifests, err := releaseutil.SortManifests(files, nil, releaseutil.InstallOrder)
	if err != nil {
		return nil, fmt.Errorf("sort manifests: %w", err)
	}
	for _, m := range manifests {
		u, err := decode(m.Name, m.Content)
		if err != nil {
			return nil, err
		}
		if u != nil {
			rel.Objects = append(rel.Objects, u)
		}
	}
	crds := ch.CRDObjects()
	sort.Slice(crds, func(i, j int) bool { return crds[i].Filename < crds[j].Filename })
	for _, c := range crds {
		docs := releaseutil.SplitManifests(string(c.File.Data))
		keys := make([]string, 0, len(docs))
		for k := range docs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			u, err := decode(c.Filename+"#"+k, docs[k])
			if err != nil {
				return nil, err
			}
			if u != nil {
				rel.CRDs = append(rel.CRDs, u)
			}
		}
	}
	return rel, nil
}

func decode(name, doc string) (*unstructured.Unstructured, error) {
	m := map[string]any{}
	if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(m) == 0 {
		return nil, nil
	}
	return &unstructured.Unstructured{Object: m}, nil
}

// Find returns the rendered object of the kind and name, or nil.
func (r *Release) Find(kind, name string) *unstructured.Unstructured {
	for _, o := range r.Objects {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

// Kinds returns the kinds of the rendered objects, with their names, as "Kind/name".
func (r *Release) Kinds() []string {
	var out []string
	for _, o := range r.Objects {
		out = append(out, o.GetKind()+"/"+o.GetName())
	}
	return out
}

// Deployment returns the rendered Deployment, typed.
func (r *Release) Deployment() (*appsv1.Deployment, error) {
	var found *unstructured.Unstructured
	for _, o := range r.Objects {
		if o.GroupVersionKind() == (schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}) {
			if found != nil {
				return nil, fmt.Errorf("two Deployments rendered: %s and %s", found.GetName(), o.GetName())
			}
			found = o
		}
	}
	if found == nil {
		return nil, fmt.Errorf("no Deployment rendered: %v", r.Kinds())
	}
	d := &appsv1.Deployment{}
	if err := Convert(found, d); err != nil {
		return nil, err
	}
	return d, nil
}

// Container returns the rendered Deployment's lbsg container.
func (r *Release) Container() (*corev1.Container, error) {
	d, err := r.Deployment()
	if err != nil {
		return nil, err
	}
	if n := len(d.Spec.Template.Spec.Containers); n != 1 {
		return nil, fmt.Errorf("the Deployment has %d containers, want 1", n)
	}
	return &d.Spec.Template.Spec.Containers[0], nil
}

// Convert decodes a rendered object into a typed one, refusing fields the type lacks (a
// misspelt field in a template).
func Convert(u *unstructured.Unstructured, into any) error {
	raw, err := yaml.Marshal(u.Object)
	if err != nil {
		return err
	}
	if err := yaml.UnmarshalStrict(raw, into); err != nil {
		return fmt.Errorf("%s %s: %w", u.GetKind(), u.GetName(), err)
	}
	return nil
}
