package fakeapi

import (
	"maps"
	"net/http"
	"net/url"
	"time"
)

// MaxLog is how many requests the log keeps, the newest; older ones are
// dropped so a long-running demo does not grow without bound.
const MaxLog = 10000

// Request is one request a fake received, for tests to inspect.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	// Key is the counter key the request was counted under.
	Key string
	// Time is the fake's clock when the request arrived (Config.Now;
	// zero without one).
	Time time.Time
}

// Add counts one request under key and logs it, for fakes that name
// requests in their handlers (Config.Key nil).
func (h *Harness) Add(r *http.Request, key string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recordLocked(r, key)
}

func (h *Harness) recordLocked(r *http.Request, key string) {
	h.counts[key]++
	if len(h.log) == 2*MaxLog { // amortized: copy once per MaxLog requests
		h.log = append(h.log[:0], h.log[MaxLog+1:]...)
	}
	req := Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Key: key}
	if h.cfg.Now != nil {
		req.Time = h.cfg.Now()
	}
	h.log = append(h.log, req)
}

// NoteThrottled counts a 429 answer; Wrap counts those of faults, the
// vendor those of its rate windows.
func (h *Harness) NoteThrottled() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.throttled++
}

// Count returns how many requests were counted under key.
func (h *Harness) Count(key string) int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.counts[key]
}

// Counts returns a copy of all counters by key.
func (h *Harness) Counts() map[string]int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return maps.Clone(h.counts)
}

// Total is the number of requests received.
func (h *Harness) Total() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.total
}

// Throttled is the number of 429 answers sent (rate windows and faults).
func (h *Harness) Throttled() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.throttled
}

// Requests returns the logged requests, oldest first (the newest MaxLog).
func (h *Harness) Requests() []Request {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Request(nil), h.log[max(0, len(h.log)-MaxLog):]...)
}

// ResetCounts zeroes the counters, Total and Throttled, and empties the
// request log.
func (h *Harness) ResetCounts() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.counts = map[string]int64{}
	h.log = nil
	h.total, h.throttled = 0, 0
}
