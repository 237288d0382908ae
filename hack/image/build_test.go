package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

// TestImageRunsStampedNonRootControllerWithoutDemo builds the image for the host's
// architecture with the same code as `make image`, reads it back from the OCI layout,
// unpacks it and runs the binary it holds, then builds it again and expects the same digest.
func TestImageRunsStampedNonRootControllerWithoutDemo(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Fatalf("the image is linux/%s: this test runs its binary, so it needs a linux host, not %s", runtime.GOARCH, runtime.GOOS)
	}
	dir := t.TempDir()
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	o := Options{
		Out:       filepath.Join(dir, "image"),
		Archive:   filepath.Join(dir, "image.tar"),
		Platforms: []v1.Platform{{OS: "linux", Architecture: runtime.GOARCH}},
		Version:   "v9.8.7-test",
		Revision:  "0123456789abcdef0123456789abcdef01234567",
		Source:    "https://github.com/lbsg/lbsg",
		Created:   created,
	}
	res, err := Build(o)
	if err != nil {
		t.Fatal(err)
	}

	lp, err := layout.FromPath(o.Out)
	if err != nil {
		t.Fatal(err)
	}
	top, err := lp.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	topm, err := top.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(topm.Manifests) != 1 || !topm.Manifests[0].MediaType.IsIndex() ||
		topm.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != o.Version {
		t.Fatalf("layout's index.json = %+v, want one image index named %s", topm.Manifests, o.Version)
	}
	if topm.Manifests[0].Digest != res.IndexDigest {
		t.Fatalf("layout holds index %s, Build reported %s", topm.Manifests[0].Digest, res.IndexDigest)
	}
	idx, err := top.ImageIndex(topm.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Platform == nil ||
		im.Manifests[0].Platform.OS != "linux" || im.Manifests[0].Platform.Architecture != runtime.GOARCH {
		t.Fatalf("image index manifests = %+v, want one for linux/%s", im.Manifests, runtime.GOARCH)
	}
	img, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}

	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != runtime.GOARCH {
		t.Errorf("config platform = %s/%s, want linux/%s", cf.OS, cf.Architecture, runtime.GOARCH)
	}
	if cf.Config.User != "65532:65532" {
		t.Errorf("user = %q, want 65532:65532 (non-root)", cf.Config.User)
	}
	if want := []string{"/lbsg", "controller"}; !slices.Equal(cf.Config.Entrypoint, want) {
		t.Errorf("entrypoint = %q, want %q", cf.Config.Entrypoint, want)
	}
	if !cf.Created.Time.Equal(created) {
		t.Errorf("created = %s, want %s (SOURCE_DATE_EPOCH, not the clock)", cf.Created.Time, created)
	}
	wantLabels := map[string]string{
		"org.opencontainers.image.title":    "lbsg",
		"org.opencontainers.image.licenses": "Apache-2.0",
		"org.opencontainers.image.source":   o.Source,
		"org.opencontainers.image.version":  o.Version,
		"org.opencontainers.image.revision": o.Revision,
		"org.opencontainers.image.created":  "2026-01-02T03:04:05Z",
	}
	for k, want := range wantLabels {
		if got := cf.Config.Labels[k]; got != want {
			t.Errorf("label %s = %q, want %q", k, got, want)
		}
	}
	if cf.Config.Labels["org.opencontainers.image.description"] == "" {
		t.Error("label org.opencontainers.image.description is empty")
	}

	// Unpack the whole filesystem, as a runtime would.
	root := filepath.Join(dir, "rootfs")
	headers := unpack(t, img, root)
	bin, ok := headers["lbsg"]
	if !ok {
		t.Fatalf("no /lbsg in the image; files: %v", keys(headers))
	}
	if bin.Uid != 0 || bin.Mode&0o022 != 0 || bin.Mode&0o111 == 0 {
		t.Errorf("/lbsg uid %d mode %o: want root-owned, executable and not writable by the controller's user", bin.Uid, bin.Mode)
	}
	if h, ok := headers["tmp"]; !ok || h.Mode&0o1777 != 0o1777 {
		t.Errorf("/tmp missing or not world-writable with the sticky bit: %+v", h)
	}
	if h, ok := headers["etc/passwd"]; !ok || h.Size == 0 {
		t.Error("/etc/passwd missing: the user 65532 would have no name or home")
	}
	for name, h := range headers {
		if !h.ModTime.Equal(created) {
			t.Errorf("%s modified %s, want %s (reproducible)", name, h.ModTime, created)
		}
	}

	binary, err := os.ReadFile(filepath.Join(root, "lbsg"))
	if err != nil {
		t.Fatal(err)
	}
	// Package paths stay in the binary's function table even when stripped.
	for _, pkg := range []string{"github.com/lbsg/lbsg/internal/localenv", "sigs.k8s.io/controller-runtime/pkg/envtest"} {
		if bytes.Contains(binary, []byte(pkg+".")) {
			t.Errorf("the controller's binary links %s: the demo's control plane is in the image", pkg)
		}
	}
	if !bytes.Contains(binary, []byte("golang.org/x/crypto/x509roots/fallback")) {
		t.Error("the binary does not embed the fallback CA roots: TLS to AWS fails in an image without /etc/ssl")
	}
	out, err := exec.Command(filepath.Join(root, "lbsg"), "version").CombinedOutput()
	if err != nil {
		t.Fatalf("lbsg version: %v\n%s", err, out)
	}
	if !strings.HasPrefix(string(out), "lbsg "+o.Version) {
		t.Errorf("lbsg version printed %q, want it to start with %q", out, "lbsg "+o.Version)
	}
	if out, err := exec.Command(filepath.Join(root, "lbsg"), "demo").CombinedOutput(); err == nil {
		t.Errorf("lbsg demo ran in the controller's image:\n%s", out)
	}

	if st, err := os.Stat(o.Archive); err != nil || st.Size() == 0 {
		t.Errorf("oci-archive %s not written: %v", o.Archive, err)
	}

	// The same inputs give the same image, so a published digest can be rebuilt and checked.
	again := o
	again.Out, again.Archive = filepath.Join(dir, "again"), ""
	res2, err := Build(again)
	if err != nil {
		t.Fatal(err)
	}
	if res2.IndexDigest != res.IndexDigest {
		t.Errorf("building twice gave index %s then %s: the image is not reproducible", res.IndexDigest, res2.IndexDigest)
	}
}

func TestParsePlatformRejectsWhatTheImageCannotRun(t *testing.T) {
	for _, tc := range []struct {
		in      string
		wantErr string
	}{
		{in: "linux/arm64"},
		{in: "linux/amd64"},
		{in: "darwin/arm64", wantErr: "only linux"},
		{in: "amd64", wantErr: "want OS/ARCH"},
		{in: "linux/", wantErr: "want OS/ARCH"},
		{in: "linux/arm/v7/x", wantErr: "want OS/ARCH"},
	} {
		_, err := ParsePlatform(tc.in)
		if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("ParsePlatform(%q) error = %v, want %q", tc.in, err, tc.wantErr)
		}
	}
}

func TestSourceDateEpoch(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{in: "", want: time.Unix(0, 0).UTC()},
		{in: "1767323045", want: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		{in: "yesterday", wantErr: true},
	} {
		got, err := sourceDateEpoch(tc.in)
		if (err != nil) != tc.wantErr || !got.Equal(tc.want) {
			t.Errorf("sourceDateEpoch(%q) = %s, %v; want %s, error %t", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

// unpack writes the image's flattened filesystem under root and returns each entry's header.
func unpack(t *testing.T, img v1.Image, root string) map[string]*tar.Header {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	headers := map[string]*tar.Header{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(h.Name, "/"), "/")
		if name == "" || strings.Contains(name, "..") {
			t.Fatalf("unexpected entry %q", h.Name)
		}
		headers[name] = h
		p := filepath.Join(root, name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode)&0o777)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(f, tr); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("%s: unexpected entry type %c", h.Name, h.Typeflag)
		}
	}
	return headers
}

func keys(m map[string]*tar.Header) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
