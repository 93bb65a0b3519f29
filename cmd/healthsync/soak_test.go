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
