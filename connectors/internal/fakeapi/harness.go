// Package fakeapi is what every vendor fake shares: added latency, injected
// faults, request counters, a request log, sliding rate windows and the
// listener. A fake embeds a *Harness from New in its Server, serves its
// routes wrapped by Wrap with Start, and supplies its vendor's error writer,
// so each fake keeps its vendor's documented error bodies while the API
// tests and the demo use (SetLatency, InjectFault, Count, Counts, Total,
// Throttled, Requests, ResetCounts, Close) is the same for all. Busy (and
// ReportBusy in benchmarks) tells the fake's own serving time apart.
//
// It imports neither "testing" nor any client package: the demo links the
// fakes.
package fakeapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"
)

// Config configures a Harness. Zero values take the defaults noted.
type Config struct {
	// WriteError answers a request hit by a fault with a Status: the
	// vendor's error body for f.Status (and f.Code, where the vendor has
	// codes). Default: the status text as plain text.
	WriteError func(w http.ResponseWriter, r *http.Request, f Fault)
	// Malformed is the body a Malformed fault answers with a 200: JSON cut
	// short in the vendor's own shape (default `{"data":[`).
	Malformed string
	// ContentType is the Content-Type of a Malformed answer (default
	// application/json).
	ContentType string
	// Match decides whether a fault's Path matches a request path (default
	// MatchExact).
	Match PathMatch
	// Key names a request for the counters and the request log, such as
	// "GET /api/v2/customers/{id}". Nil: Wrap counts nothing and the vendor
	// counts with Add where it knows the request's kind.
	Key func(r *http.Request) string
	// Latency is added to every request Wrap serves.
	Latency time.Duration
	// Now is the fake's clock, which stamps Request.Time in the request
	// log (nil: requests are logged without a time).
	Now func() time.Time
}

// Harness holds a fake's shared state; New makes one. It is safe for
// concurrent use. Wrap, Start, Add and NoteThrottled are for the fake
// itself; the other methods are the API tests and the demo use on every
// fake.
//
// Concurrency: mu guards every field below it. mu is a leaf lock: the
// harness never calls the vendor (its Key, error writer or handlers) while
// holding it, so a vendor may call Add or NoteThrottled under its own lock.
type Harness struct {
	cfg  Config
	done chan struct{}
	once sync.Once
	busy atomic.Int64 // nanoseconds spent serving requests (Busy)

	mu        sync.Mutex
	latency   time.Duration
	faults    []*Fault
	counts    map[string]int64
	total     int64
	throttled int64
	log       []Request // oldest first; up to 2*MaxLog, Requests shows the newest MaxLog
	servers   []*httptest.Server
}

// New returns a harness configured by cfg.
func New(cfg Config) *Harness {
	if cfg.WriteError == nil {
		cfg.WriteError = func(w http.ResponseWriter, _ *http.Request, f Fault) {
			http.Error(w, http.StatusText(f.Status), f.Status)
		}
	}
	if cfg.Malformed == "" {
		cfg.Malformed = `{"data":[`
	}
	if cfg.ContentType == "" {
		cfg.ContentType = "application/json"
	}
	if cfg.Match == nil {
		cfg.Match = MatchExact
	}
	return &Harness{cfg: cfg, done: make(chan struct{}), latency: cfg.Latency, counts: map[string]int64{}}
}

// Start serves handler (the fake's routes behind Wrap, and whatever the
// vendor puts in front) on a new listener on 127.0.0.1 and returns its base
// URL, http://127.0.0.1:PORT. Close stops it.
func (h *Harness) Start(handler http.Handler) string {
	srv := httptest.NewServer(handler)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.servers = append(h.servers, srv)
	return srv.URL
}

// Close shuts the fake down: it releases the requests a fault or latency
// is holding, then closes every listener Start opened, waiting for the
// requests in flight. It may be called more than once.
func (h *Harness) Close() {
	h.once.Do(func() { close(h.done) })
	h.mu.Lock()
	servers := h.servers
	h.servers = nil
	h.mu.Unlock()
	for _, srv := range servers {
		srv.Close()
	}
}

// SetLatency changes the latency added to every request.
func (h *Harness) SetLatency(d time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.latency = d
}

// Wrap returns next behind the shared steps, in this order: count and log
// the request (when Config.Key is set), wait the latency, then apply the
// first matching fault; the time spent serving after that counts in Busy. A request whose client gives up, or that is still
// waiting when the harness closes, gets no answer.
func (h *Harness) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := ""
		if h.cfg.Key != nil {
			key = h.cfg.Key(r)
		}
		h.mu.Lock()
		h.total++
		if h.cfg.Key != nil {
			h.recordLocked(r, key)
		}
		lat := h.latency
		h.mu.Unlock()
		if !h.wait(r.Context(), lat) {
			return
		}
		f, ok := h.takeFault(r)
		if !ok {
			h.serve(next, w, r)
			return
		}
		if !h.wait(r.Context(), f.Delay) {
			return
		}
		start := time.Now()
		defer func() { h.busy.Add(int64(time.Since(start))) }()
		switch {
		case f.Malformed:
			w.Header().Set("Content-Type", h.cfg.ContentType)
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write([]byte(h.cfg.Malformed))
		case f.Status != 0:
			if f.Status == http.StatusTooManyRequests {
				h.NoteThrottled()
			}
			h.cfg.WriteError(w, r, f)
		default:
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), faultKey{}, f)))
		}
	})
}

// serve calls next and adds the time it took to Busy.
func (h *Harness) serve(next http.Handler, w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	defer func() { h.busy.Add(int64(time.Since(start))) }()
	next.ServeHTTP(w, r)
}

// Busy returns the total time the fake spent serving requests since New:
// the wall time in its handlers and error writer, without the added
// latency and fault delays. The fakes run in the process of the test or
// benchmark that starts them, so a benchmark subtracts Busy before and
// after to report the fake's own cost apart from the client's (fake-ms/op).
// Time a handler spends waiting for the fake's own lock counts; on an idle
// machine with one request at a time it is the fake's CPU time.
func (h *Harness) Busy() time.Duration { return time.Duration(h.busy.Load()) }

// wait sleeps d, and reports false when ctx ends or the harness closes
// first.
func (h *Harness) wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-h.done:
		return false
	}
}
