// Package stripe pulls customers, subscriptions and invoices from Stripe
// (https://docs.stripe.com/api) into canonical records, follows the events
// feed as a change log, re-reads single objects for the webhook path and
// verifies Stripe-Signature headers.
//
// Every request carries the pinned Stripe-Version from the connector
// config. Responses are mapped from both shapes Stripe has used: the
// current period on the subscription and a single discount (before
// 2025-03-31.basil), or on each item with a discounts array (basil and
// later). Amounts are in the currency's ISO 4217 minor unit, as Stripe
// sends them (yen for JPY: zero-decimal currencies are never divided by
// 100) except for the currencies whose decimals Stripe's API defines
// otherwise (ISK, MGA), which are converted (currency.go). See CONTRACT.md
// for every vendor rule the client relies on.
package stripe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

// DefaultBaseURL is Stripe's API host.
const DefaultBaseURL = "https://api.stripe.com"

// DefaultAPIVersion is pinned when the config names none.
const DefaultAPIVersion = "2025-03-31.basil"

// basilVersion is the first version with item-level current periods and
// without the singular discount.
const basilVersion = "2025-03-31.basil"

// cloverVersion stops auto-expanding discount.coupon (source.coupon).
const cloverVersion = "2025-09-30.clover"

// Options are the process-level dependencies of a Client.
type Options struct {
	// Logger receives progress lines; the zero value is disabled.
	Logger zerolog.Logger
	// Now is the clock for observation times (nil: time.Now).
	Now func() time.Time
	// Transport overrides the HTTP transport (tests validate requests
	// against the OpenAPI document through it).
	Transport http.RoundTripper
	// PageSize is the list limit (default and maximum 100).
	PageSize int
}

// Client is a Stripe connector. One Client serves every job of its
// connector; it is safe for concurrent use.
type Client struct {
	base     string
	key      config.Secret
	version  string
	http     *httpclient.Client
	log      zerolog.Logger
	now      func() time.Time
	pageSize int

	mu       sync.Mutex
	observed time.Time // the last observation time handed out
}

// New validates cfg (kind stripe, auth.api_key) and builds a Client.
func New(cfg config.Connector, opts Options) (*Client, error) {
	if cfg.Kind != "" && cfg.Kind != config.KindStripe {
		return nil, fmt.Errorf("stripe connector %q: kind is %q", cfg.Name, cfg.Kind)
	}
	if cfg.Auth.APIKey.IsZero() {
		return nil, fmt.Errorf("stripe connector %q: auth.api_key is required", cfg.Name)
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	if _, err := url.Parse(base); err != nil {
		return nil, fmt.Errorf("stripe connector %q: base_url: %w", cfg.Name, err)
	}
	version := cfg.APIVersion
	if version == "" {
		version = DefaultAPIVersion
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.PageSize <= 0 || opts.PageSize > 100 {
		opts.PageSize = 100
	}
	if cfg.Name == "" {
		cfg.Name = "stripe"
	}
	ho := httpclient.FromConfig(cfg, opts.Logger)
	ho.Hint = hint
	ho.Transport = opts.Transport
	c := &Client{
		base: base, key: cfg.Auth.APIKey, version: version,
		http: httpclient.New(ho), log: opts.Logger.With().Str("connector", cfg.Name).Logger(),
		now: opts.Now, pageSize: opts.PageSize,
	}
	return c, nil
}

// Stats returns the outbound client's counters.
func (c *Client) Stats() httpclient.Stats { return c.http.Stats() }

// apiErrorBody is Stripe's error JSON (spec3.json components.schemas.error).
type apiErrorBody struct {
	Error struct {
		Type    string `json:"type"`
		Code    string `json:"code"`
		Message string `json:"message"`
		Param   string `json:"param"`
	} `json:"error"`
}

// hint applies Stripe's retry advice as stripe-go does (shouldRetry in
// stripe.go and Error.canRetry in error.go, v84): Stripe-Should-Retry
// decides when present ("Low-level error handling",
// https://docs.stripe.com/error-low-level); otherwise a 409 Conflict is
// retried, and so is a 429 whose code is lock_timeout (another request or
// Stripe process holds the object: "Error codes", lock_timeout). Other
// 429s (rate_limit) and 5xx are left to httpclient, which retries them
// with back-off and Retry-After (a background pull can wait, unlike the
// request path stripe-go is tuned for).
func hint(resp *http.Response) httpclient.Decision {
	switch resp.Header.Get("Stripe-Should-Retry") {
	case "true":
		return httpclient.Decision{Handled: true, Retry: true}
	case "false":
		return httpclient.Decision{Handled: true}
	}
	switch resp.StatusCode {
	case http.StatusConflict:
		return httpclient.Decision{Handled: true, Retry: true}
	case http.StatusTooManyRequests:
		var e apiErrorBody
		if json.Unmarshal(httpclient.PeekBody(resp), &e) == nil && e.Error.Code == "lock_timeout" {
			return httpclient.Decision{Handled: true, Retry: true}
		}
	}
	return httpclient.Decision{}
}

// get sends GET base+path?q with the secret key and pinned version and
// decodes a 2xx JSON body into out. It returns when the state was observed.
func (c *Client) get(ctx context.Context, path string, q url.Values, out any) (time.Time, error) {
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return time.Time{}, fmt.Errorf("building request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.key.Reveal())
	req.Header.Set("Stripe-Version", c.version)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "healthsync")
	resp, err := c.http.Do(req)
	if err != nil {
		return time.Time{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return time.Time{}, fmt.Errorf("reading %s: %w", path, err)
	}
	if resp.StatusCode >= 300 {
		return time.Time{}, c.apiError(resp, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return time.Time{}, fmt.Errorf("decoding %s: %w", path, err)
	}
	return c.observe(resp.Header.Get("Date")), nil
}

func (c *Client) apiError(resp *http.Response, body []byte) error {
	e := &httpclient.Error{Vendor: record.Stripe, Status: resp.StatusCode, RequestID: resp.Header.Get("Request-Id")}
	var b apiErrorBody
	if json.Unmarshal(body, &b) == nil {
		e.Code = b.Error.Code
		if e.Code == "" {
			e.Code = b.Error.Type
		}
		e.Message = c.http.Redact(b.Error.Message)
	}
	if w, ok := httpclient.RetryAfter(resp.Header, c.now()); ok {
		e.RetryAfter = w
	}
	return e
}

// isMissing reports Stripe's 404 resource_missing.
func isMissing(err error) bool {
	var e *httpclient.Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// ObserveAfter makes every later observation time of c strictly after t.
// The engine passes the newest Modified it stored for this connector when
// a process starts: observation times then order versions across restarts
// too, and a change read by a new process within the same second as the
// last process's reads is not taken for an older version.
func (c *Client) ObserveAfter(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t = t.UTC(); t.After(c.observed) {
		c.observed = t
	}
}

// observe turns a response's Date header (or the client clock) into the
// record's Modified time. Stripe objects carry no updated timestamp, so
// Modified is when the state was seen; it strictly increases within the
// Client so a later read always wins in the store, even within one second.
func (c *Client) observe(date string) time.Time {
	t, err := http.ParseTime(date)
	if err != nil {
		t = c.now()
	}
	t = t.UTC()
	c.mu.Lock()
	defer c.mu.Unlock()
	if !t.After(c.observed) {
		t = c.observed.Add(time.Microsecond)
	}
	c.observed = t
	return t
}
