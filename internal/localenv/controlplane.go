package localenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	elbv2api "github.com/lbsg/lbsg/api/v1beta1"
	"github.com/lbsg/lbsg/config/crd"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// Versions of the binaries hack/testbin.sh builds by default; AssetsDir looks for them first.
const (
	KubeVersion = "v1.37.1"
	EtcdVersion = "v3.7.3"
)

// AssetsEnv is the environment variable envtest reads the binaries' directory from.
const AssetsEnv = "KUBEBUILDER_ASSETS"

const testbinHint = `run "make testbin" (hack/testbin.sh builds kube-apiserver and etcd from the Go module proxy, ~6 minutes once)`

// ControlPlaneStartTimeout bounds the start of each of etcd and kube-apiserver, unless
// KUBEBUILDER_CONTROLPLANE_START_TIMEOUT says otherwise.
const ControlPlaneStartTimeout = 60 * time.Second

// CacheDir is where hack/testbin.sh keeps its builds:
// ${LBSG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lbsg}.
func CacheDir() (string, error) {
	if d := os.Getenv("LBSG_CACHE"); d != "" {
		return d, nil
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "lbsg"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("finding the cache dir: neither LBSG_CACHE, XDG_CACHE_HOME nor HOME is set: %w", err)
	}
	return filepath.Join(home, ".cache", "lbsg"), nil
}

// AssetsDir returns the directory holding the kube-apiserver and etcd binaries: $KUBEBUILDER_ASSETS
// if set, else hack/testbin.sh's default output dir (or, failing that, any complete build in
// its cache). The error says how to get them.
func AssetsDir() (string, error) {
	if d := os.Getenv(AssetsEnv); d != "" {
		if missing := missingBinaries(d); len(missing) > 0 {
			return "", fmt.Errorf("%s=%s lacks %s: unset it and %s, or point it at a directory holding kube-apiserver and etcd",
				AssetsEnv, d, strings.Join(missing, " and "), testbinHint)
		}
		return d, nil
	}
	cache, err := CacheDir()
	if err != nil {
		return "", fmt.Errorf("%w: %s", err, testbinHint)
	}
	testbin := filepath.Join(cache, "testbin")
	def := filepath.Join(testbin, "k8s-"+KubeVersion+"-etcd-"+EtcdVersion)
	missing := missingBinaries(def)
	if len(missing) == 0 {
		return def, nil
	}
	// A build of other versions (KUBE_VERSION=… hack/testbin.sh) is good too.
	others, _ := filepath.Glob(filepath.Join(testbin, "k8s-*-etcd-*"))
	sort.Sort(sort.Reverse(sort.StringSlice(others)))
	for _, d := range others {
		if len(missingBinaries(d)) == 0 {
			return d, nil
		}
	}
	return "", fmt.Errorf("the envtest binaries are missing (%s not found in %s): %s, or set %s to a directory holding kube-apiserver and etcd",
		strings.Join(missing, " and "), def, testbinHint, AssetsEnv)
}

func missingBinaries(dir string) []string {
	var missing []string
	for _, b := range []string{"kube-apiserver", "etcd"} {
		fi, err := os.Stat(filepath.Join(dir, b))
		if err != nil || fi.IsDir() || fi.Mode().Perm()&0o111 == 0 {
			missing = append(missing, b)
		}
	}
	return missing
}

// ControlPlaneOptions configure StartControlPlane.
type ControlPlaneOptions struct {
	// CRDDirectoryPaths are directories (or files) of CRD manifests to install besides
	// lbsg's own (IngressClassParams), which are always installed. A path that does not
	// exist is an error.
	CRDDirectoryPaths []string
	// Scheme for Client; default: client-go's built-in types and IngressClassParams.
	Scheme *runtime.Scheme
}

// ControlPlane is a running kube-apiserver and etcd.
type ControlPlane struct {
	// Config is an admin (system:masters) REST config.
	Config *rest.Config
	// Client is a controller-runtime client (no cache) using Config.
	Client client.Client
	// Kubeconfig is the path of a kubeconfig file for the same admin user, for
	// `lbsg controller --kubeconfig` and kubectl. It is removed by Stop.
	Kubeconfig string
	// Env is the underlying envtest environment.
	Env *envtest.Environment

	tmpDir string
}

// StartControlPlane starts etcd and kube-apiserver from AssetsDir, installs the CRDs, and
// writes a kubeconfig file. Call Stop to end them.
func StartControlPlane(ctx context.Context, opts ControlPlaneOptions) (*ControlPlane, error) {
	dir, err := AssetsDir()
	if err != nil {
		return nil, err
	}
	sch := opts.Scheme
	if sch == nil {
		sch = runtime.NewScheme()
		if err := clientgoscheme.AddToScheme(sch); err != nil {
			return nil, err
		}
		if err := elbv2api.AddToScheme(sch); err != nil {
			return nil, err
		}
	}
	crds, err := crd.All()
	if err != nil {
		return nil, fmt.Errorf("lbsg's embedded CRDs: %w", err)
	}
	env := &envtest.Environment{
		BinaryAssetsDirectory: dir,
		CRDs:                  crds,
		CRDDirectoryPaths:     opts.CRDDirectoryPaths,
		ErrorIfCRDPathMissing: true,
		Scheme:                sch,
	}
	// envtest prefers KUBEBUILDER_ASSETS over BinaryAssetsDirectory; AssetsDir has chosen
	// already, so name the binaries outright.
	env.ControlPlane.GetAPIServer().Path = filepath.Join(dir, "kube-apiserver")
	env.ControlPlane.Etcd = &envtest.Etcd{Path: filepath.Join(dir, "etcd")}
	// envtest's default Service range (a /24) holds 254 ClusterIPs; benchmarks create
	// hundreds of Services.
	env.ControlPlane.GetAPIServer().Configure().Set("service-cluster-ip-range", "10.96.0.0/16")
	if os.Getenv("KUBEBUILDER_CONTROLPLANE_START_TIMEOUT") == "" {
		env.ControlPlaneStartTimeout = ControlPlaneStartTimeout
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	cfg, err := startEnv(env, dir)
	if err != nil {
		return nil, err
	}
	cp := &ControlPlane{Config: cfg, Env: env}
	fail := func(err error) (*ControlPlane, error) {
		return nil, errors.Join(err, cp.Stop())
	}
	cp.Client, err = client.New(cfg, client.Options{Scheme: sch})
	if err != nil {
		return fail(fmt.Errorf("creating a client for the control plane: %w", err))
	}
	cp.tmpDir, err = os.MkdirTemp("", "lbsg-kube-")
	if err != nil {
		return fail(fmt.Errorf("creating a temp dir for the kubeconfig: %w", err))
	}
	cp.Kubeconfig = filepath.Join(cp.tmpDir, "kubeconfig")
	// env.KubeConfig is written with client-go's clientcmd from the admin REST config.
	if err := os.WriteFile(cp.Kubeconfig, env.KubeConfig, 0o600); err != nil {
		return fail(fmt.Errorf("writing the kubeconfig: %w", err))
	}
	return cp, nil
}

func startEnv(env *envtest.Environment, dir string) (*rest.Config, error) {
	cfg, err := env.Start()
	if err != nil {
		stopErr := env.Stop()
		return nil, errors.Join(fmt.Errorf("starting kube-apiserver and etcd from %s: %w", dir, err), stopErr)
	}
	return cfg, nil
}

// Stop ends kube-apiserver and etcd and removes the kubeconfig file.
func (c *ControlPlane) Stop() error {
	var errs []error
	if c.Env != nil {
		if err := c.Env.Stop(); err != nil {
			errs = append(errs, fmt.Errorf("stopping the control plane: %w", err))
		}
	}
	if c.tmpDir != "" {
		if err := os.RemoveAll(c.tmpDir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
