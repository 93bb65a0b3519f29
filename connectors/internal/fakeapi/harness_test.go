package fakeapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// fake is the smallest vendor: its error body is "STATUS CODE", a request
// served normally answers "ok" plus the Kind of a fault that let it
// through.
type fake struct {
	*Harness
	url string
}

func newFake(t *testing.T, cfg Config) *fake {
	t.Helper()
	cfg.WriteError = func(w http.ResponseWriter, r *http.Request, flt Fault) {
		w.WriteHeader(flt.Status)
		fmt.Fprintf(w, "%d %s", flt.Status, flt.Code)
	}
	f := &fake{Harness: New(cfg)}
	f.url = f.Start(f.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		flt, _ := FaultOf(r)
		fmt.Fprintf(w, "ok%s", flt.Kind)
	})))
	t.Cleanup(f.Close)
	return f
}

// answer is one response, reduced to what the tests compare.
type answer struct {
	Status int
	Body   string
}

func (f *fake) do(t *testing.T, ctx context.Context, method, path string) (answer, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, f.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, string(b)}, nil
}

type call struct{ Method, Path string }

func TestFaultsFireTimesThenStop(t *testing.T) {
	ok := answer{200, "ok"}
	tests := []struct {
		name   string
		match  PathMatch
		faults []Fault
		calls  []call
		want   []answer
	}{
		{
			name:   "status twice then served",
			faults: []Fault{{Path: "/v1/a", Times: 2, Status: 503, Code: "down"}},
			calls:  []call{{"GET", "/v1/a"}, {"GET", "/v1/a"}, {"GET", "/v1/a"}},
			want:   []answer{{503, "503 down"}, {503, "503 down"}, ok},
		},
		{
			name:   "times defaults to one",
			faults: []Fault{{Path: "/v1/a", Status: 500}},
			calls:  []call{{"GET", "/v1/a"}, {"GET", "/v1/a"}},
			want:   []answer{{500, "500 "}, ok},
		},
		{
			name:   "exact match skips other paths",
			faults: []Fault{{Path: "/v1/a", Status: 500}},
			calls:  []call{{"GET", "/v1/a/1"}, {"GET", "/v1/b"}, {"GET", "/v1/a"}},
			want:   []answer{ok, ok, {500, "500 "}},
		},
		{
			name:   "prefix match",
			match:  MatchPrefix,
			faults: []Fault{{Path: "/v1/a", Times: 2, Status: 500}},
			calls:  []call{{"GET", "/v1/a/1"}, {"GET", "/v1/b"}, {"GET", "/v1/a"}},
			want:   []answer{{500, "500 "}, ok, {500, "500 "}},
		},
		{
			name:   "contains match",
			match:  MatchContains,
			faults: []Fault{{Path: "/query", Status: 401}},
			calls:  []call{{"GET", "/data/v62.0/describe"}, {"GET", "/data/v62.0/query"}},
			want:   []answer{ok, {401, "401 "}},
		},
		{
			name:   "method must match",
			faults: []Fault{{Method: "POST", Path: "/v1/a", Status: 500}},
			calls:  []call{{"GET", "/v1/a"}, {"POST", "/v1/a"}, {"POST", "/v1/a"}},
			want:   []answer{ok, {500, "500 "}, ok},
		},
		{
			name:   "empty path matches any path, first injected wins",
			faults: []Fault{{Status: 429, Code: "slow down"}, {Path: "/v1/a", Status: 500}},
			calls:  []call{{"GET", "/v1/a"}, {"GET", "/v1/a"}, {"GET", "/v1/a"}},
			want:   []answer{{429, "429 slow down"}, {500, "500 "}, ok},
		},
		{
			name:   "malformed",
			faults: []Fault{{Path: "/v1/a", Malformed: true}},
			calls:  []call{{"GET", "/v1/a"}, {"GET", "/v1/a"}},
			want:   []answer{{200, `{"data":[`}, ok},
		},
		{
			name:   "kind reaches the handler",
			faults: []Fault{{Path: "/v1/a", Kind: "stuck", Times: 2}},
			calls:  []call{{"GET", "/v1/a"}, {"GET", "/v1/a"}, {"GET", "/v1/a"}},
			want:   []answer{{200, "okstuck"}, {200, "okstuck"}, ok},
		},
		{
			name:   "delay then status",
			faults: []Fault{{Path: "/v1/a", Delay: time.Millisecond, Status: 504}},
			calls:  []call{{"GET", "/v1/a"}, {"GET", "/v1/a"}},
			want:   []answer{{504, "504 "}, ok},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, Config{Match: tc.match})
			for _, flt := range tc.faults {
				f.InjectFault(flt)
			}
			var got []answer
			for _, c := range tc.calls {
				a, err := f.do(t, context.Background(), c.Method, c.Path)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, a)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("answers = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestThrottledCountsFaultsOf429(t *testing.T) {
	f := newFake(t, Config{})
	f.InjectFault(Fault{Status: 429, Times: 2})
	f.InjectFault(Fault{Status: 500})
	for range 4 {
		if _, err := f.do(t, context.Background(), "GET", "/x"); err != nil {
			t.Fatal(err)
		}
	}
	f.NoteThrottled() // a vendor's rate window refused one
	if got := f.Throttled(); got != 3 {
		t.Errorf("Throttled = %d, want 3", got)
	}
}

func TestMalformedUsesTheVendorBody(t *testing.T) {
	f := newFake(t, Config{Malformed: `{"list":[{"id":`, ContentType: "application/json;charset=UTF-8"})
	f.InjectFault(Fault{Malformed: true})
	resp, err := http.Get(f.url + "/x")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	got := answer{resp.StatusCode, resp.Header.Get("Content-Type") + " " + string(b)}
	if want := (answer{200, `application/json;charset=UTF-8 {"list":[{"id":`}); got != want {
		t.Errorf("got %v, want %v", got, want)
	}
}

// TestWaitsEndWithTheClient: latency and a fault's delay end when the
// client gives up and when the harness closes; the handler never runs.
func TestWaitsEndWithTheClient(t *testing.T) {
	tests := []struct {
		name    string
		latency time.Duration
		fault   *Fault
		closeIt bool
	}{
		{name: "latency, client gives up", latency: time.Hour},
		{name: "forever fault, client gives up", fault: &Fault{Delay: Forever}},
		{name: "forever fault, harness closes", fault: &Fault{Delay: Forever}, closeIt: true},
		{name: "latency, harness closes", latency: time.Hour, closeIt: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t, Config{Latency: tc.latency})
			if tc.fault != nil {
				f.InjectFault(*tc.fault)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			if tc.closeIt {
				ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
				go func() {
					for f.Total() == 0 {
						time.Sleep(time.Millisecond)
					}
					f.Close()
				}()
			}
			defer cancel()
			start := time.Now()
			a, err := f.do(t, ctx, "GET", "/x")
			if tc.closeIt {
				// The handler returns without writing: net/http ends the
				// answer empty, and the vendor's handler never ran.
				if err != nil || a != (answer{200, ""}) {
					t.Fatalf("got %v, %v; want an empty answer", a, err)
				}
			} else if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v, want the client's deadline", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("the wait took %v", d)
			}
		})
	}
}

func TestSetLatency(t *testing.T) {
	f := newFake(t, Config{})
	f.SetLatency(30 * time.Millisecond)
	start := time.Now()
	if a, err := f.do(t, context.Background(), "GET", "/x"); err != nil || a != (answer{200, "ok"}) {
		t.Fatalf("%v %v", a, err)
	}
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Errorf("answered after %v, want at least the latency", d)
	}
}

func TestCountersAndLog(t *testing.T) {
	f := newFake(t, Config{Key: func(r *http.Request) string {
		return r.Method + " " + strings.TrimRight(r.URL.Path, "0123456789") + "{id}"
	}})
	for _, c := range []call{{"GET", "/v1/a/1"}, {"GET", "/v1/a/2"}, {"POST", "/v1/b/3?x=1"}} {
		if _, err := f.do(t, context.Background(), c.Method, c.Path); err != nil {
			t.Fatal(err)
		}
	}
	f.Add(httptest.NewRequest("GET", "/token", nil), "token")
	if want := map[string]int64{"GET /v1/a/{id}": 2, "POST /v1/b/{id}": 1, "token": 1}; !reflect.DeepEqual(f.Counts(), want) {
		t.Errorf("Counts = %v, want %v", f.Counts(), want)
	}
	if got := f.Count("GET /v1/a/{id}"); got != 2 {
		t.Errorf("Count = %d, want 2", got)
	}
	want := []Request{
		{Method: "GET", Path: "/v1/a/1", Query: map[string][]string{}, Key: "GET /v1/a/{id}"},
		{Method: "GET", Path: "/v1/a/2", Query: map[string][]string{}, Key: "GET /v1/a/{id}"},
		{Method: "POST", Path: "/v1/b/3", Query: map[string][]string{"x": {"1"}}, Key: "POST /v1/b/{id}"},
		{Method: "GET", Path: "/token", Query: map[string][]string{}, Key: "token"},
	}
	if got := f.Requests(); !reflect.DeepEqual(got, want) {
		t.Errorf("Requests = %+v, want %+v", got, want)
	}
	if got := f.Total(); got != 3 { // Add names a request Wrap already saw
		t.Errorf("Total = %d, want 3", got)
	}
	f.NoteThrottled()
	f.ResetCounts()
	if c, r, n, th := f.Counts(), f.Requests(), f.Total(), f.Throttled(); len(c) != 0 || len(r) != 0 || n != 0 || th != 0 {
		t.Errorf("after ResetCounts: %v %v %d %d", c, r, n, th)
	}
}

func TestLogKeepsTheNewest(t *testing.T) {
	f := New(Config{})
	n := 2*MaxLog + 7
	for i := range n {
		f.Add(httptest.NewRequest("GET", fmt.Sprintf("/r/%d", i), nil), "r")
	}
	log := f.Requests()
	if len(log) != MaxLog || log[0].Path != fmt.Sprintf("/r/%d", n-MaxLog) || log[MaxLog-1].Path != fmt.Sprintf("/r/%d", n-1) {
		t.Errorf("log holds %d, %s .. %s", len(log), log[0].Path, log[len(log)-1].Path)
	}
	if got := f.Count("r"); got != int64(n) {
		t.Errorf("Count = %d, want %d", got, n)
	}
}

// TestCountersAreConcurrencySafe is for -race: many goroutines count,
// inject, read and reset at once.
func TestCountersAreConcurrencySafe(t *testing.T) {
	f := newFake(t, Config{Key: func(r *http.Request) string { return r.URL.Path }})
	const workers, each = 8, 25
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			for range each {
				if _, err := f.do(t, context.Background(), "GET", fmt.Sprintf("/w%d", i%2)); err != nil {
					t.Error(err)
				}
				f.InjectFault(Fault{Path: "/none"})
				_ = f.Counts()
				_ = f.Requests()
			}
		})
	}
	wg.Wait()
	if got, want := f.Counts(), map[string]int64{"/w0": workers / 2 * each, "/w1": workers / 2 * each}; !reflect.DeepEqual(got, want) {
		t.Errorf("Counts = %v, want %v", got, want)
	}
}

// TestCloseStopsEveryListener: a fake with two listeners (Salesforce's org
// and login hosts) is shut down by one Close.
func TestCloseStopsEveryListener(t *testing.T) {
	h := New(Config{})
	ok := h.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	urls := []string{h.Start(ok), h.Start(ok)}
	for _, u := range urls {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatalf("before Close: %v", err)
		}
		resp.Body.Close()
	}
	h.Close()
	h.Close() // twice is fine
	for _, u := range urls {
		if resp, err := http.Get(u); err == nil {
			resp.Body.Close()
			t.Errorf("%s still answers after Close", u)
		}
	}
}

// TestBusyCountsServingNotWaiting pins Busy: the time in the handler and
// the error writer counts, the added latency and a fault's delay do not.
func TestBusyCountsServingNotWaiting(t *testing.T) {
	const work, wait = 20 * time.Millisecond, 400 * time.Millisecond
	h := New(Config{
		Latency: wait,
		WriteError: func(w http.ResponseWriter, _ *http.Request, f Fault) {
			time.Sleep(work)
			w.WriteHeader(f.Status)
		},
	})
	url := h.Start(h.Wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(work)
	})))
	t.Cleanup(h.Close)
	h.InjectFault(Fault{Path: "/fail", Delay: wait, Status: 503})
	for _, path := range []string{"/ok", "/fail"} {
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if got := h.Busy(); got < 2*work || got >= wait {
		t.Errorf("Busy = %s after two requests of %s work each behind %s of waiting, want in [%s, %s)", got, work, wait, 2*work, wait)
	}
}
