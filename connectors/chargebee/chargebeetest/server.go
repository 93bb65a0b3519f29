// Package chargebeetest is a fake of the Chargebee API v2 (product catalog
// 2.0) on 127.0.0.1, in the style of net/http/httptest: list and retrieve
// endpoints for customers, subscriptions, invoices, transactions, item prices
// and coupons with limit/offset/next_offset paging, the documented filters
// and sort, Basic authentication with the API key as user name, Chargebee's
// error JSON, 429 api_request_limit_exceeded when a configured rate is
// exceeded, injectable latency and faults, counters, and a builder for
// webhook event bodies as Chargebee sends them.
//
// It is written from Chargebee's API documentation
// (https://apidocs.chargebee.com/docs/api/), not from the chargebee client
// package, and imports neither that package nor "testing".
package chargebeetest

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Options configure a Server. Zero values take the defaults noted.
type Options struct {
	// APIKey is the key clients must send as the Basic user name (empty:
	// any non-empty key is accepted).
	APIKey string
	// Now is the fake's clock for created_at/updated_at defaults, mutations
	// and the rate-limit window (nil: time.Now).
	Now func() time.Time
	// RateLimit is the number of requests served in any 60 seconds of the
	// clock (0: no limit); beyond it the fake answers 429
	// api_request_limit_exceeded until the oldest served request is a
	// minute old. Docs ("What are the Chargebee API limits?"): "Requests
	// per minute - Number of requests in the past 60 seconds"; 150 on test
	// sites and the Starter plan.
	RateLimit int
	// MaxConcurrent is the number of requests served at once (0: no limit);
	// one more is answered 429 api_request_limit_exceeded. Docs (same page,
	// "Concurrent requests - Number of requests at any given instant of
	// time"; test sites allow 50 concurrent GET requests).
	MaxConcurrent int
	// RetryAfter, when positive, is sent as a Retry-After header (whole
	// seconds) on 429 responses; Chargebee sends it only sometimes.
	RetryAfter time.Duration
	// Latency is added to every response (real time; for benchmarks and the
	// demo).
	Latency time.Duration
}

// Fault is an injected failure for the next requests to a path.
type Fault struct {
	// Status is the HTTP status to answer with Chargebee's error JSON (429,
	// 500, 503, 401, ...). Ignored when Malformed or Hang is set.
	Status int
	// Malformed answers 200 with a truncated JSON body.
	Malformed bool
	// Hang holds the request until the client gives up (its context ends)
	// or Hang elapses, then answers 504.
	Hang time.Duration
}

// Request is one request the fake received, for tests to inspect.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	// Endpoint is the counter key, e.g. "GET /api/v2/subscriptions" or
	// "GET /api/v2/subscriptions/{id}".
	Endpoint string
}

type faultEntry struct {
	path  string // exact URL path; "" matches every path
	left  int
	fault Fault
}

// Server is a running fake. It is safe for concurrent use.
type Server struct {
	// URL is the base URL (http://127.0.0.1:port) to use as the connector's
	// base_url; the API lives under /api/v2.
	URL string

	srv  *httptest.Server
	opts Options

	mu            sync.Mutex
	customers     map[string]*Customer
	subscriptions map[string]*Subscription
	invoices      map[string]*Invoice
	transactions  map[string]*Transaction
	itemPrices    map[string]*ItemPrice
	coupons       map[string]*Coupon
	counts        map[string]int
	requests      []Request
	throttled     int
	faults        []*faultEntry
	served        []time.Time // clock times of the requests served in the last 60 s (RateLimit)
	inFlight      int         // requests being answered (MaxConcurrent)
	latency       time.Duration
}

// NewServer starts a fake listening on 127.0.0.1.
func NewServer(opts Options) *Server {
	s := &Server{
		opts:          opts,
		customers:     map[string]*Customer{},
		subscriptions: map[string]*Subscription{},
		invoices:      map[string]*Invoice{},
		transactions:  map[string]*Transaction{},
		itemPrices:    map[string]*ItemPrice{},
		coupons:       map[string]*Coupon{},
		counts:        map[string]int{},
		latency:       opts.Latency,
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	return s
}

// Close shuts the server down, waiting for requests in flight.
func (s *Server) Close() { s.srv.Close() }

func (s *Server) now() time.Time {
	if s.opts.Now != nil {
		return s.opts.Now()
	}
	return time.Now()
}

// SetLatency changes the latency added to every response.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	s.latency = d
	s.mu.Unlock()
}

// InjectFault makes the next n requests to path (exact URL path such as
// "/api/v2/subscriptions"; "" for any path) fail as f describes.
func (s *Server) InjectFault(path string, n int, f Fault) {
	s.mu.Lock()
	s.faults = append(s.faults, &faultEntry{path: path, left: n, fault: f})
	s.mu.Unlock()
}

// Count returns how many requests reached endpoint ("GET /api/v2/customers",
// "GET /api/v2/subscriptions/{id}", ...), throttled and failed ones included.
func (s *Server) Count(endpoint string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[endpoint]
}

// Counts returns a copy of all counters by endpoint.
func (s *Server) Counts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.counts))
	for k, v := range s.counts {
		out[k] = v
	}
	return out
}

// Total is the number of requests received.
func (s *Server) Total() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.requests)
}

// Throttled is the number of 429 answers sent (rate limit and faults).
func (s *Server) Throttled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.throttled
}

// Requests returns the requests received so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// ResetCounters clears counters and the request log.
func (s *Server) ResetCounters() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts = map[string]int{}
	s.requests = nil
	s.throttled = 0
}

// apiError is Chargebee's error body (docs: "Error handling"): message,
// type (payment, invalid_request, operation_failed; optional), api_error_code,
// param (optional), and the legacy error_code, error_msg and
// http_status_code attributes.
type apiError struct {
	Message        string `json:"message"`
	Type           string `json:"type,omitempty"`
	APIErrorCode   string `json:"api_error_code"`
	Param          string `json:"param,omitempty"`
	ErrorCode      string `json:"error_code"`
	ErrorMsg       string `json:"error_msg"`
	HTTPStatusCode int    `json:"http_status_code"`
}

// errorFor returns the documented error for a status.
func errorFor(status int) apiError {
	e := apiError{HTTPStatusCode: status}
	switch status {
	case http.StatusTooManyRequests:
		e.Type, e.APIErrorCode = "operation_failed", "api_request_limit_exceeded"
		e.Message = "Sorry, access has been blocked temporarily due to request count exceeding acceptable limits. Please try after some time."
	case http.StatusUnauthorized:
		e.APIErrorCode = "api_authentication_failed"
		e.Message = "Sorry, authentication failed. Invalid api key"
	case http.StatusForbidden:
		e.APIErrorCode = "api_authorization_failed"
		e.Message = "Sorry, authorization failed. The key does not have the required permissions"
	case http.StatusNotFound:
		e.Type, e.APIErrorCode = "invalid_request", "resource_not_found"
		e.Message = "Sorry, we couldn't find that resource"
	case http.StatusConflict:
		e.Type, e.APIErrorCode = "operation_failed", "invalid_state_for_request"
		e.Message = "The resource is not in a state to allow this request"
	case http.StatusServiceUnavailable:
		e.APIErrorCode = "site_not_ready"
		e.Message = "Site is not ready for this request. Please try after some time."
	case http.StatusBadRequest:
		e.Type, e.APIErrorCode = "invalid_request", "param_wrong_value"
		e.Message = "invalid request"
	default:
		e.APIErrorCode = "internal_error"
		e.Message = "Sorry, something went wrong when trying to process the request."
	}
	return e
}

func (s *Server) writeError(w http.ResponseWriter, e apiError) {
	e.ErrorCode, e.ErrorMsg = e.APIErrorCode, e.Message
	if e.HTTPStatusCode == http.StatusTooManyRequests && s.opts.RetryAfter > 0 {
		w.Header().Set("Retry-After", fmt.Sprint(int64((s.opts.RetryAfter+time.Second-1)/time.Second)))
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(e.HTTPStatusCode)
	_ = json.NewEncoder(w).Encode(e)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	_ = json.NewEncoder(w).Encode(v)
}

// resources maps a URL collection name to its list element key.
var resources = map[string]string{
	"customers":     "customer",
	"subscriptions": "subscription",
	"invoices":      "invoice",
	"transactions":  "transaction",
	"item_prices":   "item_price",
	"coupons":       "coupon",
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/api/v2/")
	parts := strings.Split(rest, "/")
	endpoint := r.Method + " " + r.URL.Path
	if ok && len(parts) == 2 && parts[1] != "" {
		endpoint = r.Method + " /api/v2/" + parts[0] + "/{id}"
	}

	s.mu.Lock()
	s.counts[endpoint]++
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Endpoint: endpoint})
	latency := s.latency
	var fault *Fault
	for _, f := range s.faults {
		if f.left > 0 && (f.path == "" || f.path == r.URL.Path) {
			f.left--
			ff := f.fault
			fault = &ff
			break
		}
	}
	limited := s.opts.MaxConcurrent > 0 && s.inFlight >= s.opts.MaxConcurrent
	if s.opts.RateLimit > 0 && !limited {
		now := s.now()
		i := 0
		for i < len(s.served) && !s.served[i].After(now.Add(-time.Minute)) {
			i++
		}
		s.served = s.served[i:]
		if limited = len(s.served) >= s.opts.RateLimit; !limited {
			s.served = append(s.served, now)
		}
	}
	s.inFlight++
	defer func() {
		s.mu.Lock()
		s.inFlight--
		s.mu.Unlock()
	}()
	if limited || (fault != nil && fault.Status == http.StatusTooManyRequests && !fault.Malformed && fault.Hang == 0) {
		s.throttled++
	}
	s.mu.Unlock()

	if latency > 0 {
		select {
		case <-time.After(latency):
		case <-r.Context().Done():
			return
		}
	}
	if !s.authenticated(r) {
		s.writeError(w, errorFor(http.StatusUnauthorized))
		return
	}
	if limited {
		s.writeError(w, errorFor(http.StatusTooManyRequests))
		return
	}
	if fault != nil {
		switch {
		case fault.Hang > 0:
			select {
			case <-time.After(fault.Hang):
			case <-r.Context().Done():
				return
			}
			s.writeError(w, errorFor(http.StatusGatewayTimeout))
		case fault.Malformed:
			w.Header().Set("Content-Type", "application/json;charset=UTF-8")
			_, _ = w.Write([]byte(`{"list":[{"subscription":{"id":`))
		default:
			s.writeError(w, errorFor(fault.Status))
		}
		return
	}
	key, known := resources[parts[0]]
	if !ok || !known || len(parts) > 2 {
		s.writeError(w, errorFor(http.StatusNotFound))
		return
	}
	if r.Method != http.MethodGet {
		e := errorFor(http.StatusMethodNotAllowed)
		e.APIErrorCode, e.Message = "http_method_not_supported", "Sorry, the http method is not supported for this url"
		s.writeError(w, e)
		return
	}
	if len(parts) == 2 && parts[1] != "" {
		id, err := url.PathUnescape(parts[1])
		if err != nil {
			s.writeError(w, errorFor(http.StatusBadRequest))
			return
		}
		s.retrieve(w, parts[0], key, id)
		return
	}
	s.list(w, r, parts[0], key)
}

// authenticated checks HTTP Basic auth with the API key as user name and an
// empty password (docs: "Authentication").
func (s *Server) authenticated(r *http.Request) bool {
	user, _, ok := r.BasicAuth()
	if !ok || user == "" {
		return false
	}
	if s.opts.APIKey == "" {
		return true
	}
	return subtle.ConstantTimeCompare([]byte(user), []byte(s.opts.APIKey)) == 1
}
