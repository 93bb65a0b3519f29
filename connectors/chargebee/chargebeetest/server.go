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
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/healthsync/healthsync/connectors/internal/fakeapi"
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

// Fault is an injected failure (fakeapi.Fault): Path matches the exact URL
// path ("/api/v2/subscriptions"; "" any path); a Status is answered with
// Chargebee's error JSON for it (errorFor); Malformed answers a 200 cut
// short; Delay holds the request (until the client gives up) and, with
// Status 504, models a gateway timeout.
type Fault = fakeapi.Fault

// Request is one request the fake received (fakeapi.Request); its Key is
// the counter key, e.g. "GET /api/v2/subscriptions" or
// "GET /api/v2/subscriptions/{id}".
type Request = fakeapi.Request

// Server is a running fake. It is safe for concurrent use.
//
// The embedded harness gives every fake's API: Close, SetLatency,
// InjectFault, Count and Counts by endpoint ("GET /api/v2/customers",
// "GET /api/v2/subscriptions/{id}", ...; throttled and failed requests
// included), Requests, Total, Throttled (429 answers of the rate limits and
// of faults) and ResetCounts.
type Server struct {
	*fakeapi.Harness

	// URL is the base URL (http://127.0.0.1:port) to use as the connector's
	// base_url; the API lives under /api/v2.
	URL string

	opts Options

	mu            sync.Mutex
	customers     map[string]*Customer
	subscriptions map[string]*Subscription
	invoices      map[string]*Invoice
	transactions  map[string]*Transaction
	itemPrices    map[string]*ItemPrice
	coupons       map[string]*Coupon
	rows          map[string][]row // "collection sort_field" -> rows in order; nil after a write (orderedLocked)
	served        fakeapi.Window   // requests served in the last 60 s of the clock (RateLimit)
	inFlight      int              // requests being answered (MaxConcurrent)
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
		served:        fakeapi.Window{Limit: opts.RateLimit, Span: time.Minute},
	}
	s.Harness = fakeapi.New(fakeapi.Config{
		WriteError:  func(w http.ResponseWriter, _ *http.Request, f Fault) { s.writeError(w, errorFor(f.Status)) },
		Malformed:   `{"list":[{"subscription":{"id":`,
		ContentType: "application/json;charset=UTF-8",
		Key:         endpoint,
		Latency:     opts.Latency,
	})
	// The concurrency gate sits in front of the harness: a request is in
	// flight from the moment it is counted.
	s.URL = s.Start(s.gate(s.Wrap(http.HandlerFunc(s.serve))))
	return s
}

func (s *Server) now() time.Time {
	if s.opts.Now != nil {
		return s.opts.Now()
	}
	return time.Now()
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

// endpoint names a request for the counters: the method and path, with a
// resource ID replaced by {id}.
func endpoint(r *http.Request) string {
	rest, ok := strings.CutPrefix(r.URL.Path, "/api/v2/")
	parts := strings.Split(rest, "/")
	if ok && len(parts) == 2 && parts[1] != "" {
		return r.Method + " /api/v2/" + parts[0] + "/{id}"
	}
	return r.Method + " " + r.URL.Path
}

type limitedKey struct{}

// gate counts the requests in flight and marks one past MaxConcurrent, to
// be answered 429 after authentication.
func (s *Server) gate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		limited := s.opts.MaxConcurrent > 0 && s.inFlight >= s.opts.MaxConcurrent
		s.inFlight++
		s.mu.Unlock()
		defer func() {
			s.mu.Lock()
			s.inFlight--
			s.mu.Unlock()
		}()
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), limitedKey{}, limited)))
	})
}

// serve answers a request that the harness let through.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/api/v2/")
	parts := strings.Split(rest, "/")
	limited, _ := r.Context().Value(limitedKey{}).(bool)
	if !limited && s.opts.RateLimit > 0 {
		s.mu.Lock()
		limited = !s.served.Allow(s.now())
		s.mu.Unlock()
	}
	if limited {
		s.NoteThrottled()
	}
	if !s.authenticated(r) {
		s.writeError(w, errorFor(http.StatusUnauthorized))
		return
	}
	if limited {
		s.writeError(w, errorFor(http.StatusTooManyRequests))
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
