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

// k8sDocs decodes every document of the Kubernetes example.
func k8sDocs(t *testing.T) map[string]map[string]any {
	t.Helper()
	b, err := os.ReadFile("../../deploy/kubernetes/healthsync.yaml")
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
			t.Fatalf("deploy/kubernetes/healthsync.yaml: %v", err)
		}
		out[doc["kind"].(string)] = doc
	}
	return out
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
	for _, kind := range []string{"PersistentVolumeClaim", "ConfigMap", "Deployment", "Service"} {
		if docs[kind] == nil {
			t.Fatalf("no %s", kind)
		}
	}
	dep := docs["Deployment"]
	c := dig(dep, "spec", "template", "spec", "containers", 0)
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
