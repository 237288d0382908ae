// Package helmrelease reads what Helm stores of its deployed releases (Secrets of type
// helm.sh/release.v1, Helm's default storage) for `lbsg preflight`: which objects
// uninstalling each release would delete. Helm decides that from the stored manifest alone,
// so that is what is read, not the live objects.
package helmrelease

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/releaseutil"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/lbsg/lbsg/internal/preflight"
)

// Labels Helm's Secret storage puts on a release's record.
const (
	labelOwner  = "owner"
	labelStatus = "status"
)

// Deployed lists the deployed Helm releases of every namespace with the objects their
// uninstall deletes.
func Deployed(ctx context.Context, c client.Reader) ([]preflight.HelmRelease, error) {
	var secrets corev1.SecretList
	if err := c.List(ctx, &secrets, client.MatchingLabels{labelOwner: "helm", labelStatus: string(release.StatusDeployed)}); err != nil {
		return nil, fmt.Errorf("list Helm release records (Secrets labelled owner=helm): %w", err)
	}
	var out []preflight.HelmRelease
	for _, s := range secrets.Items {
		rel, err := Decode(s.Data["release"])
		if err != nil {
			return nil, fmt.Errorf("Helm release record %s/%s: %w", s.Namespace, s.Name, err)
		}
		hr := preflight.HelmRelease{ReleaseRef: preflight.ReleaseRef{Namespace: rel.Namespace, Name: rel.Name}, Deletes: Deletes(rel.Manifest)}
		if rel.Chart != nil && rel.Chart.Metadata != nil {
			hr.Chart, hr.ChartVersion = rel.Chart.Metadata.Name, rel.Chart.Metadata.Version
		}
		out = append(out, hr)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ReleaseRef.String() < out[j].ReleaseRef.String() })
	return out, nil
}

// Decode reads a release record as Helm's Secret storage writes it: base64 of the
// gzipped JSON of the release.
func Decode(data []byte) (*release.Release, error) {
	raw, err := base64.StdEncoding.DecodeString(string(data))
	if err != nil {
		return nil, fmt.Errorf("decode base64: %w", err)
	}
	if len(raw) > 2 && raw[0] == 0x1f && raw[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("gunzip: %w", err)
		}
		if raw, err = io.ReadAll(zr); err != nil {
			return nil, fmt.Errorf("gunzip: %w", err)
		}
	}
	var rel release.Release
	if err := json.Unmarshal(raw, &rel); err != nil {
		return nil, fmt.Errorf("decode JSON: %w", err)
	}
	return &rel, nil
}

// head is what a manifest document says of itself; a List holds its objects as items.
type head struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name        string            `json:"name"`
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
	Items []head `json:"items"`
}

// Deletes returns, as "Kind/name" and sorted, the objects of a manifest that `helm
// uninstall` deletes: every one (items of a List too) unless the document carries
// helm.sh/resource-policy: keep. A List's own keep policy covers its items, as Helm decides
// per document.
func Deletes(manifest string) []string {
	var out []string
	for _, doc := range releaseutil.SplitManifests(manifest) {
		var h head
		if err := yaml.Unmarshal([]byte(doc), &h); err != nil || h.Kind == "" {
			continue
		}
		if strings.EqualFold(strings.TrimSpace(h.Metadata.Annotations["helm.sh/resource-policy"]), "keep") {
			continue
		}
		if strings.HasSuffix(h.Kind, "List") && len(h.Items) > 0 {
			for _, it := range h.Items {
				out = append(out, it.Kind+"/"+it.Metadata.Name)
			}
			continue
		}
		out = append(out, h.Kind+"/"+h.Metadata.Name)
	}
	sort.Strings(out)
	return out
}
