// Package zendesktest is a fake of the Zendesk Support API on 127.0.0.1, in
// the style of net/http/httptest: the cursor-based Incremental Ticket Export
// (with metric_sets side-loading), the time-based Incremental Organization
// Export, Show Ticket and Show Ticket Metrics, API token authentication,
// Zendesk's error bodies, the incremental export rate limit with 429 and
// Retry-After, X-Rate-Limit headers, cursor expiry, injectable latency and
// faults, counters, and a signer for webhook requests as Zendesk sends them.
//
// It is written from Zendesk's developer documentation (page titles are
// named beside each rule), not from the zendesk client package, and imports
// neither that package nor "testing".
package zendesktest

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/healthsync/healthsync/connectors/internal/fakeapi"
)

// Options configure a Server. Zero values take the defaults noted.
type Options struct {
	// Email and Token are the credentials clients must send as
	// "{email}/token:{token}" in Basic auth (empty: any non-empty pair).
	// Docs ("API token authentication", "Security and authentication").
	Email, Token string
	// NotAdmin makes the authenticated user an agent: the incremental
	// export endpoints are "Allowed for Admins" (docs "Incremental
	// Exports"), so they answer 403 Forbidden.
	NotAdmin bool
	// Now is the fake's clock: the "excluded in the last minute" cut-off,
	// start_time checks, cursor expiry and the rate window (nil: time.Now).
	Now func() time.Time
	// ExportRateLimit is the number of incremental export requests served
	// in any RateWindow (default 10; negative: no limit). Docs
	// ("Incremental Exports > Rate limits"): "You can make up to 10
	// requests per minute to these endpoints" (30 with the High Volume API
	// add-on).
	ExportRateLimit int
	// AccountRateLimit is the number of requests to other endpoints served
	// in any RateWindow (default 700, the Enterprise plan; negative: no
	// limit). Docs ("Rate limits").
	AccountRateLimit int
	// RateWindow is the rate limits' window (default one minute).
	RateWindow time.Duration
	// CursorTTL, when positive, makes an after_cursor older than this
	// (fake clock) invalid: 422 InvalidPaginationParameter. Zendesk's
	// pages read here do not give a lifetime for incremental export
	// cursors; tests use this to pin the client's recovery.
	CursorTTL time.Duration
	// Latency is added to every response (real time; benchmarks, demo).
	Latency time.Duration
}

// Server is a running fake. It is safe for concurrent use; every field
// below mu is guarded by it, and no handler holds it while sleeping.
//
// The embedded harness gives every fake's API: Close, SetLatency,
// InjectFault, Count and Counts by endpoint ("GET
// /api/v2/incremental/tickets/cursor", "GET /api/v2/tickets/{id}", ...;
// throttled and failed requests included), Requests, Total, Throttled
// (429 answers of the rate limits and of faults) and ResetCounts.
type Server struct {
	*fakeapi.Harness

	// URL is the base URL (http://127.0.0.1:port); the API lives under
	// /api/v2.
	URL string

	opts Options

	mu          sync.Mutex
	orgs        map[int64]*Organization
	orgsOrdered []*Organization // orgs in export order (updated_at, id); nil after a change
	tickets     map[int64]*Ticket
	ordered     []*Ticket // tickets in export order (generated_timestamp, id); nil after a change
	metrics     map[int64]*TicketMetric
	cursors     map[string]time.Time // issued after_cursor -> issue time (CursorTTL)
	// exportWin and otherWin are the incremental export endpoints' and
	// every other endpoint's rate windows, in fake clock time.
	exportWin, otherWin fakeapi.Window
}

// NewServer starts a fake listening on 127.0.0.1.
func NewServer(opts Options) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ExportRateLimit == 0 {
		opts.ExportRateLimit = 10
	}
	if opts.AccountRateLimit == 0 {
		opts.AccountRateLimit = 700
	}
	if opts.RateWindow <= 0 {
		opts.RateWindow = time.Minute
	}
	s := &Server{
		opts:      opts,
		orgs:      map[int64]*Organization{},
		tickets:   map[int64]*Ticket{},
		metrics:   map[int64]*TicketMetric{},
		cursors:   map[string]time.Time{},
		exportWin: fakeapi.Window{Limit: opts.ExportRateLimit, Span: opts.RateWindow},
		otherWin:  fakeapi.Window{Limit: opts.AccountRateLimit, Span: opts.RateWindow},
	}
	s.Harness = s.harness(opts)
	s.URL = s.Start(s.Wrap(http.HandlerFunc(s.serve)))
	return s
}

var (
	reTicket        = regexp.MustCompile(`^/api/v2/tickets/(\d+)(\.json)?$`)
	reTicketMetrics = regexp.MustCompile(`^/api/v2/tickets/(\d+)/metrics(\.json)?$`)
)

// serve answers a request that passed the harness (counted, delayed by
// the latency, not hit by a fault).
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	now := s.opts.Now()
	path := strings.TrimSuffix(r.URL.Path, ".json")
	export := strings.HasPrefix(path, "/api/v2/incremental/")

	// Docs ("API token authentication"): "{email_address}/token:{api_token}"
	// Base64-encoded in a Basic Authorization header; anything else is
	// 401 {"error": "Couldn't authenticate you"} ("Errors", "Security and
	// authentication").
	if !s.authenticated(r) {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "Couldn't authenticate you"})
		return
	}
	if export && s.opts.NotAdmin {
		writeError(w, http.StatusForbidden, "Forbidden", "You do not have access to this page. Please contact the account owner of this help desk for further help.")
		return
	}
	// Docs ("Rate limits"): X-Rate-Limit and X-Rate-Limit-Remaining on
	// every response; over the limit 429 with Retry-After in seconds.
	s.mu.Lock()
	remaining, retryAfter, ok := s.admit(export, now)
	s.mu.Unlock()
	limit := s.opts.AccountRateLimit
	if export {
		limit = s.opts.ExportRateLimit
	}
	if limit > 0 {
		w.Header().Set("X-Rate-Limit", itoa(int64(limit)))
		w.Header().Set("X-Rate-Limit-Remaining", itoa(int64(remaining)))
	}
	if !ok {
		s.NoteThrottled()
		w.Header().Set("Retry-After", itoa(int64(retryAfter)))
		// Docs ("Incremental Exports > Rate limits"): the limit "behaves
		// identically to the one described in Rate limits" (429 +
		// Retry-After). The description wording is the fake's.
		writeError(w, http.StatusTooManyRequests, "APIRateLimitExceeded", "Number of allowed incremental export API requests per minute exceeded")
		return
	}
	if r.Method != http.MethodGet {
		writeError(w, http.StatusNotFound, "InvalidEndpoint", "Not found")
		return
	}
	switch {
	case path == "/api/v2/incremental/tickets/cursor":
		s.exportTickets(w, r, now)
	case path == "/api/v2/incremental/organizations":
		s.exportOrganizations(w, r, now)
	case reTicketMetrics.MatchString(r.URL.Path):
		s.showTicket(w, reTicketMetrics.FindStringSubmatch(r.URL.Path)[1], true)
	case reTicket.MatchString(r.URL.Path):
		s.showTicket(w, reTicket.FindStringSubmatch(r.URL.Path)[1], false)
	default:
		// Docs ("Errors"): an unknown path is 404 InvalidEndpoint.
		writeError(w, http.StatusNotFound, "InvalidEndpoint", "Not found")
	}
}

func (s *Server) authenticated(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	if !strings.HasPrefix(h, "Basic ") {
		return false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(h, "Basic "))
	if err != nil {
		return false
	}
	user, token, ok := strings.Cut(string(raw), ":")
	email, isToken := strings.CutSuffix(user, "/token")
	if !ok || !isToken || email == "" || token == "" {
		return false
	}
	if s.opts.Email == "" && s.opts.Token == "" {
		return true
	}
	return subtle.ConstantTimeCompare([]byte(email), []byte(s.opts.Email))&
		subtle.ConstantTimeCompare([]byte(token), []byte(s.opts.Token)) == 1
}

// writeError writes Zendesk's error body: {"error": code, "description":
// text} (docs "Errors"; 422 validation errors add "details").
func writeError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, map[string]string{"error": code, "description": description})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
