package main

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/healthsync/healthsync/config"
)

var updateKinds = flag.Bool("update-kinds", false, "rewrite testdata/kinds/*.bad.yaml.errors")

// kindsEnv is the environment of testdata/kinds; every credential holds
// "31337" so a test can prove none reaches a message.
func kindsEnv(k string) (string, bool) {
	v, ok := map[string]string{"SF_SECRET": "sf-31337", "ZD_TOKEN": "zd-31337", "PG_URL": "postgres://r:pw31337@db/product"}[k]
	return v, ok
}

// TestSignalsKindsConfigFiles: the zendesk, sql and segment kinds, checked
// by their vendor packages through the wire table, report every problem
// at once with its FILE:LINE:COL (testdata/kinds/*.bad.yaml against their
// .errors golden files); the good file is valid and wires.
func TestSignalsKindsConfigFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/kinds/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := config.Parse(name, data, kindsEnv)
			if strings.HasSuffix(name, ".good.yaml") {
				if err != nil {
					t.Fatalf("want valid, got:\n%v", err)
				}
				if _, err := wire(cfg, zerolog.Nop()); err != nil {
					t.Fatalf("wire: %v", err)
				}
				return
			}
			var ce *config.Errors
			if !errors.As(err, &ce) {
				t.Fatalf("want *config.Errors, got %v", err)
			}
			got := err.Error() + "\n"
			if strings.Contains(got, "31337") {
				t.Errorf("a credential reached the messages:\n%s", got)
			}
			golden := f + ".errors"
			if *updateKinds {
				os.WriteFile(golden, []byte(got), 0o644)
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("problems:\n%s\nwant (%s):\n%s", got, golden, want)
			}
		})
	}
}

// TestExampleSignalsConnectorsValidate: the example's commented signals
// connectors, uncommented, are valid with the kinds registered.
func TestExampleSignalsConnectorsValidate(t *testing.T) {
	ex := string(config.Example())
	start := strings.Index(ex, "  # Signals sources:")
	end := strings.Index(ex, "\n# How billing customers")
	if start < 0 || end < start {
		t.Fatal("the example has no signals sources block")
	}
	block := regexp.MustCompile(`(?m)^(\s*)#~ `).ReplaceAllString(ex[start:end], "$1")
	doc := "connectors:\n  - {name: crm, kind: salesforce, login_url: https://acme.my.salesforce.com, auth: {client_id: c, client_secret: s}, schedule: \"@hourly\"}\n" + block
	// An operator's environment: every referenced variable set.
	env := func(name string) (string, bool) { return "operator-" + strings.ToLower(name) + "-4f9c2a7e81d3", true }
	cfg, err := config.Parse("example-signals.yaml", []byte(doc), env)
	if err != nil {
		t.Fatalf("example signals connectors:\n%v\n%s", err, doc)
	}
	var kinds []string
	for _, c := range cfg.Connectors {
		kinds = append(kinds, c.Kind)
	}
	if want := []string{"salesforce", "zendesk", "sql", "segment"}; !reflect.DeepEqual(kinds, want) {
		t.Fatalf("kinds = %v, want %v", kinds, want)
	}
}
