#!/usr/bin/env bash
# tools.sh installs every tool the tests need, pinned, into a cache outside the repository
# ($EC2K8S_TOOLS, default $HOME/.cache/ec2k8s-tools/<tool>-<version>). It is idempotent:
# a tool whose binary is already cached is not touched, so a rerun takes seconds.
#
#   scripts/tools.sh           install everything
#   scripts/tools.sh env       print the export lines the Makefile and tests use
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
export EC2K8S_TERRAFORM=$TERRAFORM_DIR/bin/terraform
export EC2K8S_TOFU=$TOFU_DIR/bin/tofu
export EC2K8S_MOTO_SERVER=$MOTO_DIR/bin/moto_server
export EC2K8S_TFPLUGINDOCS=$TFPLUGINDOCS_DIR/bin/tfplugindocs
export EC2K8S_GOLANGCI_LINT=$GOLANGCI_DIR/bin/golangci-lint
export EC2K8S_GORELEASER=$GORELEASER_DIR/bin/goreleaser
ENV
}

# go_tool DIR MODULE@VERSION installs one Go command into DIR/bin unless it is already there.
go_tool() {
  local dir=$1 pkg=$2 bin=$3
  if [[ -x $dir/bin/$bin ]]; then return 0; fi
  log "building $pkg"
  mkdir -p "$dir.tmp/bin"
  GOBIN=$dir.tmp/bin GOFLAGS=-buildvcs=false go install "$pkg"
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
}

install_terraform() {
  go_tool "$TERRAFORM_DIR" "github.com/hashicorp/terraform@v$TERRAFORM_VERSION" terraform
}

# OpenTofu's go.mod carries a replace directive, which `go install mod@version` refuses, so it is
# built through a throw-away wrapper module that requires it and repeats that replace line.
install_tofu() {
  if [[ -x $TOFU_DIR/bin/tofu ]]; then return 0; fi
  log "building OpenTofu $OPENTOFU_VERSION (wrapper module)"
  local w
  w=$(mktemp -d)
  local gomod
  gomod=$(cd "$w" && go mod download -json "github.com/opentofu/opentofu@v$OPENTOFU_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
  {
    echo "module ec2k8s.local/tofuwrapper"
    grep -E '^go [0-9.]+$' "$gomod"
    echo "require github.com/opentofu/opentofu v$OPENTOFU_VERSION"
    grep -E '^replace ' "$gomod"
  } >"$w/go.mod"
  printf 'package tools\n\nimport _ "github.com/opentofu/opentofu/cmd/tofu"\n' >"$w/tools.go"
  (cd "$w" && GOFLAGS=-mod=mod go mod tidy >/dev/null 2>&1 && mkdir -p "$TOFU_DIR.tmp/bin" &&
    GOFLAGS=-buildvcs=false go build -o "$TOFU_DIR.tmp/bin/tofu" github.com/opentofu/opentofu/cmd/tofu)
  rm -rf "$w" "$TOFU_DIR" && mv "$TOFU_DIR.tmp" "$TOFU_DIR"
}

install_moto() {
  if [[ -x $MOTO_DIR/bin/moto_server ]]; then return 0; fi
  log "installing moto[server]==$MOTO_VERSION in a virtualenv"
  rm -rf "$MOTO_DIR.tmp"
  python3 -m venv "$MOTO_DIR.tmp"
  "$MOTO_DIR.tmp/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
  # A venv records its own path: rebuild it in place rather than moving it.
  rm -rf "$MOTO_DIR.tmp"
  python3 -m venv "$MOTO_DIR"
  "$MOTO_DIR/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
}

install_apt() {
  local missing=()
  command -v shellcheck >/dev/null || missing+=(shellcheck)
  command -v cloud-init >/dev/null || missing+=(cloud-init)
  command -v openssl >/dev/null || missing+=(openssl)
  ((${#missing[@]})) || return 0
  log "apt-get install ${missing[*]}"
  local sudo=
  [[ $(id -u) == 0 ]] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

main() {
  case "${1:-all}" in
  env) print_env ;;
  all)
    mkdir -p "$CACHE"
    install_moto
    install_terraform
    install_tofu
    go_tool "$TFPLUGINDOCS_DIR" "github.com/hashicorp/terraform-plugin-docs/cmd/tfplugindocs@v$TFPLUGINDOCS_VERSION" tfplugindocs
    go_tool "$GOLANGCI_DIR" "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v$GOLANGCI_LINT_VERSION" golangci-lint
    go_tool "$GORELEASER_DIR" "github.com/goreleaser/goreleaser/v2@v$GORELEASER_VERSION" goreleaser
    install_apt
    log "all tools present in $CACHE"
    ;;
  *) echo "usage: $0 [all|env]" >&2; exit 2 ;;
  esac
}
main "$@"
