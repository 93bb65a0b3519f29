// Package salesforcetest is a fake Salesforce org on 127.0.0.1 for tests and
// the demo: OAuth token endpoint (client credentials, JWT bearer, refresh
// token) on the org's My Domain and on a generic login host that refuses
// client credentials, a SOQL subset with query/queryMore/queryAll, describe, sObject
// Collections create and update with per-record SaveResults, the daily API
// allocation reported in Sforce-Limit-Info, expiring sessions, injectable
// latency and faults, and counters. It is written from Salesforce's REST API
// Developer Guide, not from the healthsync client, and it imports neither
// that client nor "testing".
package salesforcetest

import (
	"crypto/rand"
	"crypto/rsa"
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

// Options configure the fake org. Zero values take the defaults noted.
type Options struct {
	// OrgID is the 18-character organization ID (default generated, 00D...).
	OrgID string
	// ClientID and ClientSecret are the connected app's consumer key and
	// secret (defaults "fake-client-id", "fake-client-secret").
	ClientID, ClientSecret string
	// Username is the user a JWT bearer assertion must name (sub).
	Username string
	// RefreshToken is accepted by the refresh_token flow.
	RefreshToken string
	// PublicKey verifies RS256 JWT bearer assertions; nil rejects that flow.
	PublicKey *rsa.PublicKey
	// Now is the org's clock (default time.Now): record timestamps and
	// session expiry follow it.
	Now func() time.Time
	// SessionTTL is how long an access token lives (default 2h).
	SessionTTL time.Duration
	// DailyAllocation is the org's daily API request allocation (default
	// 100000).
	DailyAllocation int64
	// BatchSize is the largest query batch the org returns (default 2000);
	// a request's Sforce-Query-Options: batchSize=N (200..2000) lowers it.
	BatchSize int
	// Latency is added to every request.
	Latency time.Duration
}

// Server is a fake Salesforce org. It is safe for concurrent use.
//
// The embedded harness gives every fake's API: Close, SetLatency,
// InjectFault, Count and Counts (by kind: token, query, queryMore,
// queryAll, describe, sobject, composite; a request a fault answers is not
// counted), ResetCounts and Requests.
type Server struct {
	*fakeapi.Harness

	// URL is the org's My Domain URL (https://YOURDOMAIN.my.salesforce.com
	// in a real org): the login URL for every OAuth flow and the
	// instance_url the token endpoint returns.
	URL string
	// LoginURL acts as the generic login host, https://login.salesforce.com
	// (or test.salesforce.com for a sandbox): it serves only the token
	// endpoint and refuses the client credentials flow, as Salesforce does.
	LoginURL string

	opts Options

	mu              sync.Mutex
	objects         map[string]*sobject
	seq             map[string]int64
	sessions        map[string]time.Time // access token -> expiry
	used            int64
	allocation      int64
	cursors         map[string]*cursor
	recordFaults    map[string]*recordFault
	integrationUser string
	orgID           string
	version         string // last API version seen, for URLs
}

// NewServer starts a fake org on 127.0.0.1.
func NewServer(opts Options) *Server {
	if opts.ClientID == "" {
		opts.ClientID = "fake-client-id"
	}
	if opts.ClientSecret == "" {
		opts.ClientSecret = "fake-client-secret"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 2 * time.Hour
	}
	if opts.DailyAllocation <= 0 {
		opts.DailyAllocation = 100000
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 2000
	}
	s := &Server{
		opts:    opts,
		objects: map[string]*sobject{}, seq: map[string]int64{}, sessions: map[string]time.Time{},
		cursors: map[string]*cursor{}, recordFaults: map[string]*recordFault{},
		allocation: opts.DailyAllocation, version: "62.0",
	}
	s.Harness = fakeapi.New(fakeapi.Config{
		WriteError:  writeFault,
		Malformed:   `{"totalSize":1,"done":tr`,
		ContentType: "application/json;charset=UTF-8",
		Match:       fakeapi.MatchContains,
		Latency:     opts.Latency,
	})
	for _, o := range standardObjects() {
		s.objects[lower(o.name)] = o
	}
	s.orgID = opts.OrgID
	if s.orgID == "" {
		s.orgID = To18("00D5g000004Fake")
	}
	s.integrationUser = s.insertLocked(s.objects["user"], map[string]any{"Name": "Integration User", "Username": "integration@example.com", "IsActive": true})

	mux := http.NewServeMux()
	mux.HandleFunc("POST /services/oauth2/token", s.token(false))
	mux.HandleFunc("GET /services/data/{version}/query", s.api("query", s.query))
	mux.HandleFunc("GET /services/data/{version}/query/{locator}", s.api("queryMore", s.queryMore))
	mux.HandleFunc("GET /services/data/{version}/queryAll", s.api("queryAll", s.query))
	mux.HandleFunc("GET /services/data/{version}/queryAll/{locator}", s.api("queryMore", s.queryMore))
	mux.HandleFunc("GET /services/data/{version}/sobjects/{object}/describe", s.api("describe", s.describe))
	mux.HandleFunc("GET /services/data/{version}/sobjects/{object}/{id}", s.api("sobject", s.getRecord))
	mux.HandleFunc("POST /services/data/{version}/composite/sobjects", s.api("composite", s.composite))
	mux.HandleFunc("PATCH /services/data/{version}/composite/sobjects", s.api("composite", s.composite))
	s.URL = s.Start(s.wrap(mux))

	generic := http.NewServeMux()
	generic.HandleFunc("POST /services/oauth2/token", s.token(true))
	s.LoginURL = s.Start(s.wrap(generic))
	return s
}

// OrgID is the organization's 18-character ID.
func (s *Server) OrgID() string { return s.orgID }

func (s *Server) now() time.Time { return s.opts.Now() }

// --- limits, sessions ---

// APIUsage returns the requests counted against the daily allocation and
// the allocation.
func (s *Server) APIUsage() (used, limit int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.used, s.allocation
}

// SetAPIUsage sets the daily usage and allocation (limit <= 0 keeps it).
func (s *Server) SetAPIUsage(used, limit int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.used = used
	if limit > 0 {
		s.allocation = limit
	}
}

// ExpireSessions invalidates every access token, as a session timeout or an
// admin revoking sessions does.
func (s *Server) ExpireSessions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.sessions)
}

// Fault is an injected failure (fakeapi.Fault): Path matches any request
// path containing it ("/query", "/composite/sobjects"); a Status is
// answered with the REST API error body whose errorCode is Code, or by
// default SERVER_UNAVAILABLE for 5xx, INVALID_SESSION_ID for 401 and
// UNKNOWN_EXCEPTION otherwise; Malformed answers a 200 cut short; Delay
// fakeapi.Forever never answers until the client gives up.
type Fault = fakeapi.Fault

// writeFault answers a fault's Status with the REST API error body.
func writeFault(w http.ResponseWriter, _ *http.Request, f Fault) {
	code := f.Code
	switch {
	case code != "":
	case f.Status >= 500:
		code = "SERVER_UNAVAILABLE"
	case f.Status == http.StatusUnauthorized:
		code = "INVALID_SESSION_ID"
	default:
		code = "UNKNOWN_EXCEPTION"
	}
	writeErrors(w, f.Status, code, "injected fault")
}

// maxRequestBytes is what the URI and headers of one REST call may hold
// together: a longer URI is refused with 414 URI Too Long, a longer whole
// with 431 Request Header Fields Too Large (Salesforce Help, "Maximum number
// of rows returned by SOQL queries over the REST API"). A SOQL query travels
// in the URI, so this binds long before SOQL's own 100,000-character limit.
const maxRequestBytes = 16384

// tooLarge answers a request whose URI and headers pass maxRequestBytes.
func tooLarge(w http.ResponseWriter, r *http.Request) bool {
	uri := len(r.RequestURI)
	n := uri
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(": \r\n") + len(v)
		}
	}
	var status int
	var reason string
	switch {
	case uri > maxRequestBytes:
		status, reason = http.StatusRequestURITooLong, "URI Too Long"
	case n > maxRequestBytes:
		status, reason = http.StatusRequestHeaderFieldsTooLarge, "Request Header Fields Too Large"
	default:
		return false
	}
	w.Header().Set("Content-Type", "text/html;charset=iso-8859-1")
	w.WriteHeader(status)
	fmt.Fprintf(w, "<h1>Bad Message %d</h1><pre>reason: %s</pre>", status, reason)
	return true
}

// wrap puts the request size check in front of the harness (latency,
// faults).
func (s *Server) wrap(h http.Handler) http.Handler {
	h = s.Wrap(h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tooLarge(w, r) {
			return
		}
		h.ServeHTTP(w, r)
	})
}

// writeErrors writes the REST API error body: a JSON array of
// {"message","errorCode"} (REST API Developer Guide, "Status Codes and Error
// Responses").
func writeErrors(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, []map[string]any{{"message": msg, "errorCode": code}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`[{"message":"marshal","errorCode":"UNKNOWN_EXCEPTION"}]`)
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	w.Write(b)
}

// api wraps a REST handler with what every API call does: count, check the
// session (401 INVALID_SESSION_ID), count against the daily allocation (403
// REQUEST_LIMIT_EXCEEDED once spent) and report usage in Sforce-Limit-Info
// ("api-usage=used/limit", REST API Developer Guide, "Limit Info Header").
func (s *Server) api(kind string, h func(w http.ResponseWriter, r *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.Add(r, kind)
		s.mu.Lock()
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		exp, ok := s.sessions[tok]
		if !ok || !s.now().Before(exp) {
			delete(s.sessions, tok)
			s.mu.Unlock()
			w.Header().Set("WWW-Authenticate", `Token`)
			writeErrors(w, http.StatusUnauthorized, "INVALID_SESSION_ID", "Session expired or invalid")
			return
		}
		if v := r.PathValue("version"); len(v) > 1 && v[0] == 'v' {
			s.version = v[1:]
		}
		if s.used >= s.allocation {
			used, alloc := s.used, s.allocation
			s.mu.Unlock()
			w.Header().Set("Sforce-Limit-Info", "api-usage="+strconv.FormatInt(used, 10)+"/"+strconv.FormatInt(alloc, 10))
			writeErrors(w, http.StatusForbidden, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
			return
		}
		s.used++
		w.Header().Set("Sforce-Limit-Info", "api-usage="+strconv.FormatInt(s.used, 10)+"/"+strconv.FormatInt(s.allocation, 10))
		s.mu.Unlock()
		h(w, r)
	}
}

func (s *Server) newSession() string {
	b := make([]byte, 24)
	rand.Read(b)
	tok := s.orgID[:15] + "!" + hex.EncodeToString(b)
	s.sessions[tok] = s.now().Add(s.opts.SessionTTL)
	return tok
}
