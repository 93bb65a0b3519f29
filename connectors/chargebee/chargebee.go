// Package chargebee pulls customers, subscriptions (product catalog 2.0
// subscription items, tiers and coupons) and invoices from the Chargebee API
// v2, re-reads single objects for the webhook path, and authenticates
// Chargebee webhooks (Basic auth). Every call goes through httpclient: Basic
// auth with the API key as user name, 429 api_request_limit_exceeded and
// 5xx retried with back-off, failures returned as *httpclient.Error.
//
// Timestamps are Unix seconds on the wire and UTC time.Time in records;
// amounts are minor units on both sides.
package chargebee

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/httpclient"
	"github.com/healthsync/healthsync/connectors/record"
)

// DefaultRateLimit is the client's request budget when the connector sets
// no rate_limit. Docs ("What are the Chargebee API limits?"): a site allows
// a number of "requests in the past 60 seconds", 150 on test sites and the
// Starter plan, and answers 429 api_request_limit_exceeded for about a
// minute beyond it. A bucket of 30 refilled at 2 a second never sends more
// than 30 + 120 = 150 in any 60 seconds. Sites on a larger plan set
// rate_limit (e.g. {requests: 900, per: 1m, burst: 100} under 1,000).
var DefaultRateLimit = config.RateLimit{Requests: 120, Per: config.Duration(time.Minute), Burst: 30}

// Options are the connector's process-level dependencies.
type Options struct {
	// Logger receives the connector's log lines (zero value: disabled).
	Logger zerolog.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// PageSize is the list limit, 1..100 (default 100, Chargebee's maximum).
	PageSize int
	// Overlap is subtracted from a stored updated_at cursor before it is used
	// as updated_at[after], to absorb clock skew and records committed out
	// of order (default 5m; upserts are idempotent).
	Overlap time.Duration
	// CatalogTTL is how long the item price and coupon catalogs are reused
	// before a pull lists them again (default 1h). Unknown ids are fetched
	// one by one whatever the age.
	CatalogTTL time.Duration
	// Transport overrides the HTTP transport (tests).
	Transport http.RoundTripper
}

// Client is a Chargebee connector; one instance serves every job of the
// process for its site.
type Client struct {
	name    string
	base    string // https://{site}.chargebee.com or cfg.BaseURL, no trailing slash
	apiKey  config.Secret
	http    *httpclient.Client
	log     zerolog.Logger
	now     func() time.Time
	page    int
	overlap time.Duration
	ttl     time.Duration

	catMu   sync.Mutex
	prices  map[string]itemPrice
	coupons map[string]coupon
	catAt   time.Time
}

// Stream names, which key the engine's cursors.
const (
	StreamCustomers     = "customers"
	StreamSubscriptions = "subscriptions"
	StreamInvoices      = "invoices"
)

// New validates cfg (kind chargebee, site or base_url, auth.api_key) and
// builds a Client.
func New(cfg config.Connector, opts Options) (*Client, error) {
	var problems []string
	if cfg.Kind != "" && cfg.Kind != config.KindChargebee {
		problems = append(problems, fmt.Sprintf("kind is %q, want %q", cfg.Kind, config.KindChargebee))
	}
	if cfg.Auth.APIKey.IsZero() {
		problems = append(problems, "auth.api_key is required")
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		if cfg.Site == "" {
			problems = append(problems, "site is required (or base_url)")
		} else if strings.ContainsAny(cfg.Site, "./:@ ") {
			problems = append(problems, fmt.Sprintf("site %q must be the site name only, as in {site}.chargebee.com", cfg.Site))
		}
		base = "https://" + cfg.Site + ".chargebee.com"
	} else if u, err := url.Parse(base); err != nil || u.Scheme == "" || u.Host == "" {
		problems = append(problems, fmt.Sprintf("base_url %q is not an absolute URL", cfg.BaseURL))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("chargebee connector %q: %s", cfg.Name, strings.Join(problems, "; "))
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.PageSize <= 0 || opts.PageSize > 100 {
		opts.PageSize = 100
	}
	if opts.Overlap <= 0 {
		opts.Overlap = 5 * time.Minute
	}
	if opts.CatalogTTL <= 0 {
		opts.CatalogTTL = time.Hour
	}
	log := opts.Logger.With().Str("connector", cfg.Name).Str("vendor", record.Chargebee).Logger()
	ho := httpclient.FromConfig(cfg, opts.Logger)
	if ho.Limiter == nil {
		ho.Limiter = httpclient.NewLimiter(DefaultRateLimit)
	}
	ho.Hint = hint
	ho.Transport = opts.Transport
	if !cfg.Webhook.Password.IsZero() {
		ho.Secrets = append(ho.Secrets, cfg.Webhook.Password.Reveal())
	}
	return &Client{
		name:    cfg.Name,
		base:    base,
		apiKey:  cfg.Auth.APIKey,
		http:    httpclient.New(ho),
		log:     log,
		now:     opts.Now,
		page:    opts.PageSize,
		overlap: opts.Overlap,
		ttl:     opts.CatalogTTL,
	}, nil
}

// Stats returns the HTTP counters of the client.
func (c *Client) Stats() httpclient.Stats { return c.http.Stats() }

// apiError is Chargebee's error body (docs "Error handling"): message, type,
// api_error_code, param, plus the legacy error_code/error_msg.
type apiError struct {
	Message      string `json:"message"`
	Type         string `json:"type"`
	APIErrorCode string `json:"api_error_code"`
	Param        string `json:"param"`
	ErrorCode    string `json:"error_code"`
	ErrorMsg     string `json:"error_msg"`
	HTTPStatus   int    `json:"http_status_code"`
}

func decodeError(resp *http.Response, b []byte) *apiError {
	var e apiError
	if json.Unmarshal(b, &e) != nil {
		return &apiError{}
	}
	if e.APIErrorCode == "" {
		e.APIErrorCode = e.ErrorCode
	}
	if e.Message == "" {
		e.Message = e.ErrorMsg
	}
	return &e
}

// temporaryCodes are api_error_codes Chargebee documents as transient,
// whatever the HTTP status they come with.
var temporaryCodes = map[string]bool{
	"api_request_limit_exceeded":  true,
	"lock_timeout":                true,
	"site_not_ready":              true,
	"internal_temporary_error":    true,
	"database_connection_failure": true,
}

// hint classifies responses by Chargebee's rules: 429 and 5xx keep the
// default policy (retry honouring Retry-After); a transient api_error_code
// on another status (lock_timeout, ...) is retried too.
func hint(resp *http.Response) httpclient.Decision {
	if resp.StatusCode < 400 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		return httpclient.Decision{}
	}
	if e := decodeError(resp, httpclient.PeekBody(resp)); temporaryCodes[e.APIErrorCode] {
		return httpclient.Decision{Handled: true, Retry: true}
	}
	return httpclient.Decision{}
}

// get sends GET {base}/api/v2/{path}?{q} and decodes a 2xx JSON body into
// out; other statuses become *httpclient.Error.
func (c *Client) get(ctx context.Context, path string, q url.Values, out any) error {
	u := c.base + "/api/v2/" + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("building request: %w", err)
	}
	req.SetBasicAuth(c.apiKey.Reveal(), "")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		// Error bodies are small JSON objects (docs "Error handling"); only
		// they are read through PeekBody's 1 MiB window.
		e := decodeError(resp, httpclient.PeekBody(resp))
		he := &httpclient.Error{
			Vendor:  record.Chargebee,
			Status:  resp.StatusCode,
			Code:    e.APIErrorCode,
			Message: c.http.Redact(e.Message),
		}
		if ra, ok := httpclient.RetryAfter(resp.Header, c.now()); ok {
			he.RetryAfter = ra
		}
		return he
	}
	// A success body is decoded from the stream with no size cap: a page of
	// 100 invoices with many line items is several MiB.
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decoding %s response: %w", path, err)
	}
	return nil
}

// isNotFound reports a 404 resource_not_found.
func isNotFound(err error) bool {
	var he *httpclient.Error
	return errors.As(err, &he) && he.Status == http.StatusNotFound
}
