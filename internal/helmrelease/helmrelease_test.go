package helmrelease

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"slices"
	"testing"

	"helm.sh/helm/v3/pkg/release"
)

// upstreamManifest has the shapes of upstream's chart: the IngressClassParams and the
// IngressClass inside one List, a Deployment, and an object kept by its manifest.
const upstreamManifest = `---
# Source: aws-load-balancer-controller/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: aws-load-balancer-controller
---
# Source: aws-load-balancer-controller/templates/ingressclass.yaml
apiVersion: v1
kind: List
metadata:
  name: ingress-class
items:
- apiVersion: elbv2.k8s.aws/v1beta1
  kind: IngressClassParams
  metadata:
    name: alb
- apiVersion: networking.k8s.io/v1
  kind: IngressClass
  metadata:
    name: alb
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: kept
  annotations:
    helm.sh/resource-policy: keep
`

func TestDeletesReadsListsAndTheManifestsKeepPolicy(t *testing.T) {
	got := Deletes(upstreamManifest)
	want := []string{"Deployment/aws-load-balancer-controller", "IngressClass/alb", "IngressClassParams/alb"}
	if !slices.Equal(got, want) {
		t.Errorf("Deletes = %v, want %v", got, want)
	}
}

func TestDecodeReadsHelmsSecretEncoding(t *testing.T) {
	raw, err := json.Marshal(&release.Release{Name: "r", Namespace: "kube-system", Manifest: upstreamManifest})
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	_, _ = w.Write(raw)
	_ = w.Close()
	rel, err := Decode([]byte(base64.StdEncoding.EncodeToString(gz.Bytes())))
	if err != nil || rel.Name != "r" || rel.Manifest != upstreamManifest {
		t.Fatalf("Decode = %+v, %v", rel, err)
	}
	if _, err := Decode([]byte("not base64!")); err == nil {
		t.Error("Decode accepted garbage")
	}
}
