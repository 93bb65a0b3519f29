package main

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestScaleCurve runs the scale curve on a tiny world: the fakes and the
// syncs are child processes (this test binary as healthsync, see
// TestMain). The full sync pulls from both connectors and writes; the
// echo and idle ones after it write nothing (with no settle wait both
// re-read the accounts written); each child's peak RSS is read.
func TestScaleCurve(t *testing.T) {
	o, log := childScaleOptions(t, 20)
	phases, err := runScaleCurve(context.Background(), o)
	if err != nil {
		t.Fatalf("%v\nprogress:\n%s", err, log.String())
	}
	type shape struct {
		Accounts      int
		Phase         string
		Wrote, Peaked bool
		Pulled        []string
	}
	var got []shape
	for _, p := range phases {
		var pulled []string
		for _, c := range []string{"salesforce", "stripe"} {
			if p.Calls[c] > 0 {
				pulled = append(pulled, c)
			}
		}
		got = append(got, shape{p.Accounts, p.Phase, p.Calls["write"] > 0, p.PeakKB > 1024, pulled})
		if p.Took <= 0 || p.Err != "" {
			t.Errorf("%s sync took %v, error %q", p.Phase, p.Took, p.Err)
		}
	}
	want := []shape{
		{20, "full", true, true, []string{"salesforce", "stripe"}},
		{20, "echo", false, true, []string{"salesforce", "stripe"}},
		{20, "idle", false, true, []string{"salesforce", "stripe"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("phases %+v, want %+v\nprogress:\n%s", got, want, log.String())
	}
	var table strings.Builder
	printScaleCurve(&table, phases)
	if lines := strings.Split(strings.TrimSpace(table.String()), "\n"); len(lines) != 4 || !strings.HasPrefix(lines[1], "20  ") ||
		!strings.HasSuffix(strings.TrimSpace(lines[2]), "MiB") {
		t.Errorf("table:\n%s", table.String())
	}
}

// childScaleOptions are the options of a scale curve of one world of n
// accounts whose children are this test binary (as healthsync, see
// TestMain), with the progress written to log.
func childScaleOptions(t *testing.T, n int) (scaleOptions, *strings.Builder) {
	t.Helper()
	if testing.Short() {
		t.Skip("runs healthsync as child processes")
	}
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	log := &strings.Builder{}
	return scaleOptions{Accounts: []int{n}, Seed: 2, Dir: t.TempDir(), Bin: bin, Limit: time.Minute, Log: log}, log
}

// TestScaleCurveMemLimit: --gomemlimit reaches the sync children (a
// malformed limit makes the Go runtime refuse to start them) and not the
// fakes (which start, so the run gets as far as the first sync).
func TestScaleCurveMemLimit(t *testing.T) {
	o, log := childScaleOptions(t, 10)
	o.MemLimit = "not-a-limit"
	phases, _ := runScaleCurve(context.Background(), o)
	if len(phases) == 0 || phases[0].Phase != "full" || phases[0].Err == "" {
		t.Fatalf("phases %+v, want the full sync refused\nprogress:\n%s", phases, log.String())
	}
	b, err := os.ReadFile(filepath.Join(o.Dir, "10", "full.log"))
	if err != nil || !strings.Contains(string(b), "GOMEMLIMIT") {
		t.Fatalf("full sync's log (%v):\n%s\nwant the runtime refusing the malformed GOMEMLIMIT", err, b)
	}
}

// TestScaleCurveFlags: bad sizes are usage errors, found before anything
// starts.
func TestScaleCurveFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantOut string
	}{
		{"not a number", []string{"scalecurve", "--accounts", "1000,lots"}, `--accounts: comma-separated counts of at least 10, got "lots"`},
		{"too small", []string{"scalecurve", "--accounts", "5"}, `--accounts: comma-separated counts of at least 10, got "5"`},
		{"fakes too small", []string{"fakes", "--accounts", "3"}, "--accounts: at least 10; --subs: at least 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb strings.Builder
			code := run(context.Background(), tc.args, &out, &errb)
			if code != exitUsage || !strings.Contains(errb.String(), tc.wantOut) {
				t.Errorf("exit %d, stderr %q; want exit %d with %q", code, errb.String(), exitUsage, tc.wantOut)
			}
		})
	}
}

// TestScaleCurveMaxRSS: a sync child whose resident set passes the limit
// is stopped, and the phase reports the size it reached.
func TestScaleCurveMaxRSS(t *testing.T) {
	if testing.Short() {
		t.Skip("runs healthsync as child processes")
	}
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	o := scaleOptions{Accounts: []int{20}, Seed: 2, Dir: t.TempDir(), Bin: bin, Limit: time.Minute, MaxRSS: 1 << 20, Log: &log}
	phases, err := runScaleCurve(context.Background(), o)
	if err == nil || len(phases) != 1 {
		t.Fatalf("error %v, %d phases; want the full sync stopped", err, len(phases))
	}
	if p := phases[0]; p.Phase != "full" || !strings.HasPrefix(p.Err, "stopped at ") || !strings.HasSuffix(p.Err, " MiB resident, over the 1 MiB limit") {
		t.Errorf("phase %s error %q", p.Phase, p.Err)
	}
}
