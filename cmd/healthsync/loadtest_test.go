package main

import (
	"bytes"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"testing"
)

// TestLoadtestComparesWithBareHandler runs a short `healthsync loadtest`
// and checks that one run prints the verified ingest rate, the bare
// handler's rate under the same senders and payloads, and their ratio,
// with no failed request in either phase.
func TestLoadtestComparesWithBareHandler(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo stack")
	}
	code, text, stderr := runCLI(t, "loadtest", "--duration", "300ms", "--changes", "1", "--accounts", "40", "--concurrency", "4")
	if code != 0 {
		t.Fatalf("loadtest exit %d\n%s\n%s", code, text, stderr)
	}
	re := regexp.MustCompile(`(?m)^stripe ingest \(4 senders, 300ms, fsync on, processing concurrently\): \d+ events acknowledged \(0 failed\), (\d+) events/s;.*\n` +
		`bare net/http handler \(4 senders, 300ms, reads the body, answers 200\): \d+ events acknowledged \(0 failed\), (\d+) events/s;.*\n` +
		`verified ingest is (\d+)% of the bare handler's rate \((\d+) / (\d+) events/s\)$`)
	m := re.FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("output lacks the ingest, bare handler and ratio lines:\n%s", text)
	}
	n := make([]float64, len(m))
	for i := 1; i < len(m); i++ {
		n[i], _ = strconv.ParseFloat(m[i], 64)
	}
	if n[1] == 0 || n[2] == 0 || n[4] != n[1] || n[5] != n[2] || math.Abs(n[3]-100*n[1]/n[2]) > 1 {
		t.Errorf("verified %v/s, bare %v/s, ratio %v%% (%v / %v): inconsistent", n[1], n[2], n[3], n[4], n[5])
	}
}

// TestBareHandler pins the bare handler: it reads the whole body and
// answers 200, and refuses a body over the receiver's 1 MiB limit.
func TestBareHandler(t *testing.T) {
	tests := []struct {
		size int
		want int
	}{
		{0, http.StatusOK},
		{300, http.StatusOK},
		{bareMaxBody, http.StatusOK},
		{bareMaxBody + 1, http.StatusRequestEntityTooLarge},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprint(tc.size), func(t *testing.T) {
			rec := httptest.NewRecorder()
			bareHandler(rec, httptest.NewRequest(http.MethodPost, "/webhooks/stripe", bytes.NewReader(make([]byte, tc.size))))
			if rec.Code != tc.want {
				t.Errorf("status %d, want %d", rec.Code, tc.want)
			}
		})
	}
}
