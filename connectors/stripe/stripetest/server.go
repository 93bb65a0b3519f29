// Package stripetest is a fake of the Stripe API on 127.0.0.1, in the style
// of net/http/httptest, for tests and the demo. It is built from Stripe's
// API reference (https://docs.stripe.com/api) and the OpenAPI document in
// shared/specs/stripe/spec3.json, not from the healthsync client, so a
// mismatch between the two fails a test.
//
// It serves customers, subscriptions (with items, prices, tiers and
// discounts), subscription items, invoices (with lines) and events, with
// Stripe's list semantics (limit, starting_after, ending_before, has_more,
// expand[], created filters, types[]), Stripe's error JSON, 429 rate_limit
// errors, Request-Id and Stripe-Version headers, an injectable clock,
// latency and faults, and request counters. Responses follow the shape of
// the requested Stripe-Version: before 2025-03-31.basil the current period
// sits on the subscription and a single discount is rendered; from basil on
// the period sits on each item and discounts are an array.
package stripetest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/healthsync/healthsync/connectors/internal/fakeapi"
)

// Basil is the first API version with item-level current periods and the
// discounts array (https://docs.stripe.com/changelog/basil).
const Basil = "2025-03-31.basil"

// Clover is the first API version whose discounts carry their coupon under
// source.coupon, no longer expanded by default
// (https://docs.stripe.com/changelog/clover/2025-09-30/add-discount-source-property).
const Clover = "2025-09-30.clover"

// Options configure a Server. Zero values take the defaults noted.
type Options struct {
	// APIKey is the secret key requests must carry (default "sk_test_fake").
	APIKey string
	// DefaultVersion is the account's default API version, used when a
	// request sends no Stripe-Version and for event payloads (default
	// "2020-08-27", the version of the bundled OpenAPI document).
	DefaultVersion string
	// Now starts the fake clock (default 2024-01-01T00:00:00Z).
	Now time.Time
	// Latency is added (in real time) before every response.
	Latency time.Duration
	// RatePerSecond enables a real-time token bucket; requests beyond it
	// get Stripe's 429 rate_limit error. 0: unlimited.
	RatePerSecond float64
	// EndpointRatePerSecond adds a real-time token bucket per endpoint
	// (route pattern: GET /v1/prices/{price} is one endpoint whatever the
	// ID), as Stripe's "Rate limits" page documents ("API endpoints have a
	// default limit of 25 requests per second", on top of the global 100
	// per second live and 25 in a sandbox). 0: none.
	EndpointRatePerSecond float64
	// ForgetExpiredEvents frees the object snapshot of events older than
	// the 30 days the API returns them for (EventRetention, "List all
	// events" in Stripe's API reference) as new events are emitted, for a
	// fake whose clock moves on. Events then returns those events without
	// Object. (Seeding history that ends at a known now does better with
	// SkipEventsBefore, which records no such event at all.)
	ForgetExpiredEvents bool
}

// Fault is an injected failure (fakeapi.Fault): Path matches the exact URL
// path ("" any path); a Status is answered with Stripe's error JSON (429 a
// rate_limit error with Stripe-Should-Retry: true, 5xx an api_error with
// Stripe-Should-Retry: true); Status 429 with Code CodeLockTimeout answers
// lock_timeout with no Stripe-Should-Retry header; Malformed answers a 200
// that is not JSON; Delay waits (real time, or until the client gives up)
// before the rest, to provoke timeouts.
type Fault = fakeapi.Fault

// CodeLockTimeout is the Fault Code for Stripe's lock_timeout: another
// request or a Stripe process holds the object ("Error codes":
// lock_timeout; stripe-go retries it).
const CodeLockTimeout = "lock_timeout"

// Server is a fake Stripe API. It is safe for concurrent use.
//
// The embedded harness gives every fake's API: Close, SetLatency,
// InjectFault, Count and Counts by route pattern ("GET /v1/customers",
// "GET /v1/invoices/{invoice}/lines"; a request answered before routing,
// by a fault, a rate limit or an authentication error, is not counted),
// Total, Throttled (429 answers), Requests and ResetCounts.
type Server struct {
	*fakeapi.Harness

	// URL is the base URL, e.g. http://127.0.0.1:12345.
	URL string

	mux     *http.ServeMux
	opts    Options
	limiter *rate.Limiter

	mu         sync.Mutex
	endpoint   map[string]*rate.Limiter // per route pattern, created on first use
	now        time.Time
	seq        int64
	customers  map[string]*entry[Customer]
	products   map[string]*entry[Product]
	prices     map[string]*entry[Price]
	coupons    map[string]*entry[Coupon]
	subs       map[string]*entry[Subscription]
	invoices   map[string]*entry[Invoice]
	events     []event
	eventAt    map[string]int    // event ID -> index in events
	forgotten  int               // events[:forgotten] had their Object freed (ForgetExpiredEvents)
	eventFloor time.Time         // events before it are not recorded (SkipEventsBefore)
	order      map[string][]item // newest-first list order per kind, nil after a mutation
	endpoints  []endpoint
	delivered  int
}

type entry[T any] struct {
	v   T
	seq int64
}

// NewServer starts a fake on 127.0.0.1.
func NewServer(opts Options) *Server {
	if opts.APIKey == "" {
		opts.APIKey = "sk_test_fake"
	}
	if opts.DefaultVersion == "" {
		opts.DefaultVersion = "2020-08-27"
	}
	if opts.Now.IsZero() {
		opts.Now = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	s := &Server{
		opts:      opts,
		now:       opts.Now.UTC(),
		customers: map[string]*entry[Customer]{},
		products:  map[string]*entry[Product]{},
		prices:    map[string]*entry[Price]{},
		coupons:   map[string]*entry[Coupon]{},
		subs:      map[string]*entry[Subscription]{},
		invoices:  map[string]*entry[Invoice]{},
	}
	if opts.RatePerSecond > 0 {
		s.limiter = rate.NewLimiter(rate.Limit(opts.RatePerSecond), int(opts.RatePerSecond)+1)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/customers", s.listCustomers)
	mux.HandleFunc("GET /v1/customers/{customer}", s.getCustomer)
	mux.HandleFunc("GET /v1/subscriptions", s.listSubscriptions)
	mux.HandleFunc("GET /v1/subscriptions/{subscription_exposed_id}", s.getSubscription)
	mux.HandleFunc("GET /v1/subscription_items", s.listSubscriptionItems)
	mux.HandleFunc("GET /v1/invoices", s.listInvoices)
	mux.HandleFunc("GET /v1/invoices/{invoice}", s.getInvoice)
	mux.HandleFunc("GET /v1/invoices/{invoice}/lines", s.listInvoiceLines)
	mux.HandleFunc("GET /v1/prices/{price}", s.getPrice)
	mux.HandleFunc("GET /v1/coupons/{coupon}", s.getCoupon)
	mux.HandleFunc("GET /v1/events", s.listEvents)
	mux.HandleFunc("GET /v1/events/{id}", s.getEvent)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "invalid_request_error", "", "",
			fmt.Sprintf("Unrecognized request URL (%s: %s). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.", r.Method, r.URL.Path))
	})
	s.mux = mux
	s.Harness = fakeapi.New(fakeapi.Config{
		WriteError: s.writeFault,
		Malformed:  `{"object":"list","data":[{"id":`,
		Latency:    opts.Latency,
	})
	s.URL = s.Start(s.stamp(s.Wrap(s.serve(mux))))
	return s
}

// Now is the fake clock.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

// Advance moves the fake clock forward.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	s.now = s.now.Add(d)
	s.mu.Unlock()
}

// SetNow sets the fake clock (it may go backwards, for seeding history).
func (s *Server) SetNow(t time.Time) {
	s.mu.Lock()
	s.now = t.UTC()
	s.mu.Unlock()
}

type ctxKey struct{}

type reqInfo struct {
	version string
	now     time.Time
}

func info(r *http.Request) reqInfo { return r.Context().Value(ctxKey{}).(reqInfo) }

// stamp gives every response, a fault's included, its Request-Id
// (https://docs.stripe.com/api/request_ids), a Date from the fake clock and
// the JSON Content-Type, and records the clock for the handlers.
func (s *Server) stamp(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.seq++
		reqID := fmt.Sprintf("req_%014d", s.seq)
		now := s.now
		s.mu.Unlock()
		w.Header().Set("Request-Id", reqID)
		w.Header().Set("Date", now.UTC().Format(http.TimeFormat))
		w.Header().Set("Content-Type", "application/json")
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, reqInfo{now: now})))
	})
}

// serve answers a request that the harness let through: authentication,
// rate limits, the API version, then the route, counted by its pattern.
func (s *Server) serve(mux http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r) {
			// https://docs.stripe.com/api/authentication
			w.Header().Set("Www-Authenticate", `Basic realm="Stripe"`)
			msg := "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, or we can help at https://support.stripe.com/."
			if r.Header.Get("Authorization") != "" {
				msg = "Invalid API Key provided: " + maskKey(r.Header.Get("Authorization"))
			}
			writeError(w, http.StatusUnauthorized, "invalid_request_error", "", "", msg)
			return
		}
		if (s.limiter != nil && !s.limiter.Allow()) || !s.endpointAllow(r) {
			s.NoteThrottled()
			writeRateLimit(w)
			return
		}
		ri := info(r)
		ri.version = r.Header.Get("Stripe-Version")
		if ri.version == "" {
			ri.version = s.opts.DefaultVersion
		}
		w.Header().Set("Stripe-Version", ri.version)
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, ri))
		mux.ServeHTTP(w, r)
		if r.Pattern != "" {
			s.Add(r, r.Pattern)
		}
	})
}

// writeFault answers a fault's Status with Stripe's error JSON.
func (s *Server) writeFault(w http.ResponseWriter, _ *http.Request, f Fault) {
	switch {
	case f.Status == http.StatusTooManyRequests && f.Code == CodeLockTimeout:
		writeError(w, http.StatusTooManyRequests, "invalid_request_error", CodeLockTimeout, "",
			"This object cannot be accessed right now because another API request or Stripe process is currently accessing it. If you see this error intermittently, retry the request. If you see this error frequently and are making multiple concurrent requests to a single object, make your requests serially or at a lower rate.")
	case f.Status == http.StatusTooManyRequests:
		writeRateLimit(w)
	case f.Status >= 500:
		w.Header().Set("Stripe-Should-Retry", "true")
		writeError(w, f.Status, "api_error", f.Code, "", "An unknown error occurred")
	default:
		writeError(w, f.Status, "invalid_request_error", f.Code, "", "Injected failure")
	}
}

// endpointAllow takes a token from r's endpoint bucket.
func (s *Server) endpointAllow(r *http.Request) bool {
	if s.opts.EndpointRatePerSecond <= 0 {
		return true
	}
	_, pattern := s.mux.Handler(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.endpoint == nil {
		s.endpoint = map[string]*rate.Limiter{}
	}
	l, ok := s.endpoint[pattern]
	if !ok {
		l = rate.NewLimiter(rate.Limit(s.opts.EndpointRatePerSecond), max(1, int(s.opts.EndpointRatePerSecond)))
		s.endpoint[pattern] = l
	}
	return l.Allow()
}

// writeRateLimit answers Stripe's rate-limit error
// (https://docs.stripe.com/rate-limits: 429, code rate_limit).
func writeRateLimit(w http.ResponseWriter) {
	w.Header().Set("Stripe-Should-Retry", "true")
	writeError(w, http.StatusTooManyRequests, "invalid_request_error", "rate_limit", "",
		"Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.")
}

func (s *Server) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	if k, ok := strings.CutPrefix(h, "Bearer "); ok {
		return k == s.opts.APIKey
	}
	if u, _, ok := r.BasicAuth(); ok {
		return u == s.opts.APIKey
	}
	return false
}

func maskKey(h string) string {
	k := h
	if i := strings.LastIndexByte(h, ' '); i >= 0 {
		k = h[i+1:]
	}
	if len(k) <= 4 {
		return "****"
	}
	return "sk_****" + k[len(k)-4:]
}

// writeError writes Stripe's error body (spec3.json components.schemas.error
// and api_errors): {"error":{"type","code","message","param","doc_url"}}.
func writeError(w http.ResponseWriter, status int, typ, code, param, msg string) {
	e := map[string]any{"type": typ, "message": msg}
	if code != "" {
		e["code"] = code
		e["doc_url"] = "https://stripe.com/docs/error-codes/" + strings.ReplaceAll(code, "_", "-")
	}
	if param != "" {
		e["param"] = param
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": e})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(v)
}
