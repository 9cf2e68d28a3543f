#!/usr/bin/env bash
# Regenerates pkg/api/aroundme/v1 from proto/ with the pinned buf and plugins,
# after formatting and linting the protos. No Buf Schema Registry involved.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/tools.sh
install_tools
buf format -w
buf lint
rm -f pkg/api/aroundme/v1/*.pb.go
buf generate
