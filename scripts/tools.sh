#!/usr/bin/env bash
# Pinned versions of the tools the build uses, installed with `go install`
# into ./bin (or $TOOLS_BIN). Sourced by scripts/gen.sh and .ci/run.
set -euo pipefail
BUF_VERSION=v1.75.0
PROTOC_GEN_GO_VERSION=v1.36.12
PROTOC_GEN_GO_GRPC_VERSION=v1.6.2

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS_BIN=${TOOLS_BIN:-$root/bin}
export PATH="$TOOLS_BIN:$PATH"

# install_tool NAME PACKAGE@VERSION: installs unless bin/NAME already is that version.
install_tool() {
  local name=$1 pkg=$2 stamp="$TOOLS_BIN/.$1.version"
  if [ -x "$TOOLS_BIN/$name" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$pkg" ]; then
    return
  fi
  echo "installing $pkg" >&2
  GOBIN="$TOOLS_BIN" go install "$pkg"
  echo "$pkg" >"$stamp"
}

install_tools() {
  mkdir -p "$TOOLS_BIN"
  install_tool buf github.com/bufbuild/buf/cmd/buf@$BUF_VERSION
  install_tool protoc-gen-go google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO_VERSION
  install_tool protoc-gen-go-grpc google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC_VERSION
}
