package faultproxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestFaults: a dropped answer and a timeout reach the target (the work is
// done) and the client gets no answer; a reset never reaches it; other
// requests pass with the target's URL rewritten to the proxy's.
func TestFaults(t *testing.T) {
	var served atomic.Int64
	var target *httptest.Server
	target = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		io.WriteString(w, `{"instance_url":"`+target.URL+`"}`)
	}))
	defer target.Close()
	tests := []struct {
		name       string
		fault      Fault
		wantServed int64
	}{
		{"drop answer", DropAnswer, 1},
		{"timeout", Timeout, 1},
		{"reset", Reset, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			served.Store(0)
			p, err := New(Options{Target: target.URL, Hold: time.Second,
				Rules: []Rule{{Method: http.MethodPost, PathSuffix: "/create", Fault: tt.fault, Nth: []int{1}}}})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			client := &http.Client{Timeout: 200 * time.Millisecond}
			_, err = client.Post(p.URL+"/x/create", "application/json", strings.NewReader(`{}`))
			if err == nil {
				t.Fatal("the first matching request got an answer")
			}
			if served.Load() != tt.wantServed {
				t.Errorf("target served %d, want %d", served.Load(), tt.wantServed)
			}
			resp, err := client.Post(p.URL+"/x/create", "application/json", strings.NewReader(`{}`))
			if err != nil {
				t.Fatalf("second request: %v", err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if want := `{"instance_url":"` + p.URL + `"}`; string(b) != want {
				t.Errorf("body %s, want %s", b, want)
			}
			if got, want := p.Stats(), (Stats{Matched: []int{2}, Injected: []int{1}, Forwarded: int(tt.wantServed) + 1}); !equalStats(got, want) {
				t.Errorf("stats %+v, want %+v", got, want)
			}
		})
	}
}

// TestRateIsRepeatable: the same seed fails the same requests.
func TestRateIsRepeatable(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer target.Close()
	run := func() []bool {
		p, err := New(Options{Target: target.URL, Seed: 7, Rules: []Rule{{Fault: Reset, Rate: 0.3}}})
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		var out []bool
		for range 40 {
			resp, err := http.Get(p.URL + "/")
			if resp != nil {
				resp.Body.Close()
			}
			out = append(out, err != nil)
		}
		return out
	}
	a, b := run(), run()
	failed := 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("request %d: %v then %v with the same seed", i, a[i], b[i])
		}
		if a[i] {
			failed++
		}
	}
	if failed == 0 || failed == len(a) {
		t.Fatalf("%d of %d failed at rate 0.3", failed, len(a))
	}
}

func equalStats(a, b Stats) bool {
	return a.Forwarded == b.Forwarded && slices.Equal(a.Matched, b.Matched) && slices.Equal(a.Injected, b.Injected)
}
