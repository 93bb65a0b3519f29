// Package hubspottest is a fake HubSpot account on 127.0.0.1 for tests and
// the demo: CRM v3 objects (list, search, batch read/update/create),
// associations v4 batch read, properties and property groups, the OAuth v1
// token endpoint, rate limits with HubSpot's 429 bodies and headers, and
// injectable latency and faults.
//
// It is built from HubSpot's documentation and HubSpot's OpenAPI documents
// (the parts in ../testdata/specs; each handler names its source), never from the
// client package, so a mismatch between the two fails a test. It is safe for
// concurrent use and imports neither the client nor "testing".
package hubspottest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/healthsync/healthsync/connectors/internal/fakeapi"
)

// Options configure a Server. Zero values disable the corresponding check.
type Options struct {
	// AccessToken is a private app token the server accepts as Bearer.
	AccessToken string
	// ClientID, ClientSecret and RefreshToken configure an OAuth app: the
	// token endpoint exchanges RefreshToken for access tokens valid TokenTTL
	// (default 30 minutes, as HubSpot documents).
	ClientID, ClientSecret, RefreshToken string
	TokenTTL                             time.Duration

	// TenSecondlyLimit is the number of requests allowed per rolling
	// Window (default 10s) before a 429 TEN_SECONDLY_ROLLING; 0 = unlimited.
	TenSecondlyLimit int
	Window           time.Duration
	// SearchPerSecond is the search endpoints' own limit; 0 = unlimited.
	SearchPerSecond int
	// DailyLimit is the number of requests per day with the private app
	// token before a 429 DAILY; 0 = unlimited (250,000 is reported in
	// headers). OAuth tokens have no daily limit.
	DailyLimit int

	// Latency is added to every request.
	Latency time.Duration
	// Now is the server's clock (nil: time.Now). It stamps modifications,
	// token expiry and rate-limit windows.
	Now func() time.Time
}

// Server is a fake HubSpot account.
//
// The embedded harness gives every fake's API: Close, SetLatency,
// InjectFault, Count and Counts by "METHOD /pattern" (e.g.
// "POST /crm/v3/objects/companies/batch/update"; object types are
// normalized, 0-3 is counted as deals), ResetCounts and Requests.
type Server struct {
	*fakeapi.Harness

	// URL is the base URL, e.g. http://127.0.0.1:PORT.
	URL string

	opts Options

	mu      sync.Mutex
	objects map[string]map[string]*Object // normalized type -> id -> object
	order   map[string][]*Object          // type -> records by ascending ID; see sorted
	// lastSearch is the last search per type, for its next pages.
	lastSearch map[string]searchMemo
	nextID     int64
	props      map[string]map[string]*Property // type -> name -> property
	groups     map[string]map[string]*PropertyGroup
	tokens     map[string]time.Time // OAuth access token -> expiry
	tokenSeq   int
	recFail    map[string]RecordFault // "type/id" -> per-record batch error
	owners     ownerBook              // owners.go
	rolling    fakeapi.Window         // TenSecondlyLimit per Window
	searches   fakeapi.Window         // SearchPerSecond
	daily      int
	day        string
}

// NewServer starts a fake HubSpot on 127.0.0.1.
func NewServer(opts Options) *Server {
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = 30 * time.Minute
	}
	if opts.Window <= 0 {
		opts.Window = 10 * time.Second
	}
	s := &Server{
		opts:    opts,
		objects: map[string]map[string]*Object{},
		nextID:  1000,
		props:   map[string]map[string]*Property{},
		groups:  map[string]map[string]*PropertyGroup{},
		tokens:  map[string]time.Time{},
		recFail: map[string]RecordFault{},
		rolling: fakeapi.Window{Limit: opts.TenSecondlyLimit, Span: opts.Window},
		// The search endpoints' own budget is per second ("Search the
		// CRM", Limitations: "five requests per second per account").
		searches: fakeapi.Window{Limit: opts.SearchPerSecond, Span: time.Second},
	}
	s.Harness = fakeapi.New(fakeapi.Config{
		WriteError:  s.writeFault,
		Malformed:   `{"results": [`,
		ContentType: "application/json;charset=utf-8",
		Match:       fakeapi.MatchPrefix,
		Key:         func(r *http.Request) string { return pattern(r.Method, r.URL.Path) },
		Latency:     opts.Latency,
	})
	s.seedStandardProperties()
	s.URL = s.Start(s.Wrap(http.HandlerFunc(s.serve)))
	return s
}

func (s *Server) now() time.Time {
	if s.opts.Now != nil {
		return s.opts.Now().UTC()
	}
	return time.Now().UTC()
}

// FaultStuck is a Fault Kind: list paging answers the same
// paging.next.after forever.
const FaultStuck = "stuck"

// Fault is an injected failure (fakeapi.Fault): Path matches request paths
// that start with it; a Status is answered with HubSpot's error body, a 429
// with the rate-limit body of the policy in Code (TEN_SECONDLY_ROLLING by
// default, SECONDLY or DAILY); Malformed answers a 200 cut short; Delay
// holds the request and then serves it; Kind FaultStuck repeats a list
// cursor.
type Fault = fakeapi.Fault

// writeFault answers a fault's Status.
func (s *Server) writeFault(w http.ResponseWriter, _ *http.Request, f Fault) {
	if f.Status == http.StatusTooManyRequests {
		s.writeThrottle(w, f.Code)
		return
	}
	cat := "INTERNAL_ERROR"
	if f.Status < 500 {
		cat = "VALIDATION_ERROR"
	}
	writeError(w, f.Status, cat, fmt.Sprintf("injected failure (HTTP %d)", f.Status), nil)
}

// RecordFault is a per-record error a batch write reports in a 207.
type RecordFault struct {
	Category string // e.g. VALIDATION_ERROR, INTERNAL_ERROR
	Message  string
}

// FailRecord makes batch writes to one record fail with a 207 entry until
// ClearRecordFault.
func (s *Server) FailRecord(objectType, id string, f RecordFault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recFail[normType(objectType)+"/"+id] = f
}

// ClearRecordFault removes a FailRecord fault.
func (s *Server) ClearRecordFault(objectType, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.recFail, normType(objectType)+"/"+id)
}

// normType maps object type IDs to names: HubSpot accepts both
// (/crm/v3/objects/0-3 is deals, 0-2 companies, 0-27 tasks).
func normType(t string) string {
	switch strings.ToLower(t) {
	case "0-2", "company", "companies":
		return "companies"
	case "0-3", "deal", "deals":
		return "deals"
	case "0-27", "task", "tasks":
		return "tasks"
	case "0-1", "contact", "contacts":
		return "contacts"
	}
	return strings.ToLower(t)
}

func correlationID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// writeError answers HubSpot's error body (the specs' Error schema:
// status, message, correlationId, category, optional subCategory/context).
func writeError(w http.ResponseWriter, status int, category, message string, context map[string][]string) {
	body := map[string]any{
		"status":        "error",
		"message":       message,
		"correlationId": correlationID(),
		"category":      category,
	}
	if context != nil {
		body["context"] = context
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// pattern names a request for the counters.
func pattern(method, path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) >= 4 && parts[0] == "crm" && parts[2] == "objects" {
		parts[3] = normType(parts[3])
		if len(parts) == 5 && parts[4] != "search" {
			parts[4] = "{id}"
		}
	}
	if len(parts) >= 4 && parts[0] == "crm" && parts[1] == "v3" && parts[2] == "properties" {
		parts[3] = normType(parts[3])
		if len(parts) == 5 {
			parts[4] = "{name}"
		}
		if len(parts) == 6 {
			parts[5] = "{name}"
		}
	}
	return method + " /" + strings.Join(parts, "/")
}

// serve answers a request that the harness let through.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/oauth/v1/token" {
		s.handleToken(w, r)
		return
	}
	ok, oauth := s.authorized(w, r)
	if !ok {
		return
	}
	if !s.admit(w, r, oauth) {
		return
	}
	f, _ := fakeapi.FaultOf(r)
	s.route(w, r, f.Kind == FaultStuck)
}

// authorized checks the Bearer token: a private app token or an unexpired
// OAuth access token. Bodies follow HubSpot's authentication errors
// (category INVALID_AUTHENTICATION / EXPIRED_AUTHENTICATION, HTTP 401).
// oauth reports an OAuth access token.
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) (ok, oauth bool) {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		writeError(w, http.StatusUnauthorized, "INVALID_AUTHENTICATION",
			"Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview", nil)
		return false, false
	}
	if s.opts.AccessToken != "" && tok == s.opts.AccessToken {
		return true, false
	}
	s.mu.Lock()
	exp, known := s.tokens[tok]
	now := s.now()
	s.mu.Unlock()
	if !known {
		writeError(w, http.StatusUnauthorized, "INVALID_AUTHENTICATION", "The OAuth token used to make this call is invalid.", nil)
		return false, false
	}
	if !now.Before(exp) {
		mins := int(now.Sub(exp) / time.Minute)
		writeError(w, http.StatusUnauthorized, "EXPIRED_AUTHENTICATION",
			fmt.Sprintf("The OAuth token used to make this call expired %d minute(s) ago.", mins), nil)
		return false, false
	}
	return true, true
}

// ExpireTokens makes every issued OAuth access token invalid at once (as
// if revoked or expired early), to exercise refresh on 401.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.tokens {
		s.tokens[k] = time.Time{}
	}
}

// admit applies the rate limits and sets HubSpot's rate-limit headers
// (developers.hubspot.com "API usage guidelines and limits":
// X-HubSpot-RateLimit-Daily, -Daily-Remaining, -Interval-Milliseconds,
// -Max, -Remaining, -Secondly, -Secondly-Remaining). Requests with an
// OAuth token have no daily limit and get no -Daily headers (developer
// changelog "Rate limit headers will now appear for OAuth authenticated
// calls": "OAuth authenticated calls will not include
// X-HubSpot-RateLimit-Daily or X-HubSpot-RateLimit-Daily-Remaining because
// there is no daily limit for these calls").
func (s *Server) admit(w http.ResponseWriter, r *http.Request, oauth bool) bool {
	s.mu.Lock()
	now := s.now()
	day := now.Format("2006-01-02")
	if day != s.day {
		s.day, s.daily = day, 0
	}
	search := r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/search")
	daily := s.opts.DailyLimit
	if daily <= 0 {
		daily = 250000
	}
	max := s.opts.TenSecondlyLimit
	if max <= 0 {
		max = 100
	}
	policy := ""
	switch {
	case !oauth && s.opts.DailyLimit > 0 && s.daily >= s.opts.DailyLimit:
		policy = "DAILY"
	case s.rolling.Full(now):
		policy = "TEN_SECONDLY_ROLLING"
	case search && s.searches.Full(now):
		policy = "SECONDLY"
	}
	if policy == "" {
		s.rolling.Add(now)
		s.daily++
		if search {
			s.searches.Add(now)
		}
	}
	remaining := max - s.rolling.Len(now)
	if remaining < 0 {
		remaining = 0
	}
	dailyRemaining := daily - s.daily
	if dailyRemaining < 0 {
		dailyRemaining = 0
	}
	s.mu.Unlock()
	h := w.Header()
	if !oauth {
		h.Set("X-HubSpot-RateLimit-Daily", strconv.Itoa(daily))
		h.Set("X-HubSpot-RateLimit-Daily-Remaining", strconv.Itoa(dailyRemaining))
	}
	h.Set("X-HubSpot-RateLimit-Interval-Milliseconds", strconv.FormatInt(s.opts.Window.Milliseconds(), 10))
	h.Set("X-HubSpot-RateLimit-Max", strconv.Itoa(max))
	h.Set("X-HubSpot-RateLimit-Remaining", strconv.Itoa(remaining))
	h.Set("X-HubSpot-RateLimit-Secondly", strconv.Itoa(max/10))
	h.Set("X-HubSpot-RateLimit-Secondly-Remaining", strconv.Itoa(remaining/10))
	if policy != "" {
		s.writeThrottle(w, policy)
		return false
	}
	return true
}

// writeThrottle answers HubSpot's documented 429 body ("API usage
// guidelines": status, message, errorType RATE_LIMIT, correlationId,
// policyName, requestId).
func (s *Server) writeThrottle(w http.ResponseWriter, policy string) {
	if policy == "" {
		policy = "TEN_SECONDLY_ROLLING"
	}
	msg := "You have reached your ten_secondly_rolling limit."
	switch policy {
	case "DAILY":
		msg = "You have reached your daily limit."
	case "SECONDLY":
		msg = "You have reached your secondly limit."
	}
	if policy != "DAILY" {
		w.Header().Set("X-HubSpot-RateLimit-Remaining", "0")
	} else {
		w.Header().Set("X-HubSpot-RateLimit-Daily-Remaining", "0")
	}
	writeJSON(w, http.StatusTooManyRequests, map[string]any{
		"status":        "error",
		"message":       msg,
		"errorType":     "RATE_LIMIT",
		"correlationId": correlationID(),
		"policyName":    policy,
		"requestId":     correlationID(),
	})
}

func (s *Server) route(w http.ResponseWriter, r *http.Request, stuck bool) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case len(parts) >= 4 && parts[0] == "crm" && parts[1] == "v3" && parts[2] == "objects":
		typ := normType(parts[3])
		switch {
		case len(parts) == 4 && r.Method == http.MethodGet:
			s.handleList(w, r, typ, stuck)
		case len(parts) == 5 && parts[4] == "search" && r.Method == http.MethodPost:
			s.handleSearch(w, r, typ)
		case len(parts) == 5 && r.Method == http.MethodGet:
			s.handleGet(w, r, typ, parts[4])
		case len(parts) == 6 && parts[4] == "batch" && r.Method == http.MethodPost:
			switch parts[5] {
			case "read":
				s.handleBatchRead(w, r, typ)
			case "update":
				s.handleBatchUpdate(w, r, typ)
			case "create":
				s.handleBatchCreate(w, r, typ)
			default:
				writeError(w, http.StatusNotFound, "OBJECT_NOT_FOUND", "unsupported batch operation", nil)
			}
		default:
			writeError(w, http.StatusNotFound, "OBJECT_NOT_FOUND", "resource not found", nil)
		}
	case len(parts) == 7 && parts[0] == "crm" && parts[1] == "v4" && parts[2] == "associations" &&
		parts[5] == "batch" && parts[6] == "read" && r.Method == http.MethodPost:
		s.handleAssocRead(w, r, normType(parts[3]), normType(parts[4]))
	case len(parts) == 3 && parts[0] == "crm" && parts[1] == "v3" && parts[2] == "owners" && r.Method == http.MethodGet:
		s.handleOwners(w, r)
	case len(parts) >= 4 && parts[0] == "crm" && parts[1] == "v3" && parts[2] == "properties":
		s.routeProperties(w, r, normType(parts[3]), parts[4:])
	default:
		writeError(w, http.StatusNotFound, "OBJECT_NOT_FOUND", "resource not found", nil)
	}
}
