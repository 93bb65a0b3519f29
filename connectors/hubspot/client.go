// Package hubspot is healthsync's HubSpot CRM v3 connector: private app or
// OAuth 2.0 token auth, companies/deals/tasks pulls (list for complete
// enumerations, search for increments, with the search API's 10,000-result
// cap handled), deal-to-company associations, batch write-back with 207
// multi-status results, task creation, custom property setup and webhook v3
// signature verification.
package hubspot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/httpclient"
	"github.com/healthsync/healthsync/connectors/record"
)

// DefaultBaseURL is HubSpot's API host.
const DefaultBaseURL = "https://api.hubapi.com"

// Options are the non-config dependencies of a Client.
type Options struct {
	// Logger receives the client's logs (zero value: disabled).
	Logger zerolog.Logger
	// Now is the clock (nil: time.Now), for token expiry, search windows and
	// webhook timestamps.
	Now func() time.Time
	// Overlap is how far an incremental search reaches back before the
	// stored cursor, for the search index's lag (default 2 minutes).
	Overlap time.Duration
	// WebhookURL is the target URL exactly as registered in the HubSpot app,
	// used for signature v3 verification; empty: rebuilt from the request
	// (X-Forwarded-Proto/Host honoured).
	WebhookURL string
	// Transport overrides the HTTP transport (tests).
	Transport http.RoundTripper
}

// Client talks to one HubSpot account. One Client is shared by every job and
// worker of the process for that account, so its rate-limit budgets (general
// and search) are the account's.
type Client struct {
	cfg    config.Connector
	opts   Options
	base   string
	log    zerolog.Logger
	hc     *httpclient.Client
	auth   *tokenSource
	search *rate.Limiter

	objects map[string][]string // extra properties by object (companies, deals, tasks)

	dailyLimit     atomic.Int64
	dailyRemaining atomic.Int64

	taskMu   sync.Mutex
	taskKeys map[string]string // dedupe key -> task ID
	tasksSet bool              // taskKeys loaded from HubSpot

	ownerMu sync.Mutex
	owners  map[string]string // owner ID -> name for this run (owners.go); nil: not read yet
}

// New validates cfg for HubSpot and builds a Client.
func New(cfg config.Connector, opts Options) (*Client, error) {
	if cfg.Kind != "" && cfg.Kind != config.KindHubSpot {
		return nil, fmt.Errorf("hubspot: connector %q has kind %q", cfg.Name, cfg.Kind)
	}
	a := cfg.Auth
	oauth := a.ClientID != "" || !a.RefreshToken.IsZero()
	switch {
	case !a.AccessToken.IsZero() && oauth:
		return nil, errors.New("hubspot: auth: set either access_token or client_id/client_secret/refresh_token, not both")
	case a.AccessToken.IsZero() && !oauth:
		return nil, errors.New("hubspot: auth: access_token or client_id/client_secret/refresh_token is required")
	case oauth && (a.ClientID == "" || a.ClientSecret.IsZero() || a.RefreshToken.IsZero()):
		return nil, errors.New("hubspot: auth: OAuth needs client_id, client_secret and refresh_token")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Overlap <= 0 {
		opts.Overlap = 2 * time.Minute
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	if _, err := url.Parse(base); err != nil {
		return nil, fmt.Errorf("hubspot: base_url: %w", err)
	}
	if cfg.RateLimit.Requests <= 0 || cfg.RateLimit.Per <= 0 {
		cfg.RateLimit = config.RateLimit{Requests: 100, Per: config.Duration(10 * time.Second), Burst: cfg.RateLimit.Burst}
	}
	if cfg.SearchRateLimit.Requests <= 0 || cfg.SearchRateLimit.Per <= 0 {
		cfg.SearchRateLimit = config.RateLimit{Requests: 4, Per: config.Duration(time.Second), Burst: cfg.SearchRateLimit.Burst}
	}
	if cfg.Name == "" {
		cfg.Name = "hubspot"
	}
	c := &Client{
		cfg:      cfg,
		opts:     opts,
		base:     base,
		log:      opts.Logger,
		search:   httpclient.NewLimiter(cfg.SearchRateLimit),
		objects:  map[string][]string{},
		taskKeys: map[string]string{},
	}
	c.dailyLimit.Store(-1)
	c.dailyRemaining.Store(-1)
	for _, o := range cfg.Objects {
		c.objects[normObject(o.Name)] = append(c.objects[normObject(o.Name)], o.Fields...)
	}
	ho := httpclient.FromConfig(cfg, opts.Logger)
	ho.Hint = c.hint
	baseT := opts.Transport
	if baseT == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 32
		baseT = t
	}
	// The search endpoints have their own, lower budget on top of the
	// general one: a transport takes the search token before sending.
	ho.Transport = &searchGate{lim: c.search, base: baseT}
	c.hc = httpclient.New(ho)
	c.auth = newTokenSource(c, a, opts.Now)
	return c, nil
}

// Stats returns the HTTP client's counters.
func (c *Client) Stats() httpclient.Stats { return c.hc.Stats() }

// searchGate waits on the search limiter before POST .../search requests.
type searchGate struct {
	lim  *rate.Limiter
	base http.RoundTripper
}

func (t *searchGate) RoundTrip(r *http.Request) (*http.Response, error) {
	if t.lim != nil && r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/search") {
		if err := t.lim.Wait(r.Context()); err != nil {
			return nil, fmt.Errorf("waiting for search rate limit: %w", err)
		}
	}
	return t.base.RoundTrip(r)
}

func normObject(n string) string {
	switch strings.ToLower(n) {
	case "company", "companies", "0-2":
		return "companies"
	case "deal", "deals", "0-3":
		return "deals"
	case "task", "tasks", "0-27":
		return "tasks"
	}
	return strings.ToLower(n)
}

// apiError is HubSpot's error body: the specs' Error (category, message,
// correlationId, subCategory, context) and the 429 body of the usage
// guidelines (errorType RATE_LIMIT, policyName, requestId).
type apiError struct {
	Status        string              `json:"status"`
	Message       string              `json:"message"`
	Category      string              `json:"category"`
	SubCategory   any                 `json:"subCategory"`
	CorrelationID string              `json:"correlationId"`
	ErrorType     string              `json:"errorType"`
	PolicyName    string              `json:"policyName"`
	RequestID     string              `json:"requestId"`
	Context       map[string][]string `json:"context"`
}

// vendorError turns a non-2xx response into *httpclient.Error.
func (c *Client) vendorError(resp *http.Response, body []byte) *httpclient.Error {
	var ae apiError
	_ = json.Unmarshal(body, &ae)
	e := &httpclient.Error{
		Vendor:    "hubspot",
		Status:    resp.StatusCode,
		Code:      ae.Category,
		Message:   c.hc.Redact(ae.Message),
		RequestID: ae.CorrelationID,
		Policy:    ae.PolicyName,
	}
	if e.Code == "" {
		e.Code = ae.ErrorType
	}
	if e.Code == "" && ae.Status != "" && ae.Status != "error" {
		e.Code = ae.Status // OAuth errors: BAD_REFRESH_TOKEN, ...
	}
	if e.RequestID == "" {
		e.RequestID = resp.Header.Get("X-HubSpot-Correlation-Id")
	}
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	if w, ok := httpclient.RetryAfter(resp.Header, c.opts.Now()); ok {
		e.RetryAfter = w
	}
	return e
}

// hint applies HubSpot's rate-limit rules: a 429 whose policyName is DAILY
// stops the run (errors.Is ErrQuota); any other 429 (TEN_SECONDLY_ROLLING,
// SECONDLY) waits and retries, for Retry-After when sent, otherwise the
// back-off. It also records the X-HubSpot-RateLimit-Daily* headers.
func (c *Client) hint(resp *http.Response) httpclient.Decision {
	c.readUsage(resp.Header)
	if resp.StatusCode != http.StatusTooManyRequests {
		return httpclient.Decision{}
	}
	body := httpclient.PeekBody(resp)
	e := c.vendorError(resp, body)
	if e.Policy == "DAILY" {
		return httpclient.Decision{Handled: true, Err: fmt.Errorf("hubspot: daily API limit reached, stopping until it resets: %w", e)}
	}
	return httpclient.Decision{Handled: true, Retry: true, Wait: e.RetryAfter}
}

func (c *Client) readUsage(h http.Header) {
	if v, err := strconv.ParseInt(h.Get("X-HubSpot-RateLimit-Daily"), 10, 64); err == nil {
		c.dailyLimit.Store(v)
	}
	if v, err := strconv.ParseInt(h.Get("X-HubSpot-RateLimit-Daily-Remaining"), 10, 64); err == nil {
		c.dailyRemaining.Store(v)
	}
}

func (c *Client) usage() *record.APIUsage {
	l, r := c.dailyLimit.Load(), c.dailyRemaining.Load()
	if l < 0 || r < 0 {
		return nil
	}
	return &record.APIUsage{Used: l - r, Limit: l}
}

// call sends one API request with a JSON body (nil for none) and decodes a
// 2xx JSON answer into out. It authenticates, and on a 401 with OAuth it
// refreshes the token once and resends. ok lists extra statuses treated as
// success (e.g. 207). The response status is returned.
func (c *Client) call(ctx context.Context, method, path string, query url.Values, in, out any) (int, error) {
	var payload []byte
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, fmt.Errorf("encoding request: %w", err)
		}
		payload = b
	}
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	stale := ""
	for attempt := 0; ; attempt++ {
		tok, err := c.auth.token(ctx, stale)
		if err != nil {
			return 0, err
		}
		var body io.Reader
		if payload != nil {
			body = bytes.NewReader(payload)
		}
		req, err := http.NewRequestWithContext(ctx, method, u, body)
		if err != nil {
			return 0, fmt.Errorf("building request: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Accept", "application/json")
		if payload != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := c.hc.Do(req)
		if err != nil {
			return 0, fmt.Errorf("%s %s: %w", method, path, err)
		}
		b, rerr := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		resp.Body.Close()
		if rerr != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: reading response: %w", method, path, rerr)
		}
		if resp.StatusCode == http.StatusUnauthorized && c.auth.oauth && attempt == 0 {
			stale = tok
			continue
		}
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return resp.StatusCode, fmt.Errorf("%s %s: %w", method, path, c.vendorError(resp, b))
		}
		if out != nil && len(b) > 0 {
			if err := json.Unmarshal(b, out); err != nil {
				return resp.StatusCode, fmt.Errorf("%s %s: decoding response: %w", method, path, err)
			}
		}
		return resp.StatusCode, nil
	}
}
