#!/usr/bin/env bash
# tools.sh installs the tools the tests need, pinned, into a cache outside the repository
# ($EC2K8S_TOOLS, default $HOME/.cache/ec2k8s-tools/<tool>-<version>). It is idempotent: a tool
# whose binary is cached is not touched, so a rerun takes a second.
#
#   tools/tools.sh [TOOL...]   install the named tools (default: all)
#   tools/tools.sh env         print the export lines the Makefile and tests use
#
# Tools: terraform opentofu moto tfplugindocs golangci-lint goreleaser apt.
set -euo pipefail

TERRAFORM_VERSION=1.5.7
OPENTOFU_VERSION=1.12.6
MOTO_VERSION=5.2.5
TFPLUGINDOCS_VERSION=0.25.0
GOLANGCI_LINT_VERSION=2.15.0
GORELEASER_VERSION=2.15.1

CACHE=${EC2K8S_TOOLS:-$HOME/.cache/ec2k8s-tools}
TERRAFORM_DIR=$CACHE/terraform-$TERRAFORM_VERSION
TOFU_DIR=$CACHE/opentofu-$OPENTOFU_VERSION
MOTO_DIR=$CACHE/moto-$MOTO_VERSION
TFPLUGINDOCS_DIR=$CACHE/tfplugindocs-$TFPLUGINDOCS_VERSION
GOLANGCI_DIR=$CACHE/golangci-lint-$GOLANGCI_LINT_VERSION
GORELEASER_DIR=$CACHE/goreleaser-$GORELEASER_VERSION

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
  # go test -race needs cgo: a C compiler and the C library's headers.
  command -v gcc >/dev/null || missing+=(gcc)
  [[ -f /usr/include/stdio.h ]] || missing+=(libc6-dev)
  ((${#missing[@]})) || return 0
  log "apt-get install ${missing[*]}"
  local sudo=
  [[ $(id -u) == 0 ]] || sudo=sudo
  quiet $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive quiet $sudo apt-get install -y --no-install-recommends "${missing[@]}"
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
  ((${#tools[@]})) || tools=(moto terraform opentofu tfplugindocs golangci-lint goreleaser apt)
  for t in "${tools[@]}"; do install "$t"; done
}
main "$@"
