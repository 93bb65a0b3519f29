package main

import (
	"context"
	"flag"
	"os"
	"strings"
	"testing"
	"time"
)

var soakLong = flag.Duration("soak", 0, "run the long soak test for this long of webhook load (e.g. 2m) instead of the short one")

// TestMain lets the test binary be the soak's daemon: with SoakChildEnv
// set it is `healthsync` (main) and never runs tests.
func TestMain(m *testing.M) {
	if os.Getenv(SoakChildEnv) == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// TestSoak runs the soak (soak.go) with the daemon as a child process: the
// short version in CI (about 40 accounts, 12 s of webhooks at 15 a second,
// 15% vendor faults, two kill -9 restarts), the long one with -soak D.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the daemon as a child process for a while")
	}
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	o := soakOptions{Duration: 12 * time.Second, Rate: 15, Accounts: 40, Seed: 3, Faults: 0.15, Dir: t.TempDir(), Bin: bin, Log: &log}
	if *soakLong > 0 {
		o.Duration, o.Rate, o.Accounts = *soakLong, 20, 150
	}
	r, err := runSoak(context.Background(), o)
	t.Logf("progress:\n%s", log.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("soak: %s", r.summary())
	if !r.ok() {
		t.Errorf("soak failed:\n%s", soakJSON(r))
	}
	var faults, reqs int
	for v, n := range r.Faults {
		faults, reqs = faults+n, reqs+r.Requests[v]
	}
	if share := float64(faults) / float64(reqs); share < 0.10 || share > 0.20 {
		t.Errorf("faults were %.1f%% of %d vendor requests, want 10-20%%", share*100, reqs)
	}
}

// TestSoakFlags: soak answers --help with its usage and refuses a fault
// share outside 0 to 0.5 as a usage error, before starting anything.
func TestSoakFlags(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
	}{
		{name: "help", args: []string{"soak", "--help"}, wantCode: 0,
			wantOut: "Usage: healthsync soak [--duration D] [--rate N] [--accounts N] [--seed S] [--faults F] [--dir DIR]"},
		{name: "faults too high", args: []string{"soak", "--faults", "0.9"}, wantCode: 2, wantOut: "--faults 0 to 0.5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb strings.Builder
			code := run(context.Background(), tc.args, &out, &errb)
			if code != tc.wantCode || !strings.Contains(out.String()+errb.String(), tc.wantOut) {
				t.Errorf("exit %d, output %q%q; want exit %d with %q", code, out.String(), errb.String(), tc.wantCode, tc.wantOut)
			}
		})
	}
}
