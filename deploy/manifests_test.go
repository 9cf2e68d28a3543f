package deploy

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aroundme/aroundme/pkg/auth"
	"github.com/aroundme/aroundme/pkg/config"
	"gopkg.in/yaml.v3"
)

// These tests are offline consistency checks of the deploy files against each
// other and against the server's own parsers. They are not a validation
// against the Kubernetes OpenAPI schemas (no schemas are available offline):
// a misspelled field that no check looks at would pass.

type obj = map[string]any

// manifests reads every Kubernetes object under kubernetes/ except the
// kustomization, keyed by kind.
func manifests(t *testing.T) map[string]obj {
	t.Helper()
	files, err := filepath.Glob("kubernetes/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	byKind := map[string]obj{}
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var o obj
			if err := dec.Decode(&o); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if o == nil {
				continue
			}
			kind := str(o, "kind")
			for _, k := range []string{"apiVersion", "kind", "metadata.name", "metadata.labels"} {
				if get(o, k) == nil {
					t.Errorf("%s: %s has no %s", f, kind, k)
				}
			}
			if _, dup := byKind[kind]; dup {
				t.Errorf("%s: a second %s (the checks assume one of each kind)", f, kind)
			}
			byKind[kind] = o
		}
	}
	return byKind
}

// get walks a dotted path; a numeric element indexes a list.
func get(o any, path string) any {
	cur := o
	for _, p := range strings.Split(path, ".") {
		switch c := cur.(type) {
		case obj:
			cur = c[p]
		case []any:
			i, err := strconv.Atoi(p)
			if err != nil || i >= len(c) {
				return nil
			}
			cur = c[i]
		default:
			return nil
		}
	}
	return cur
}

func str(o any, path string) string {
	v := get(o, path)
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func list(o any, path string) []any {
	l, _ := get(o, path).([]any)
	return l
}

func named(l []any, name string) obj {
	for _, e := range l {
		if m, ok := e.(obj); ok && m["name"] == name {
			return m
		}
	}
	return nil
}

// subset reports whether every label of sel is in labels.
func subset(sel, labels any) bool {
	s, _ := sel.(obj)
	l, _ := labels.(obj)
	if len(s) == 0 {
		return false
	}
	for k, v := range s {
		if l[k] != v {
			return false
		}
	}
	return true
}

func TestKustomizationListsEveryManifest(t *testing.T) {
	data, err := os.ReadFile("kubernetes/kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		Resources []string `yaml:"resources"`
		Images    []struct {
			Name    string `yaml:"name"`
			NewName string `yaml:"newName"`
			NewTag  string `yaml:"newTag"`
		} `yaml:"images"`
	}
	if err := yaml.Unmarshal(data, &k); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("kubernetes/*.yaml")
	var want []string
	for _, f := range files {
		if b := filepath.Base(f); b != "kustomization.yaml" {
			want = append(want, b)
		}
	}
	got := slices.Clone(k.Resources)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("kustomization resources %v, files %v", got, want)
	}
	if len(k.Images) != 1 || k.Images[0].Name != "aroundme" || !pinned(k.Images[0].NewTag) {
		t.Errorf("kustomization images %+v: want one entry for aroundme with a pinned newTag", k.Images)
	}
}

func TestManifestsKindsAndSelectors(t *testing.T) {
	m := manifests(t)
	for _, kind := range []string{"Deployment", "Service", "PersistentVolumeClaim", "ConfigMap", "Secret", "PodDisruptionBudget", "ServiceMonitor"} {
		if m[kind] == nil {
			t.Fatalf("no %s under kubernetes/", kind)
		}
	}
	d := m["Deployment"]
	podLabels := get(d, "spec.template.metadata.labels")
	if !subset(get(d, "spec.selector.matchLabels"), podLabels) {
		t.Error("Deployment selector does not match its pod template labels")
	}
	if !subset(get(m["Service"], "spec.selector"), podLabels) {
		t.Error("Service selector does not match the pods")
	}
	if !subset(get(m["PodDisruptionBudget"], "spec.selector.matchLabels"), podLabels) {
		t.Error("PodDisruptionBudget selector does not match the pods")
	}
	if !subset(get(m["ServiceMonitor"], "spec.selector.matchLabels"), get(m["Service"], "metadata.labels")) {
		t.Error("ServiceMonitor selector does not match the Service's labels")
	}
	if str(d, "spec.replicas") != "1" || str(d, "spec.strategy.type") != "Recreate" {
		t.Error("Deployment: the embedded store is single-writer: want replicas 1 and strategy Recreate")
	}
	pdb := m["PodDisruptionBudget"]
	if str(pdb, "spec.maxUnavailable") != "1" && str(pdb, "spec.minAvailable") != "0" {
		t.Error("PodDisruptionBudget: with one replica, anything but maxUnavailable 1 / minAvailable 0 blocks node drains")
	}
	if pvc := m["PersistentVolumeClaim"]; !slices.Contains(list(pvc, "spec.accessModes"), any("ReadWriteOnce")) {
		t.Error("PVC: want ReadWriteOnce")
	}
	// Every volume the pod mounts exists and points at an object here.
	spec := get(d, "spec.template.spec")
	for _, v := range list(spec, "volumes") {
		name := str(v, "name")
		if ref := str(v, "persistentVolumeClaim.claimName"); ref != "" && ref != str(m["PersistentVolumeClaim"], "metadata.name") {
			t.Errorf("volume %s: claim %q is not the PVC here", name, ref)
		}
		if ref := str(v, "configMap.name"); ref != "" && ref != str(m["ConfigMap"], "metadata.name") {
			t.Errorf("volume %s: ConfigMap %q is not the one here", name, ref)
		}
		if ref := str(v, "secret.secretName"); ref != "" && ref != str(m["Secret"], "metadata.name") {
			t.Errorf("volume %s: Secret %q is not the one here", name, ref)
		}
	}
	c := get(spec, "containers.0")
	for _, vm := range list(c, "volumeMounts") {
		if named(list(spec, "volumes"), str(vm, "name")) == nil {
			t.Errorf("volumeMount %s has no volume", str(vm, "name"))
		}
	}
}

func TestPortsAndProbesAgree(t *testing.T) {
	m := manifests(t)
	c := get(m["Deployment"], "spec.template.spec.containers.0")
	ports := list(c, "ports")
	grpcPort, metricsPort := named(ports, "grpc"), named(ports, "metrics")
	if grpcPort == nil || metricsPort == nil {
		t.Fatalf("container ports %v: want ports named grpc and metrics", ports)
	}
	if str(grpcPort, "containerPort") != "50051" || str(metricsPort, "containerPort") != "9102" {
		t.Errorf("container ports %v: want grpc 50051, metrics 9102 (the image's entrypoint)", ports)
	}
	for _, p := range []string{"startupProbe", "readinessProbe"} {
		if got := str(c, p+".grpc.port"); got != str(grpcPort, "containerPort") {
			t.Errorf("%s: want a native grpc probe on port %v, got grpc.port %q", p, grpcPort["containerPort"], got)
		}
	}
	if str(c, "livenessProbe.httpGet.path") != "/healthz" || str(c, "livenessProbe.httpGet.port") != "metrics" {
		t.Errorf("livenessProbe: want httpGet /healthz on port metrics, got %v", get(c, "livenessProbe"))
	}
	// The startup budget must cover a 1M-item load (~5-10 s) many times over.
	budget := atoi(t, str(c, "startupProbe.periodSeconds")) * atoi(t, str(c, "startupProbe.failureThreshold"))
	if budget < 120 {
		t.Errorf("startupProbe allows %ds before a restart: want at least 120s", budget)
	}

	svcPorts := list(m["Service"], "spec.ports")
	sg, sm := named(svcPorts, "grpc"), named(svcPorts, "metrics")
	if sg == nil || sm == nil {
		t.Fatalf("Service ports %v: want grpc and metrics", svcPorts)
	}
	if sg["targetPort"] != "grpc" || sm["targetPort"] != "metrics" {
		t.Errorf("Service targetPorts should be the container port names: %v", svcPorts)
	}
	if sg["appProtocol"] != "grpc" {
		t.Errorf("Service grpc port: want appProtocol grpc, got %v", sg["appProtocol"])
	}
	ep := get(m["ServiceMonitor"], "spec.endpoints.0")
	if named(svcPorts, str(ep, "port")) == nil || str(ep, "path") != "/metrics" {
		t.Errorf("ServiceMonitor endpoint %v: want a Service port name and path /metrics", ep)
	}
	if str(ep, "port") != "metrics" {
		t.Errorf("ServiceMonitor scrapes port %q, want metrics", str(ep, "port"))
	}

	// The image agrees: EXPOSE, entrypoint listeners and data dir.
	df := readFile(t, "Dockerfile")
	if !regexp.MustCompile(`(?m)^EXPOSE 50051 9102$`).MatchString(df) {
		t.Error("Dockerfile: want EXPOSE 50051 9102")
	}
	for _, want := range []string{`"--grpc-addr", "0.0.0.0:50051"`, `"--metrics-addr", "0.0.0.0:9102"`, `"--data-dir", "/data"`, `127.0.0.1:9102/readyz`} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile: want %s", want)
		}
	}
	if named(list(c, "volumeMounts"), "data") == nil || str(named(list(c, "volumeMounts"), "data"), "mountPath") != "/data" {
		t.Error("the data volume must be mounted at /data, the image's --data-dir")
	}
	// Prometheus (compose) scrapes the metrics port.
	if !strings.Contains(readFile(t, "prometheus/prometheus.yml"), `"aroundme:9102"`) {
		t.Error("prometheus.yml: want the target aroundme:9102")
	}
}

func TestSecurityAndImages(t *testing.T) {
	m := manifests(t)
	pod := get(m["Deployment"], "spec.template.spec")
	if get(pod, "securityContext.runAsNonRoot") != true || atoi(t, str(pod, "securityContext.runAsUser")) == 0 {
		t.Error("pod securityContext: want runAsNonRoot and a non-zero runAsUser")
	}
	if get(pod, "enableServiceLinks") != false {
		t.Error("enableServiceLinks must be false: service links inject AROUNDME_* variables, the server's own env prefix")
	}
	c := get(pod, "containers.0")
	sc := get(c, "securityContext")
	if get(sc, "readOnlyRootFilesystem") != true || get(sc, "allowPrivilegeEscalation") != false {
		t.Error("container securityContext: want readOnlyRootFilesystem true, allowPrivilegeEscalation false")
	}
	if !slices.Equal(list(sc, "capabilities.drop"), []any{"ALL"}) {
		t.Errorf("container capabilities.drop = %v, want [ALL]", get(sc, "capabilities.drop"))
	}
	if img := str(c, "image"); !pinned(tagOf(img)) {
		t.Errorf("Deployment image %q: want a pinned tag", img)
	}
	df := readFile(t, "Dockerfile")
	if u := regexp.MustCompile(`(?m)^USER (\d+)`).FindStringSubmatch(df); u == nil || u[1] == "0" {
		t.Error("Dockerfile: want a numeric non-root USER (runAsNonRoot can only verify numbers)")
	} else if u[1] != str(pod, "securityContext.runAsUser") {
		t.Errorf("Dockerfile USER %s differs from the pod's runAsUser %s", u[1], str(pod, "securityContext.runAsUser"))
	}
	for _, a := range regexp.MustCompile(`(?m)^ARG \w+_IMAGE=(\S+)`).FindAllStringSubmatch(df, -1) {
		if !pinned(tagOf(a[1])) {
			t.Errorf("Dockerfile base image %s: want a pinned tag", a[1])
		}
	}
	for _, im := range regexp.MustCompile(`(?m)^\s+image: (\S+)`).FindAllStringSubmatch(readFile(t, "docker-compose.yaml"), -1) {
		if !pinned(tagOf(im[1])) {
			t.Errorf("docker-compose image %s: want a pinned tag", im[1])
		}
	}
}

// TestConfigMapIsAValidConfig loads the ConfigMap's config file with the
// server's own parser and checks its keys against `aroundme serve --help`.
func TestConfigMapIsAValidConfig(t *testing.T) {
	m := manifests(t)
	cfgText, _ := get(m["ConfigMap"], "data").(obj)["config.yaml"].(string)
	if cfgText == "" {
		t.Fatal("ConfigMap has no data config.yaml")
	}
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(cfgText), 0o600); err != nil {
		t.Fatal(err)
	}
	noEnv := func(string) string { return "" }
	cfg, err := config.Load([]string{"--config", path}, noEnv, io.Discard)
	if err != nil {
		t.Fatalf("the server rejects the ConfigMap's config.yaml:\n%v", err)
	}

	flags := flagNames(t)
	var keys map[string]any
	if err := yaml.Unmarshal([]byte(cfgText), &keys); err != nil {
		t.Fatal(err)
	}
	for k := range keys {
		if !flags[k] {
			t.Errorf("config key %q is not a flag of aroundme serve", k)
		}
		if k == "grpc-addr" || k == "metrics-addr" || k == "data-dir" {
			t.Errorf("config key %q is set by the image's entrypoint flags, which beat the file: remove it", k)
		}
	}

	// The pod passes the file, mounts the keys where the file says, and waits
	// longer than the shutdown grace before SIGKILL.
	pod := get(m["Deployment"], "spec.template.spec")
	c := get(pod, "containers.0")
	args := fmt.Sprint(get(c, "args"))
	cfgMount := named(list(c, "volumeMounts"), "config")
	if !strings.Contains(args, "--config "+str(cfgMount, "mountPath")) {
		t.Errorf("container args %s do not pass --config %s", args, str(cfgMount, "mountPath"))
	}
	keysMount := str(named(list(c, "volumeMounts"), "keys"), "mountPath")
	if filepath.Dir(cfg.KeysFile) != keysMount {
		t.Errorf("keys-file %s is not in the keys Secret's mount %s", cfg.KeysFile, keysMount)
	}
	if _, ok := get(m["Secret"], "stringData").(obj)[filepath.Base(cfg.KeysFile)]; !ok {
		t.Errorf("the Secret has no key %s", filepath.Base(cfg.KeysFile))
	}
	grace := time.Duration(atoi(t, str(pod, "terminationGracePeriodSeconds"))) * time.Second
	if grace < cfg.GRPC.ShutdownGrace+10*time.Second {
		t.Errorf("terminationGracePeriodSeconds %v: want at least shutdown-grace %v + 10s", grace, cfg.GRPC.ShutdownGrace)
	}
}

// flagNames are the flags of `aroundme serve`, from its --help.
func flagNames(t *testing.T) map[string]bool {
	var usage bytes.Buffer
	_, err := config.Load([]string{"--help"}, func(string) string { return "" }, &usage)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("config.Load --help: %v", err)
	}
	names := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+-([a-z0-9-]+)`).FindAllStringSubmatch(usage.String(), -1) {
		names[m[1]] = true
	}
	for _, must := range []string{"grpc-addr", "keys-file", "shutdown-grace"} {
		if !names[must] {
			t.Fatalf("could not read the flags from the usage (no %s):\n%s", must, usage.String())
		}
	}
	return names
}

func TestSecretIsAValidKeysFile(t *testing.T) {
	m := manifests(t)
	for name, v := range get(m["Secret"], "stringData").(obj) {
		if _, err := auth.ParseKeys([]byte(fmt.Sprint(v))); err != nil {
			t.Errorf("Secret %s is not a keys file the server accepts: %v", name, err)
		}
	}
	if get(m["Secret"], "data") != nil {
		t.Error("Secret: use stringData (readable hashes), not data")
	}
}

func TestResourcesFitTheMeasuredFootprint(t *testing.T) {
	c := get(manifests(t)["Deployment"], "spec.template.spec.containers.0")
	limit := quantity(t, str(c, "resources.limits.memory"))
	request := quantity(t, str(c, "resources.requests.memory"))
	// README: 1.08 GB RSS after loading 1M items, 2.2 GB under sustained load.
	if request < 2.2e9 || limit < request {
		t.Errorf("memory request %v / limit %v: want request >= 2.2 GB (README) and limit >= request", request, limit)
	}
	var gomem float64
	for _, e := range list(c, "env") {
		if str(e, "name") == "GOMEMLIMIT" {
			gomem = quantity(t, strings.TrimSuffix(str(e, "value"), "B"))
		}
	}
	if gomem == 0 || gomem >= limit || gomem < 0.8*limit {
		t.Errorf("GOMEMLIMIT %v: want 80-100%% of the memory limit %v", gomem, limit)
	}
}

// TestDockerfileCopiesEverySourceDir: the build stage copies Go directories
// one by one (there is no .dockerignore); every package the binaries depend
// on must be under one of them.
func TestDockerfileCopiesEverySourceDir(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-C", "..", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", "./cmd/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	df := readFile(t, "Dockerfile")
	const mod = "github.com/aroundme/aroundme/"
	seen := map[string]bool{}
	for _, p := range strings.Fields(string(out)) {
		if !strings.HasPrefix(p, mod) {
			continue
		}
		top := strings.SplitN(strings.TrimPrefix(p, mod), "/", 2)[0]
		if !seen[top] && !strings.Contains(df, "\nCOPY "+top+"/ "+top+"/\n") {
			t.Errorf("Dockerfile does not COPY %s/ (needed by %s)", top, p)
		}
		seen[top] = true
	}
}

// TestKustomizeBuild renders the kustomization when kubectl is installed
// (offline: it only renders, nothing is sent to a cluster).
func TestKustomizeBuild(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl not installed")
	}
	out, err := exec.Command(kubectl, "kustomize", "kubernetes").CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl kustomize: %v\n%s", err, out)
	}
	if n := len(regexp.MustCompile(`(?m)^kind: `).FindAll(out, -1)); n != 7 {
		t.Errorf("kustomize rendered %d objects, want 7:\n%s", n, out)
	}
	if !regexp.MustCompile(`image: \S+/aroundme:[0-9]`).Match(out) {
		t.Errorf("kustomize did not set the image name and tag:\n%s", out)
	}
}

func pinned(tag string) bool { return tag != "" && tag != "latest" }

func tagOf(image string) string {
	i := strings.LastIndex(image, ":")
	if i < 0 || strings.Contains(image[i:], "/") {
		return ""
	}
	return image[i+1:]
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%q: not an integer", s)
	}
	return n
}

// quantity parses the Kubernetes quantities used here (Mi, Gi, M, G, plain).
func quantity(t *testing.T, s string) float64 {
	t.Helper()
	mult := map[string]float64{"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "K": 1e3, "M": 1e6, "G": 1e9, "": 1}
	m := regexp.MustCompile(`^([0-9.]+)([KMG]i?)?$`).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("quantity %q: not understood", s)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v * mult[m[2]]
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
