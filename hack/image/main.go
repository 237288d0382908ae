// Command image builds the lbsg controller's container image without a container
// runtime: it compiles the static binary for each platform and writes a multi-platform
// OCI image layout (and, if asked, the same layout as an oci-archive tarball) that
// `crane push` or `skopeo copy` publish.
//
// The image starts from nothing: one layer holding the binary, a passwd entry for the
// non-root user and a writable /tmp. The CA roots are compiled into the binary, so no base
// image is downloaded and nothing but the binary can be exploited or needs patching.
//
// Everything is derived from the inputs (version, revision, creation time), so building
// the same commit twice gives the same digests.
package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	var o Options
	var platforms string
	flag.StringVar(&o.Out, "out", "bin/image", "OCI image layout directory to write (replaced)")
	flag.StringVar(&o.Archive, "archive", "", "also write the layout as this oci-archive tarball")
	flag.StringVar(&platforms, "platforms", "linux/amd64,linux/arm64", "comma-separated OS/ARCH list")
	flag.StringVar(&o.Version, "version", "dev", "version stamped into `lbsg version` and the labels")
	flag.StringVar(&o.Revision, "revision", "", "source revision (commit) for the labels")
	flag.StringVar(&o.Source, "source", "https://github.com/lbsg/lbsg", "source repository URL for the labels")
	flag.StringVar(&o.Package, "package", "github.com/lbsg/lbsg/cmd/lbsg", "Go package of the binary")
	flag.Parse()

	for _, p := range strings.Split(platforms, ",") {
		pl, err := ParsePlatform(strings.TrimSpace(p))
		if err != nil {
			fail(err)
		}
		o.Platforms = append(o.Platforms, pl)
	}
	created, err := sourceDateEpoch(os.Getenv("SOURCE_DATE_EPOCH"))
	if err != nil {
		fail(err)
	}
	o.Created = created
	o.Log = os.Stderr

	res, err := Build(o)
	if err != nil {
		fail(err)
	}
	for _, img := range res.Images {
		fmt.Printf("%s/%s\t%s\t%.1f MiB compressed, %.1f MiB binary\n", img.Platform.OS, img.Platform.Architecture,
			img.Digest, float64(img.CompressedSize)/(1<<20), float64(img.BinarySize)/(1<<20))
	}
	fmt.Printf("index\t%s\t%s\n", res.IndexDigest, o.Out)
	if o.Archive != "" {
		fmt.Printf("archive\t%s\n", o.Archive)
	}
}

// sourceDateEpoch reads SOURCE_DATE_EPOCH (reproducible-builds.org): the image's creation
// time. Unset means the Unix epoch rather than now, so that two builds never differ by
// the clock.
func sourceDateEpoch(v string) (time.Time, error) {
	if v == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	sec, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q is not a number of seconds since 1970: %w", v, err)
	}
	return time.Unix(sec, 0).UTC(), nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "image:", err)
	os.Exit(1)
}
