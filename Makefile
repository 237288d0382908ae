# lbsg — the two set-up commands are `make demo` and `make test`; both install what they
# need on a fresh machine (Go modules, kube-apiserver and etcd built once into the cache)
# and check for the AWS emulator.

GO       ?= go
BIN      := bin/lbsg
# The version `lbsg version` prints and the image is labelled with.
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null)
# The image's creation time: the commit's, so that building a commit twice gives the same image.
export SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
LDFLAGS  := -X github.com/lbsg/lbsg/internal/app.Version=$(VERSION)
IMAGE_DIR       ?= bin/image
IMAGE_ARCHIVE   ?= bin/image.oci.tar
IMAGE_PLATFORMS ?= linux/amd64,linux/arm64
# Cache for kube-apiserver and etcd (about 3 GB of Go build cache the first time).
export LBSG_CACHE ?= $(HOME)/.cache/lbsg

.PHONY: all build image test unit e2e lint demo testbin check-moto generate iam-policy clean fuzz bench

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/lbsg

## image: the controller's OCI image for IMAGE_PLATFORMS, built without a container runtime
## or base image, as an OCI layout in IMAGE_DIR and an oci-archive in IMAGE_ARCHIVE. Publish
## with `crane push $(IMAGE_DIR) REPO:TAG` or `skopeo copy --all oci:$(IMAGE_DIR) docker://REPO:TAG`.
image:
	$(GO) run ./hack/image --version '$(VERSION)' --revision '$(REVISION)' \
	  --platforms '$(IMAGE_PLATFORMS)' --out $(IMAGE_DIR) --archive $(IMAGE_ARCHIVE)

## testbin: build kube-apiserver and etcd from the Go module proxy (once; cached).
testbin:
	@bash hack/testbin.sh >/dev/null

## check-moto: fail with a hint when the moto AWS emulator is not installed.
check-moto:
	@bash hack/check-moto.sh

## lint: formatting and vet.
lint:
	@test -z "$$(gofmt -l api cmd internal test)" || { echo "gofmt would change:"; gofmt -l api cmd internal test; exit 1; }
	$(GO) vet -tags demo ./...

## test: every test — unit tests and end-to-end tests on a real kube-apiserver and moto.
test: lint check-moto
	@assets=$$(bash hack/testbin.sh) && \
	  echo "[test] KUBEBUILDER_ASSETS=$$assets" && \
	  KUBEBUILDER_ASSETS=$$assets $(GO) test -tags demo -count=1 -timeout 45m ./...

## unit: only the tests that need no control plane or emulator.
unit:
	$(GO) test -count=1 $$($(GO) list ./... | grep -v -e /test/e2e -e /internal/localenv -e /internal/cloud -e /internal/elb -e /api/ -e /cmd/lbsg)

## fuzz: run every Go fuzz target for FUZZTIME each, one after another (`make test` runs only
## their seed corpora). New failing inputs land in the package's testdata/fuzz/.
FUZZTIME ?= 30s
fuzz:
	@set -e; for pkg in $$(grep -rl --include='*_test.go' '^func Fuzz' internal cmd | xargs -n1 dirname | sort -u); do \
	  for t in $$($(GO) test -list '^Fuzz' ./$$pkg | grep '^Fuzz'); do \
	    echo "[fuzz] ./$$pkg $$t for $(FUZZTIME)"; \
	    $(GO) test -run '^$$' -fuzz "^$$t\$$" -fuzztime $(FUZZTIME) ./$$pkg; \
	  done; \
	done

## generate: regenerate the IngressClassParams deepcopy code and CRD manifest from api/, and
## the ClusterRole config/rbac/role.yaml from the +kubebuilder:rbac markers in internal/controller,
## and copy both into the Helm chart (charts/lbsg/crds, charts/lbsg/files/clusterrole.yaml).
generate:
	$(GO) run sigs.k8s.io/controller-tools/cmd/controller-gen@v0.23.0 object crd:headerFile=hack/crd-header.yaml.txt paths=./api/... output:crd:dir=./config/crd
	$(GO) run sigs.k8s.io/controller-tools/cmd/controller-gen@v0.23.0 rbac:roleName=lbsg paths=./internal/controller/... output:rbac:dir=./config/rbac
	rm -f charts/lbsg/crds/*.yaml && cp config/crd/*.yaml charts/lbsg/crds/
	cp config/rbac/role.yaml charts/lbsg/files/clusterrole.yaml

## iam-policy: regenerate docs/iam-policy-N.json (the managed policies for a cluster named
## my-cluster; render yours with `lbsg iam-policy --cluster-name NAME --vpc-id VPC --output-dir DIR`).
iam-policy:
	$(GO) run ./cmd/lbsg iam-policy --cluster-name my-cluster --output-dir docs

## demo: run the demo on a local control plane and AWS emulator (add ARGS=--keep to keep it).
## The demo is built only with -tags demo, so the controller's binary and image do not
## carry the control plane and emulator code it starts.
demo: check-moto
	@assets=$$(bash hack/testbin.sh) && \
	  KUBEBUILDER_ASSETS=$$assets $(GO) run -tags demo ./cmd/lbsg demo $(ARGS)

## bench: measure AWS calls by action, seconds to converge (against what the client-side limits
## allow), peak RSS and CPU of `lbsg controller`
## for BENCH_SIZES NLB Services (plus an Ingress group of 3, a no-op change, BENCH_STEADY of
## steady state, endpoint churn, delete) and under throttling + 5xx, through lbsg's counting
## proxy in front of moto, then its memory while a tenant creates 1,000 Pods with 250 KiB
## annotations; writes docs/benchmarks.md and docs/benchmarks.png. A benchmark,
## not a test: `make bench BENCH_SIZES=1,20 BENCH_STEADY=30s` is a quick run; BENCH_ARGS passes
## more flags (`go run ./hack/bench -h` lists them).
BENCH_SIZES  ?= 1,20,100,500,1000
BENCH_STEADY ?= 2m
bench: check-moto
	@assets=$$(bash hack/testbin.sh) && \
	  KUBEBUILDER_ASSETS=$$assets $(GO) run ./hack/bench --sizes '$(BENCH_SIZES)' --steady '$(BENCH_STEADY)' $(BENCH_ARGS)

clean:
	rm -rf bin
