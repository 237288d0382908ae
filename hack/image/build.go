package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

const (
	// versionVar is the variable `lbsg version` prints.
	versionVar = "github.com/lbsg/lbsg/internal/app.Version"
	// binaryPath is where the binary sits in the image; the entrypoint runs it.
	binaryPath = "/lbsg"
	// nonRoot is the user and group the controller runs as (the distroless convention,
	// which Pod security policies and upstream's chart expect).
	nonRoot    = 65532
	userString = "65532:65532"
)

// Options say what to build and where to write it.
type Options struct {
	Out       string        // OCI image layout directory, replaced
	Archive   string        // if set, the layout also as an oci-archive tarball
	Platforms []v1.Platform // linux only: the image has no other userland
	Version   string
	Revision  string
	Source    string
	Package   string // Go package of the binary; an import path works from any directory
	Created   time.Time
	Log       io.Writer // go build's output; nil discards it
}

// BuiltImage describes one platform's image.
type BuiltImage struct {
	Platform       v1.Platform
	Digest         v1.Hash
	CompressedSize int64 // the layer as pushed
	BinarySize     int64
}

// Result is what Build wrote.
type Result struct {
	IndexDigest v1.Hash
	Images      []BuiltImage
}

// ParsePlatform reads "linux/amd64".
func ParsePlatform(s string) (v1.Platform, error) {
	osName, arch, ok := strings.Cut(s, "/")
	if !ok || osName == "" || arch == "" || strings.Contains(arch, "/") {
		return v1.Platform{}, fmt.Errorf("platform %q: want OS/ARCH, for example linux/arm64", s)
	}
	if osName != "linux" {
		return v1.Platform{}, fmt.Errorf("platform %q: only linux images can be built (the image has no other userland)", s)
	}
	return v1.Platform{OS: osName, Architecture: arch}, nil
}

// Labels are the OCI annotations put on each image's config and on the index.
func (o Options) Labels() map[string]string {
	l := map[string]string{
		"org.opencontainers.image.title":       "lbsg",
		"org.opencontainers.image.description": "AWS load balancers and their security groups for Kubernetes",
		"org.opencontainers.image.licenses":    "Apache-2.0",
		"org.opencontainers.image.source":      o.Source,
		"org.opencontainers.image.version":     o.Version,
		"org.opencontainers.image.created":     o.Created.UTC().Format(time.RFC3339),
	}
	if o.Revision != "" {
		l["org.opencontainers.image.revision"] = o.Revision
	}
	return l
}

// Build compiles the binary for every platform and writes the image layout.
func Build(o Options) (Result, error) {
	if len(o.Platforms) == 0 {
		return Result{}, errors.New("no platform to build")
	}
	if o.Version == "" {
		return Result{}, errors.New("empty version: pass the version to stamp, for example from git describe")
	}
	if o.Package == "" {
		o.Package = "github.com/lbsg/lbsg/cmd/lbsg"
	}
	work, err := os.MkdirTemp("", "lbsg-image-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(work)

	var res Result
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range o.Platforms {
		bin := filepath.Join(work, "lbsg-"+p.OS+"-"+p.Architecture)
		if err := o.compile(p, bin); err != nil {
			return Result{}, err
		}
		img, layerSize, binSize, err := o.image(p, bin)
		if err != nil {
			return Result{}, fmt.Errorf("image for %s/%s: %w", p.OS, p.Architecture, err)
		}
		d, err := img.Digest()
		if err != nil {
			return Result{}, err
		}
		plat := p
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &plat}})
		res.Images = append(res.Images, BuiltImage{Platform: p, Digest: d, CompressedSize: layerSize, BinarySize: binSize})
	}
	annotated, ok := mutate.Annotations(idx, o.Labels()).(v1.ImageIndex)
	if !ok {
		return Result{}, errors.New("annotating the index lost its type")
	}
	if res.IndexDigest, err = annotated.Digest(); err != nil {
		return Result{}, err
	}

	if err := os.RemoveAll(o.Out); err != nil {
		return Result{}, err
	}
	lp, err := layout.Write(o.Out, empty.Index)
	if err != nil {
		return Result{}, fmt.Errorf("write layout %s: %w", o.Out, err)
	}
	// The ref name lets `skopeo copy oci:DIR:VERSION` pick the index by version.
	if err := lp.AppendIndex(annotated, layout.WithAnnotations(map[string]string{
		"org.opencontainers.image.ref.name": o.Version,
	})); err != nil {
		return Result{}, fmt.Errorf("write layout %s: %w", o.Out, err)
	}
	if o.Archive != "" {
		if err := writeArchive(o.Out, o.Archive, o.Created); err != nil {
			return Result{}, fmt.Errorf("write archive %s: %w", o.Archive, err)
		}
	}
	return res, nil
}

// compile builds a static, path-independent binary with the version stamped in.
func (o Options) compile(p v1.Platform, out string) error {
	goCmd := os.Getenv("GO")
	if goCmd == "" {
		goCmd = "go"
	}
	cmd := exec.Command(goCmd, "build", "-trimpath",
		"-ldflags", "-s -w -X "+versionVar+"="+o.Version,
		"-o", out, o.Package)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Architecture)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = o.Log, &stderr
	if o.Log != nil {
		cmd.Stderr = io.MultiWriter(o.Log, &stderr)
	}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s for %s/%s: %w\n%s", o.Package, p.OS, p.Architecture, err, stderr.String())
	}
	return nil
}

func (o Options) image(p v1.Platform, bin string) (v1.Image, int64, int64, error) {
	binary, err := os.ReadFile(bin)
	if err != nil {
		return nil, 0, 0, err
	}
	layerTar, err := rootFS(binary, o.Created)
	if err != nil {
		return nil, 0, 0, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, 0, 0, err
	}
	layerSize, err := layer.Size()
	if err != nil {
		return nil, 0, 0, err
	}

	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, 0, 0, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	cf.Config = v1.Config{
		User:       userString,
		Entrypoint: []string{binaryPath, "controller"},
		Env:        []string{"HOME=/home/nonroot"},
		WorkingDir: "/",
		Labels:     o.Labels(),
	}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return nil, 0, 0, err
	}
	if img, err = mutate.Append(img, mutate.Addendum{
		Layer:     layer,
		MediaType: types.OCILayer,
		History: v1.History{
			Created:   v1.Time{Time: o.Created},
			CreatedBy: "hack/image: lbsg " + o.Version,
			Comment:   "static lbsg binary, passwd entry for " + userString + ", /tmp",
		},
	}); err != nil {
		return nil, 0, 0, err
	}
	if img, err = mutate.CreatedAt(img, v1.Time{Time: o.Created}); err != nil {
		return nil, 0, 0, err
	}
	img, ok := mutate.Annotations(img, o.Labels()).(v1.Image)
	if !ok {
		return nil, 0, 0, errors.New("annotating the image lost its type")
	}
	return img, layerSize, int64(len(binary)), nil
}

// rootFS is the image's only layer, with fixed owners and times so that the same binary
// always gives the same digest.
func rootFS(binary []byte, mtime time.Time) ([]byte, error) {
	type entry struct {
		name      string
		mode      int64
		uid, gid  int
		directory bool
		data      []byte
	}
	entries := []entry{
		{name: "etc/", mode: 0o755, directory: true},
		{name: "etc/group", mode: 0o644, data: []byte("root:x:0:\nnonroot:x:65532:\n")},
		{name: "etc/passwd", mode: 0o644, data: []byte("root:x:0:0:root:/root:/sbin/nologin\n" +
			"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
		{name: "home/", mode: 0o755, directory: true},
		{name: "home/nonroot/", mode: 0o700, uid: nonRoot, gid: nonRoot, directory: true},
		// Root-owned and not writable by the controller's user.
		{name: strings.TrimPrefix(binaryPath, "/"), mode: 0o755, data: binary},
		{name: "tmp/", mode: 0o1777, directory: true},
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, Uid: e.uid, Gid: e.gid, ModTime: mtime, Format: tar.FormatPAX}
		if e.directory {
			h.Typeflag = tar.TypeDir
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeArchive packs an OCI layout directory as an oci-archive (`skopeo copy
// oci-archive:FILE …`), in name order with fixed times.
func writeArchive(dir, file string, mtime time.Time) error {
	var names []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path != dir {
			names = append(names, path)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(names)
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	for _, path := range names {
		info, err := os.Stat(path)
		if err != nil {
			return errors.Join(err, f.Close())
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return errors.Join(err, f.Close())
		}
		h := &tar.Header{Name: filepath.ToSlash(rel), ModTime: mtime, Mode: 0o644, Typeflag: tar.TypeReg, Size: info.Size(), Format: tar.FormatPAX}
		if info.IsDir() {
			h.Name, h.Mode, h.Typeflag, h.Size = h.Name+"/", 0o755, tar.TypeDir, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			return errors.Join(err, f.Close())
		}
		if !info.IsDir() {
			if err := copyFile(tw, path); err != nil {
				return errors.Join(err, f.Close())
			}
		}
	}
	if err := tw.Close(); err != nil {
		return errors.Join(err, f.Close())
	}
	return f.Close()
}

func copyFile(w io.Writer, path string) error {
	r, err := os.Open(path)
	if err != nil {
		return err
	}
	defer r.Close()
	_, err = io.Copy(w, r)
	return err
}
