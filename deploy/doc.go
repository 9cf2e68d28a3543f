// Package deploy holds how aroundme is shipped and operated: the container
// image (Dockerfile), Kubernetes manifests (kubernetes/), Prometheus scrape
// config, recording and alerting rules (prometheus/), the Grafana dashboard
// and its provisioning (grafana/) and a docker compose stack tying them
// together. See README.md.
//
// The package has no code, only tests: manifests_test.go checks the
// invariants between these files (labels and selectors, port names and
// numbers, probes, security settings, config keys that are real flags, a
// keys file the server accepts, pinned image tags), and metrics_test.go
// starts a real server and checks that every metric the rules and the
// dashboard query exists in its /metrics.
package deploy
