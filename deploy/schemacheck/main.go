// Command schemacheck validates Kubernetes manifests offline against the
// Kubernetes API types: every document is decoded, strictly (an unknown or
// misspelled field is an error), into the Go type of its apiVersion and
// kind — the same types the API server decodes into. It stands in for
// `kubectl apply --dry-run=client`, which needs a cluster to talk to.
//
// It is its own module so that the Kubernetes API modules stay out of the
// server's dependency graph. Usage: go run . FILE...
package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	yamlv3 "gopkg.in/yaml.v3"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

func main() {
	failed := false
	for _, path := range os.Args[1:] {
		n, err := checkFile(path)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
			failed = true
			continue
		}
		fmt.Printf("%s: %d document(s) valid\n", path, n)
	}
	if failed || len(os.Args) < 2 {
		os.Exit(1)
	}
}

// checkFile validates every YAML document of a file.
func checkFile(path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	dec := yamlv3.NewDecoder(bytes.NewReader(data))
	n := 0
	for {
		var doc yamlv3.Node
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			return n, nil
		} else if err != nil {
			return n, err
		}
		raw, err := yamlv3.Marshal(&doc)
		if err != nil {
			return n, err
		}
		if err := checkDoc(raw); err != nil {
			return n, fmt.Errorf("document %d: %w", n+1, err)
		}
		n++
	}
}

// checkDoc decodes one document strictly into the type of its kind.
func checkDoc(raw []byte) error {
	var meta struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(raw, &meta); err != nil {
		return err
	}
	var into any
	switch meta.APIVersion + " " + meta.Kind {
	case "apps/v1 Deployment":
		into = &appsv1.Deployment{}
	case "v1 Service":
		into = &corev1.Service{}
	case "v1 ConfigMap":
		into = &corev1.ConfigMap{}
	case "v1 Secret":
		into = &corev1.Secret{}
	case "v1 PersistentVolumeClaim":
		into = &corev1.PersistentVolumeClaim{}
	case "policy/v1 PodDisruptionBudget":
		into = &policyv1.PodDisruptionBudget{}
	case "monitoring.coreos.com/v1 ServiceMonitor":
		into = &monitoringv1.ServiceMonitor{}
	default:
		return fmt.Errorf("apiVersion %q kind %q: not a kind this check knows", meta.APIVersion, meta.Kind)
	}
	// The API server's decoder: field names match case-sensitively, and
	// unknown or duplicate fields are errors (encoding/json alone would
	// accept "targetport" for targetPort).
	js, err := yaml.YAMLToJSON(raw)
	if err != nil {
		return err
	}
	strict, err := kjson.UnmarshalStrict(js, into)
	if err != nil {
		return fmt.Errorf("%s %s: %w", meta.APIVersion, meta.Kind, err)
	}
	if len(strict) > 0 {
		return fmt.Errorf("%s %s: %w", meta.APIVersion, meta.Kind, errors.Join(strict...))
	}
	return nil
}
