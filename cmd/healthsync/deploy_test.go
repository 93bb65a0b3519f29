package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/healthsync/healthsync/config"
)

// dockerfile returns the Dockerfile's instructions (continuations joined)
// of the final stage, keyed by instruction.
func dockerfile(t *testing.T) map[string][]string {
	t.Helper()
	b, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	text := regexp.MustCompile(`\\\n\s*`).ReplaceAllString(string(b), "")
	out := map[string][]string{}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		instr, rest, _ := strings.Cut(line, " ")
		instr = strings.ToUpper(instr)
		if instr == "FROM" {
			clear(out) // only the runtime stage matters, but keep the build's RUN lines below
		}
		out[instr] = append(out[instr], rest)
	}
	out["BUILD"] = []string{text}
	return out
}

// TestDockerfile: the image listens where it can be reached, serves metrics
// on 9090, writes /data as the non-root user, probes the port it serves and
// stamps commit and build date.
func TestDockerfile(t *testing.T) {
	d := dockerfile(t)
	env := strings.Join(d["ENV"], " ")
	for _, want := range []string{"HEALTHSYNC_LISTEN=0.0.0.0:8080", "HEALTHSYNC_METRICS_LISTEN=0.0.0.0:9090", "HEALTHSYNC_CONFIG=/etc/healthsync/healthsync.yaml"} {
		if !slices.Contains(strings.Fields(env), want) {
			t.Errorf("ENV lacks %s: %q", want, env)
		}
	}
	if got := strings.Fields(strings.Join(d["EXPOSE"], " ")); !slices.Equal(got, []string{"8080", "9090"}) {
		t.Errorf("EXPOSE %v, want 8080 9090", got)
	}
	if got := d["USER"]; !slices.Equal(got, []string{"nonroot:nonroot"}) {
		t.Errorf("USER %v", got)
	}
	if !slices.ContainsFunc(d["COPY"], func(s string) bool {
		return strings.HasPrefix(s, "--from=build --chown=65532:65532 ") && strings.HasSuffix(s, " /data")
	}) {
		t.Errorf("no COPY of /data owned by the nonroot user (65532): %q", d["COPY"])
	}
	if got := d["VOLUME"]; !slices.Equal(got, []string{`["/data"]`}) {
		t.Errorf("VOLUME %v", got)
	}
	hc := strings.Join(d["HEALTHCHECK"], " ")
	if !strings.HasSuffix(hc, `CMD ["/usr/local/bin/healthsync", "healthcheck"]`) {
		t.Errorf("HEALTHCHECK %q does not run healthsync healthcheck on its default address", hc)
	}
	// What that healthcheck probes inside the image: the port it listens on.
	if got, want := healthURL("0.0.0.0:8080"), "http://127.0.0.1:8080/healthz"; got != want {
		t.Errorf("healthcheck in the image probes %s, want %s", got, want)
	}
	build := d["BUILD"][0]
	for _, want := range []string{"-X main.version=${VERSION}", "-X main.commit=${COMMIT}", "-X main.date=${BUILD_DATE}"} {
		if !strings.Contains(build, want) {
			t.Errorf("the build does not set %s", want)
		}
	}
	ig, err := os.ReadFile("../../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{".git", "**/*.db", "**/node_modules"} {
		if !slices.Contains(strings.Split(string(ig), "\n"), want) {
			t.Errorf(".dockerignore lacks %s", want)
		}
	}
}

func TestHealthURL(t *testing.T) {
	tests := []struct{ listen, want string }{
		{"", "http://127.0.0.1:8080/healthz"},
		{"0.0.0.0:8080", "http://127.0.0.1:8080/healthz"},
		{":9000", "http://127.0.0.1:9000/healthz"},
		{"[::]:8081", "http://127.0.0.1:8081/healthz"},
		{"10.1.2.3:8080", "http://10.1.2.3:8080/healthz"},
	}
	for _, tt := range tests {
		if got := healthURL(tt.listen); got != tt.want {
			t.Errorf("healthURL(%q) = %q, want %q", tt.listen, got, tt.want)
		}
	}
}

// TestListenFromEnvironment: `run` listens on $HEALTHSYNC_LISTEN over the
// file's server.listen, and `healthcheck` with no flag probes it there.
func TestListenFromEnvironment(t *testing.T) {
	path, _ := offlineConfig(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	t.Setenv("HEALTHSYNC_LISTEN", net.JoinHostPort("0.0.0.0", strconv.Itoa(port)))
	if code, _, errs := runCLI(t, "healthcheck"); code != 1 || !strings.Contains(errs, "probing http://127.0.0.1:"+strconv.Itoa(port)+"/healthz") {
		t.Fatalf("healthcheck before the daemon runs: exit %d %s", code, errs)
	}
	ctx, cancel := context.WithCancel(context.Background())
	logs := &lockedBuffer{}
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"run", "--config", path}, logs, logs) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _, errs := runCLI(t, "healthcheck")
		if code == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("healthcheck never passed: %s\n%s", errs, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// k8sDocs decodes every document of a Kubernetes example in
// deploy/kubernetes (healthsync.yaml when name is empty), by kind.
func k8sDocs(t *testing.T, name ...string) map[string]map[string]any {
	t.Helper()
	file := "healthsync.yaml"
	if len(name) > 0 {
		file = name[0]
	}
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "kubernetes", file))
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	out := map[string]map[string]any{}
	for {
		var doc map[string]any
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("deploy/kubernetes/%s: %v", file, err)
		}
		out[doc["kind"].(string)] = doc
	}
	return out
}

// k8sDeployment checks that docs hold every one of kinds and returns the
// Deployment and its first container.
func k8sDeployment(t *testing.T, docs map[string]map[string]any, kinds ...string) (dep map[string]any, container any) {
	t.Helper()
	for _, kind := range kinds {
		if docs[kind] == nil {
			t.Fatalf("no %s", kind)
		}
	}
	dep = docs["Deployment"]
	return dep, dig(dep, "spec", "template", "spec", "containers", 0)
}

// dig follows keys (strings) and list indexes (ints) through decoded YAML.
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

// TestKubernetesExample: the manifests parse; one replica replaced (not
// rolled) so two pods never wait on one store; the store on the claim;
// probes on /healthz and /readyz; secrets from a Secret; the embedded
// config validates once the Secret's variables are set.
func TestKubernetesExample(t *testing.T) {
	docs := k8sDocs(t)
	dep, c := k8sDeployment(t, docs, "PersistentVolumeClaim", "ConfigMap", "Deployment", "Service")
	tests := []struct {
		name      string
		got, want any
	}{
		{"replicas", dig(dep, "spec", "replicas"), uint64(1)},
		{"strategy", dig(dep, "spec", "strategy", "type"), "Recreate"},
		{"liveness", dig(c, "livenessProbe", "httpGet", "path"), "/healthz"},
		{"readiness", dig(c, "readinessProbe", "httpGet", "path"), "/readyz"},
		{"secret", dig(c, "envFrom", 0, "secretRef", "name"), "healthsync-secrets"},
		{"claim", dig(dep, "spec", "template", "spec", "volumes", 0, "persistentVolumeClaim", "claimName"), dig(docs["PersistentVolumeClaim"], "metadata", "name")},
		{"data mount", dig(c, "volumeMounts", 0, "mountPath"), "/data"},
		{"http port", dig(c, "ports", 0, "containerPort"), uint64(8080)},
		{"metrics port", dig(c, "ports", 1, "containerPort"), uint64(9090)},
		{"fsGroup", dig(dep, "spec", "template", "spec", "securityContext", "fsGroup"), uint64(65532)},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: %v (%T), want %v (%T)", tt.name, tt.got, tt.got, tt.want, tt.want)
		}
	}
	text, _ := dig(docs["ConfigMap"], "data", "healthsync.yaml").(string)
	cfg, err := config.Parse("configmap.yaml", []byte(text), func(name string) (string, bool) {
		return "operator-" + strings.ToLower(name) + "-0123456789", true
	})
	if err != nil {
		t.Fatalf("the ConfigMap's config: %v", err)
	}
	if cfg.Store.Path != "/data/healthsync.db" || len(cfg.Warnings) != 0 {
		t.Errorf("store %s, warnings %v", cfg.Store.Path, cfg.Warnings)
	}
}

// TestKubernetesPostgresExample: the PostgreSQL manifests parse; three
// replicas rolled one at a time with none unavailable and a disruption
// budget below the replica count; no volume claim (the store is the
// database); probes on /healthz and /readyz; the DSN from its own Secret
// and the database's CA mounted where the DSN's sslrootcert points; the
// embedded config validates as a postgres store once the variables are
// set, and every variable it references is one the header's `kubectl
// create secret` commands provide.
func TestKubernetesPostgresExample(t *testing.T) {
	const file = "healthsync-postgres.yaml"
	docs := k8sDocs(t, file)
	dep, c := k8sDeployment(t, docs, "ConfigMap", "Deployment", "PodDisruptionBudget", "Service")
	tests := []struct {
		name      string
		got, want any
	}{
		{"volume claim", docs["PersistentVolumeClaim"] == nil, true},
		{"replicas", dig(dep, "spec", "replicas"), uint64(3)},
		{"strategy", dig(dep, "spec", "strategy", "type"), "RollingUpdate"},
		{"max unavailable", dig(dep, "spec", "strategy", "rollingUpdate", "maxUnavailable"), uint64(0)},
		{"disruption budget", dig(docs["PodDisruptionBudget"], "spec", "minAvailable"), uint64(2)},
		{"liveness", dig(c, "livenessProbe", "httpGet", "path"), "/healthz"},
		{"readiness", dig(c, "readinessProbe", "httpGet", "path"), "/readyz"},
		{"dsn variable", dig(c, "env", 0, "name"), "HEALTHSYNC_DATABASE_URL"},
		{"dsn secret", dig(c, "env", 0, "valueFrom", "secretKeyRef", "name"), "healthsync-database"},
		{"secrets", dig(c, "envFrom", 0, "secretRef", "name"), "healthsync-secrets"},
		{"ca mount", dig(c, "volumeMounts", 1, "mountPath"), "/etc/healthsync-db"},
		{"ca volume", dig(dep, "spec", "template", "spec", "volumes", 1, "secret", "secretName"), "healthsync-database"},
		{"ca key", dig(dep, "spec", "template", "spec", "volumes", 1, "secret", "items", 0, "path"), "ca.crt"},
		{"http port", dig(c, "ports", 0, "containerPort"), uint64(8080)},
		{"metrics port", dig(c, "ports", 1, "containerPort"), uint64(9090)},
		{"service selector", dig(docs["Service"], "spec", "selector", "app.kubernetes.io/name"), "healthsync"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: %v (%T), want %v (%T)", tt.name, tt.got, tt.got, tt.want, tt.want)
		}
	}
	for i, v := range dig(dep, "spec", "template", "spec", "volumes").([]any) {
		if dig(v, "persistentVolumeClaim") != nil {
			t.Errorf("volume %d is a persistent volume claim: replicas share the database, not a disk", i)
		}
	}

	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "kubernetes", file))
	if err != nil {
		t.Fatal(err)
	}
	// The header's literals, quoted ones unquoted: the DSN's is the
	// example DSN the config gets.
	provided := map[string]string{}
	for _, m := range regexp.MustCompile(`--from-literal=([A-Z0-9_]+)=('[^']*'|\S+)`).FindAllStringSubmatch(string(b), -1) {
		provided[m[1]] = strings.Trim(m[2], "'")
	}
	dsn := provided["HEALTHSYNC_DATABASE_URL"]
	if !strings.Contains(dsn, "sslmode=verify-full&sslrootcert=/etc/healthsync-db/ca.crt") {
		t.Errorf("the example DSN %q does not verify the server against the mounted /etc/healthsync-db/ca.crt", dsn)
	}
	text, _ := dig(docs["ConfigMap"], "data", "healthsync.yaml").(string)
	var used []string
	cfg, err := config.Parse("configmap.yaml", []byte(text), func(name string) (string, bool) {
		used = append(used, name)
		if name == "HEALTHSYNC_DATABASE_URL" {
			return dsn, true
		}
		return "operator-" + strings.ToLower(name) + "-0123456789", true
	})
	if err != nil {
		t.Fatalf("the ConfigMap's config: %v", err)
	}
	for _, name := range used {
		if _, ok := provided[name]; !ok {
			t.Errorf("the config uses ${%s}, which no kubectl create secret in the header provides", name)
		}
	}
	got := []any{cfg.Store.Driver, cfg.Store.DSN.Reveal(), cfg.Store.Path, len(cfg.Warnings)}
	want := []any{config.DriverPostgres, dsn, "", 0}
	if !slices.Equal(got, want) {
		t.Errorf("store driver, dsn, path, warnings %v, want %v (warnings %v)", got, want, cfg.Warnings)
	}
}

// TestSystemdUnit: the unit runs the daemon on the config it validates
// first, keeps the store in its state directory and stops it by SIGTERM.
func TestSystemdUnit(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", "systemd", "healthsync.service"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			got[k] = v
		}
	}
	want := map[string]string{
		"ExecStart":       "/usr/local/bin/healthsync run --config /etc/healthsync/healthsync.yaml",
		"ExecStartPre":    "/usr/local/bin/healthsync config validate /etc/healthsync/healthsync.yaml",
		"StateDirectory":  "healthsync",
		"KillSignal":      "SIGTERM",
		"EnvironmentFile": "/etc/healthsync/env",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s=%q, want %q", k, got[k], v)
		}
	}
}
