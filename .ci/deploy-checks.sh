#!/usr/bin/env bash
# CI for deploy/: the Prometheus config and rules (promtool check + the rule
# unit tests) and the Go tests of deploy/ (manifest invariants, every queried
# metric exists in a real server's /metrics). promtool comes from Debian's
# prometheus package, installed here when missing (as root, or with sudo).
# Optional, when installed: `docker compose config` and `kubectl kustomize`
# (the latter inside the Go tests). The image itself is not built here.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
step() { echo; echo "== $* ($(($(date +%s) - start))s)"; }

step "promtool"
if ! command -v promtool >/dev/null 2>&1; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo -n"; fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
promtool --version | head -1

step "promtool check rules / config"
promtool check rules deploy/prometheus/rules.yaml
promtool check config deploy/prometheus/prometheus.yml

step "promtool test rules"
promtool test rules deploy/prometheus/rules_test.yaml

step "Kubernetes manifests against the API types (offline schema check)"
# The stand-in for `kubectl apply --dry-run=client`, which needs a cluster:
# every document decoded strictly into the Kubernetes (and Prometheus
# Operator) Go type of its kind; an unknown or misspelled field fails.
(cd deploy/schemacheck && go run . $(ls ../kubernetes/*.yaml | grep -v kustomization.yaml))

step "docker compose config"
if docker compose version >/dev/null 2>&1; then
  docker compose -f deploy/docker-compose.yaml config --quiet && echo "ok"
else
  echo "docker compose not installed: skipped"
fi

step "go test -race ./deploy/..."
go test -race -count=1 ./deploy/...

step "done"
