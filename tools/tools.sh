#!/usr/bin/env bash
# tools.sh installs the tools the tests need, pinned, into a cache outside the repository
# ($EC2K8S_TOOLS, default $HOME/.cache/ec2k8s-tools/<tool>-<version>). It is idempotent: a tool
# whose binary is cached is not touched, so a rerun takes a second.
#
#   tools/tools.sh [TOOL...]   install the named tools (default: all)
#   tools/tools.sh env         print the export lines the Makefile and tests use
#
# Tools: terraform opentofu moto tfplugindocs golangci-lint goreleaser apt sandbox kubernetes.
set -euo pipefail

TERRAFORM_VERSION=1.5.7
OPENTOFU_VERSION=1.12.6
MOTO_VERSION=5.2.5
TFPLUGINDOCS_VERSION=0.25.0
GOLANGCI_LINT_VERSION=2.15.0
GORELEASER_VERSION=2.15.1
# KUBERNETES_VERSION: kube-apiserver, kube-controller-manager and kubectl, built from the Go
# module proxy for the tests against a real API server (etcd is Debian's etcd-server). The
# newest 1.34 patch the proxy serves (its version list stops earlier; it serves this one).
KUBERNETES_VERSION=1.34.12
# SANDBOX_ROOT_VERSION names the recipe of the node sandbox's root (install_sandbox): bump it
# whenever the recipe changes, so every cache builds the new root beside the old one.
SANDBOX_ROOT_VERSION=1

CACHE=${EC2K8S_TOOLS:-$HOME/.cache/ec2k8s-tools}
TERRAFORM_DIR=$CACHE/terraform-$TERRAFORM_VERSION
TOFU_DIR=$CACHE/opentofu-$OPENTOFU_VERSION
MOTO_DIR=$CACHE/moto-$MOTO_VERSION
TFPLUGINDOCS_DIR=$CACHE/tfplugindocs-$TFPLUGINDOCS_VERSION
GOLANGCI_DIR=$CACHE/golangci-lint-$GOLANGCI_LINT_VERSION
GORELEASER_DIR=$CACHE/goreleaser-$GORELEASER_VERSION
SANDBOX_ROOT=$CACHE/debian-trixie-root-$SANDBOX_ROOT_VERSION
KUBERNETES_DIR=$CACHE/kubernetes-$KUBERNETES_VERSION

log() { printf 'tools: %s\n' "$*" >&2; }

print_env() {
  cat <<ENV
export EC2K8S_TOOLS=$CACHE
export EC2K8S_TERRAFORM=$TERRAFORM_DIR/bin/terraform
export EC2K8S_TOFU=$TOFU_DIR/bin/tofu
export EC2K8S_MOTO_SERVER=$MOTO_DIR/bin/moto_server
export EC2K8S_TFPLUGINDOCS=$TFPLUGINDOCS_DIR/bin/tfplugindocs
export EC2K8S_GOLANGCI_LINT=$GOLANGCI_DIR/bin/golangci-lint
export EC2K8S_GORELEASER=$GORELEASER_DIR/bin/goreleaser
export EC2K8S_SANDBOX_ROOT=$SANDBOX_ROOT
export EC2K8S_KUBE_APISERVER=$KUBERNETES_DIR/bin/kube-apiserver
export EC2K8S_KUBE_CONTROLLER_MANAGER=$KUBERNETES_DIR/bin/kube-controller-manager
export EC2K8S_KUBECTL=$KUBERNETES_DIR/bin/kubectl
export EC2K8S_ETCD=/usr/bin/etcd
ENV
}

# quiet runs a command with its output in a log, shown only if it fails.
quiet() {
  local out
  out=$(mktemp)
  if ! "$@" >"$out" 2>&1; then
    cat "$out" >&2
    rm -f "$out"
    return 1
  fi
  rm -f "$out"
}

# go_tool DIR PKG@VERSION BIN builds one Go command into DIR/bin unless it is there. It builds
# into DIR.tmp and renames, so an interrupted build never looks installed.
go_tool() {
  local dir=$1 pkg=$2 bin=$3
  [[ -x $dir/bin/$bin ]] && return 0
  log "building $pkg"
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp/bin"
  GOBIN=$dir.tmp/bin GOFLAGS=-buildvcs=false quiet go install "$pkg"
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
}

install_terraform() {
  go_tool "$TERRAFORM_DIR" "github.com/hashicorp/terraform@v$TERRAFORM_VERSION" terraform
}

# OpenTofu's go.mod has a replace directive, which `go install mod@version` refuses, so it is
# built through a throw-away wrapper module that requires it and repeats that replace line.
install_tofu() {
  [[ -x $TOFU_DIR/bin/tofu ]] && return 0
  log "building OpenTofu $OPENTOFU_VERSION (wrapper module)"
  local w gomod
  w=$(mktemp -d)
  gomod=$(cd "$w" && go mod download -json "github.com/opentofu/opentofu@v$OPENTOFU_VERSION" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
  {
    echo "module ec2k8s.local/tofuwrapper"
    grep -E '^go [0-9.]+$' "$gomod"
    echo "require github.com/opentofu/opentofu v$OPENTOFU_VERSION"
    grep -E '^replace ' "$gomod"
  } >"$w/go.mod"
  printf 'package tools\n\nimport _ "github.com/opentofu/opentofu/cmd/tofu"\n' >"$w/tools.go"
  rm -rf "$TOFU_DIR.tmp" && mkdir -p "$TOFU_DIR.tmp/bin"
  # version.dev=no: report 1.12.x, not 1.12.x-dev.
  (cd "$w" && GOFLAGS=-mod=mod quiet go mod tidy &&
    GOFLAGS=-buildvcs=false quiet go build -ldflags "-X github.com/opentofu/opentofu/version.dev=no" \
      -o "$TOFU_DIR.tmp/bin/tofu" github.com/opentofu/opentofu/cmd/tofu)
  rm -rf "$w" "$TOFU_DIR" && mv "$TOFU_DIR.tmp" "$TOFU_DIR"
}

# Kubernetes' go.mod replaces each k8s.io/* staging module with ./staging/..., which a module
# outside its repository cannot use: a throw-away wrapper module requires k8s.io/kubernetes and
# replaces each staging module with its published v0.<minor>.<patch>. Stamped with the version:
# unstamped binaries report v0.0.0-master. (This machine's /usr/bin/kubectl is not kubectl.)
install_kubernetes() {
  [[ -x $KUBERNETES_DIR/bin/kubectl ]] && return 0
  log "building kube-apiserver, kube-controller-manager and kubectl $KUBERNETES_VERSION (wrapper module)"
  local w gomod staging m
  w=$(mktemp -d)
  gomod=$(cd "$w" && go mod download -json "k8s.io/kubernetes@v$KUBERNETES_VERSION" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
  staging=$(awk '$2 == "=>" && $3 ~ /^\.\/staging\// { print $1 }' "$gomod")
  [[ -n $staging ]] || { log "no staging replace lines in k8s.io/kubernetes's go.mod"; rm -rf "$w"; return 1; }
  {
    echo "module ec2k8s.local/kubewrapper"
    grep -E '^go [0-9.]+$' "$gomod"
    echo "require k8s.io/kubernetes v$KUBERNETES_VERSION"
    for m in $staging; do echo "replace $m => $m v0.${KUBERNETES_VERSION#1.}"; done
  } >"$w/go.mod"
  printf 'package tools\n\nimport (\n\t_ "k8s.io/kubernetes/cmd/kube-apiserver"\n\t_ "k8s.io/kubernetes/cmd/kube-controller-manager"\n\t_ "k8s.io/kubernetes/cmd/kubectl"\n)\n' >"$w/tools.go"
  rm -rf "$KUBERNETES_DIR.tmp" && mkdir -p "$KUBERNETES_DIR.tmp/bin"
  local v=k8s.io/component-base/version minor=${KUBERNETES_VERSION#1.}
  minor=${minor%%.*}
  (cd "$w" && GOFLAGS=-mod=mod quiet go mod tidy &&
    CGO_ENABLED=0 GOFLAGS=-buildvcs=false quiet go build -trimpath \
      -ldflags "-s -w -X $v.gitVersion=v$KUBERNETES_VERSION -X $v.gitMajor=1 -X $v.gitMinor=$minor -X $v.gitTreeState=clean" \
      -o "$KUBERNETES_DIR.tmp/bin/" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kubectl)
  rm -rf "$w" "$KUBERNETES_DIR" && mv "$KUBERNETES_DIR.tmp" "$KUBERNETES_DIR"
}

# moto lives in a virtualenv, which records its own path: it is built in place and marked
# complete only when pip has finished.
install_moto() {
  [[ -f $MOTO_DIR/.complete ]] && return 0
  log "installing moto[server]==$MOTO_VERSION in a virtualenv"
  rm -rf "$MOTO_DIR"
  python3 -m venv "$MOTO_DIR"
  quiet "$MOTO_DIR/bin/pip" install --disable-pip-version-check "moto[server]==$MOTO_VERSION"
  touch "$MOTO_DIR/.complete"
}

install_apt() {
  local missing=()
  command -v shellcheck >/dev/null || missing+=(shellcheck)
  command -v cloud-init >/dev/null || missing+=(cloud-init)
  command -v openssl >/dev/null || missing+=(openssl)
  # The node sandbox: debootstrap builds its root; ip(8) to look into namespaces (the sandbox
  # itself runs the root's own ip, from the iproute2 the recipe includes).
  command -v debootstrap >/dev/null || [[ -x /usr/sbin/debootstrap ]] || missing+=(debootstrap)
  command -v ip >/dev/null || [[ -x /usr/sbin/ip ]] || missing+=(iproute2)
  # go test -race needs cgo: a C compiler and the C library's headers.
  command -v gcc >/dev/null || missing+=(gcc)
  [[ -f /usr/include/stdio.h ]] || missing+=(libc6-dev)
  # The tests against a real API server run Debian's etcd under it.
  [[ -x /usr/bin/etcd ]] || missing+=(etcd-server)
  ((${#missing[@]})) || return 0
  log "apt-get install ${missing[*]}"
  local sudo=
  [[ $(id -u) == 0 ]] || sudo=sudo
  quiet $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive quiet $sudo apt-get install -y --no-install-recommends "${missing[@]}"
}

# debian_mirror prints the Debian archive this machine's apt uses (deb822 .sources or one-line
# .list entries; the first URI ending in /debian), or deb.debian.org. EC2K8S_DEBIAN_MIRROR wins.
debian_mirror() {
  if [[ -n ${EC2K8S_DEBIAN_MIRROR:-} ]]; then
    echo "$EC2K8S_DEBIAN_MIRROR"
    return
  fi
  local f uri
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    uri=$(awk '
      /^[[:space:]]*#/ { next }
      $1 == "URIs:" { for (i = 2; i <= NF; i++) print $i; next }
      $1 == "deb" { for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /\]$/ && $i !~ /=/) { print $i; break } }
    ' "$f" | grep -E '^https?://.*/debian/?$' | head -1 || true)
    if [[ -n $uri ]]; then
      echo "${uri%/}"
      return
    fi
  done
  echo http://deb.debian.org/debian
}

# install_sandbox builds the root of the node sandbox (internal/nodesandbox): a minimal Debian
# trixie with cloud-init, whose cloud-init uses only the NoCloud seed, configures no network and
# no locale, and needs no network of its own. It is built as root (debootstrap) into
# $SANDBOX_ROOT.tmp and renamed, and never changed afterwards: each boot overlays it.
install_sandbox() {
  [[ -x $SANDBOX_ROOT/usr/bin/cloud-init ]] && return 0
  local sudo=
  [[ $(id -u) == 0 ]] || sudo=sudo
  command -v debootstrap >/dev/null || [[ -x /usr/sbin/debootstrap ]] || install_apt
  local mirror tmp=$SANDBOX_ROOT.tmp
  mirror=$(debian_mirror)
  log "building the node sandbox root (debootstrap trixie from $mirror)"
  # An interrupted debootstrap leaves /proc and /sys mounted in the root it was building:
  # unmount them before removing it (and never let rm cross into another file system).
  local m
  awk -v d="$tmp/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do
    $sudo umount -l "$m" || true
  done
  $sudo rm -rf --one-file-system "$tmp"
  # debootstrap needs /usr/sbin on PATH (chroot, mknod), which non-login root shells may lack.
  # iproute2: a real node has ip(8); without it cloud-init warns that it cannot print the
  # network, and the sandbox uses it to bring up its loopback addresses.
  PATH=$PATH:/usr/sbin:/sbin quiet $sudo debootstrap --variant=minbase \
    --include=cloud-init,curl,ca-certificates,python3-cffi-backend,iproute2 trixie "$tmp" "$mirror"
  # Nothing of this machine stays in the root; the package cache is not needed.
  $sudo rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/* "$tmp/var/log/bootstrap.log"
  echo localhost | $sudo tee "$tmp/etc/hostname" >/dev/null
  printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' | $sudo tee "$tmp/etc/hosts" >/dev/null
  $sudo rm -f "$tmp/etc/resolv.conf" && $sudo touch "$tmp/etc/resolv.conf"
  $sudo tee "$tmp/etc/cloud/cloud.cfg.d/90_ec2k8s_sandbox.cfg" >/dev/null <<'CFG'
# ec2k8s node sandbox (tools/tools.sh): the user data comes from the NoCloud seed that
# internal/nodesandbox writes; no other datasource is tried, and no None fallback hides a
# missing seed. The sandbox has no network but its own loopback stubs: cloud-init configures
# no network and no locale, and nothing here needs an archive (payloads cannot use packages:).
datasource_list: [NoCloud]
network:
  config: disabled
locale: false
# The sandbox's / is an overlay on no block device: there is nothing to grow, and resizefs
# would warn (a recoverable error) where a real node's would succeed.
resize_rootfs: false
# The root has no OpenSSH: no host keys to generate (each would be a recoverable error).
ssh_genkeytypes: []
CFG
  $sudo rm -rf --one-file-system "$SANDBOX_ROOT" && $sudo mv "$tmp" "$SANDBOX_ROOT"
}

install() {
  case $1 in
  terraform) install_terraform ;;
  opentofu) install_tofu ;;
  moto) install_moto ;;
  tfplugindocs) go_tool "$TFPLUGINDOCS_DIR" "github.com/hashicorp/terraform-plugin-docs/cmd/tfplugindocs@v$TFPLUGINDOCS_VERSION" tfplugindocs ;;
  golangci-lint) go_tool "$GOLANGCI_DIR" "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v$GOLANGCI_LINT_VERSION" golangci-lint ;;
  goreleaser) go_tool "$GORELEASER_DIR" "github.com/goreleaser/goreleaser/v2@v$GORELEASER_VERSION" goreleaser ;;
  apt) install_apt ;;
  sandbox) install_sandbox ;;
  kubernetes) install_kubernetes ;;
  *) echo "tools.sh: unknown tool $1" >&2; exit 2 ;;
  esac
}

main() {
  if [[ ${1:-} == env ]]; then
    print_env
    return
  fi
  mkdir -p "$CACHE"
  local tools=("$@")
  ((${#tools[@]})) || tools=(moto terraform opentofu tfplugindocs golangci-lint goreleaser apt sandbox kubernetes)
  for t in "${tools[@]}"; do install "$t"; done
}
main "$@"
