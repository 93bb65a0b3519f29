package zendesktest

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/healthsync/healthsync/connectors/internal/fakeapi"
)

// Fault is an injected failure (fakeapi.Fault): Path is an exact URL path,
// a prefix ending in "*", or "" for any; Times is how many requests it
// hits (default 1). A Status is answered with Zendesk's error JSON
// ({"error": Code or the status text, "description": "injected fault"});
// Malformed answers 200 with a truncated JSON body; Delay holds the
// request first.
type Fault = fakeapi.Fault

// Request is one request the fake received (fakeapi.Request): its Key is
// the endpoint, e.g. "GET /api/v2/incremental/tickets/cursor" or
// "GET /api/v2/tickets/{id}", and Time the fake clock when it arrived.
type Request = fakeapi.Request

// harness configures the shared fake plumbing for Zendesk: the counters'
// endpoint names, Zendesk's error body, its truncated body and fault paths
// matched exactly or by a "*" prefix.
func (s *Server) harness(opts Options) *fakeapi.Harness {
	return fakeapi.New(fakeapi.Config{
		WriteError:  writeFault,
		Malformed:   `{"tickets":[{"id":1,`,
		ContentType: "application/json",
		Match:       matchPath,
		Key:         endpoint,
		Latency:     opts.Latency,
		Now:         opts.Now,
	})
}

// writeFault answers an injected fault with Zendesk's error body (docs
// "Errors"); a 429 carries Retry-After in whole seconds, as Zendesk's do
// (docs "Rate limits"), here the 1 second a fault has no window to derive.
func writeFault(w http.ResponseWriter, _ *http.Request, f Fault) {
	code := f.Code
	if code == "" {
		code = http.StatusText(f.Status)
	}
	if f.Status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	writeError(w, f.Status, code, "injected fault")
}

// matchPath matches a fault's path exactly or, ending in "*", as a prefix.
func matchPath(path, faultPath string) bool {
	if prefix, ok := strings.CutSuffix(faultPath, "*"); ok {
		return strings.HasPrefix(path, prefix)
	}
	return path == faultPath
}

// endpoint names a request for the counters: method and path without
// ".json", ticket IDs as {id}.
func endpoint(r *http.Request) string {
	switch {
	case reTicket.MatchString(r.URL.Path):
		return r.Method + " /api/v2/tickets/{id}"
	case reTicketMetrics.MatchString(r.URL.Path):
		return r.Method + " /api/v2/tickets/{id}/metrics"
	}
	return r.Method + " " + strings.TrimSuffix(r.URL.Path, ".json")
}

// admit charges a request to its sliding window (the export endpoints' or
// every other endpoint's) at now and returns the requests left and, when
// refused, the whole seconds until a slot frees (at least 1). A window
// without a limit admits everything. Caller holds s.mu.
func (s *Server) admit(export bool, now time.Time) (remaining, retryAfter int, ok bool) {
	win := &s.otherWin
	if export {
		win = &s.exportWin
	}
	if win.Limit <= 0 {
		return 0, 0, true
	}
	if wait := win.Wait(now); wait > 0 {
		return 0, max(int((wait+time.Second-1)/time.Second), 1), false
	}
	win.Add(now)
	return win.Limit - win.Len(now), 0, true
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
