package zendesktest

import (
	"strconv"
	"strings"
	"time"
)

// plumbing is what every fake shares (counters, request log, faults, rate
// windows), kept in this one file so it can move onto the shared fake
// harness (connectors/internal/fakeapi) once that exists. Its fields are
// guarded by Server.mu.
type plumbing struct {
	counts    map[string]int
	requests  []Request
	throttled int
	faults    []*faultEntry
	exportWin []time.Time // clock times of incremental export requests served in the window
	otherWin  []time.Time // the same for every other endpoint
}

type faultEntry struct {
	path  string // exact URL path or path prefix ending in "*"; "" matches every path
	left  int
	fault Fault
}

func newPlumbing() plumbing { return plumbing{counts: map[string]int{}} }

// record counts and logs a request. Caller holds s.mu.
func (p *plumbing) record(r Request) {
	p.counts[r.Endpoint]++
	p.requests = append(p.requests, r)
}

// takeFault consumes the first fault matching path. Caller holds s.mu.
func (p *plumbing) takeFault(path string) (Fault, bool) {
	for i, f := range p.faults {
		match := f.path == "" || f.path == path ||
			(strings.HasSuffix(f.path, "*") && strings.HasPrefix(path, strings.TrimSuffix(f.path, "*")))
		if !match {
			continue
		}
		f.left--
		if f.left <= 0 {
			p.faults = append(p.faults[:i], p.faults[i+1:]...)
		}
		return f.fault, true
	}
	return Fault{}, false
}

// admit applies a sliding-window limit of limit requests per window at now
// (limit <= 0: none) and returns the requests left, and, when refused, the
// whole seconds until a slot frees (at least 1). Caller holds s.mu.
func (p *plumbing) admit(export bool, limit int, window time.Duration, now time.Time) (remaining, retryAfter int, ok bool) {
	if limit <= 0 {
		return 0, 0, true
	}
	win := &p.otherWin
	if export {
		win = &p.exportWin
	}
	kept := (*win)[:0]
	for _, t := range *win {
		if now.Sub(t) < window {
			kept = append(kept, t)
		}
	}
	*win = kept
	if len(kept) >= limit {
		p.throttled++
		wait := kept[0].Add(window).Sub(now)
		secs := int((wait + time.Second - 1) / time.Second)
		return 0, max(secs, 1), false
	}
	*win = append(*win, now)
	return limit - len(*win), 0, true
}

// FailNext makes the next n requests to path (exact URL path, a prefix
// ending in "*", or "" for any) fail with f.
func (s *Server) FailNext(path string, n int, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &faultEntry{path: path, left: n, fault: f})
}

// Count is the number of requests received for endpoint, e.g.
// "GET /api/v2/incremental/tickets/cursor".
func (s *Server) Count(endpoint string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[endpoint]
}

// Requests returns a copy of the request log.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Throttled is the number of requests answered 429 by the rate limits.
func (s *Server) Throttled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.throttled
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
