// Package salesforce is healthsync's Salesforce connector: OAuth 2.0 (client
// credentials, JWT bearer, refresh token) with one shared re-authentication
// on INVALID_SESSION_ID, incremental SOQL pulls on the compound cursor
// (SystemModstamp, Id) with deletions from queryAll, write-back through
// sObject Collections, tasks, describe-based preflight, and Outbound Message
// verification. API usage from Sforce-Limit-Info is reported and enforced
// against a configured share of the daily allocation.
package salesforce

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/httpclient"
	"github.com/healthsync/healthsync/connectors/record"
)

// Defaults.
const (
	DefaultLoginURL    = "https://login.salesforce.com"
	DefaultAPIVersion  = "62.0"
	DefaultMaxAPIShare = 0.8
	// MaxBatch is the sObject Collections limit per request.
	MaxBatch = 200
)

const vendor = "salesforce"

// Options are the connector's non-config dependencies.
type Options struct {
	Logger zerolog.Logger
	// Now is the clock (nil: time.Now), used for JWT expiry.
	Now func() time.Time
	// TaskOwnerID is the user or queue that owns created tasks when a task
	// names no owner; empty: the account's owner.
	TaskOwnerID string
	// Transport overrides the HTTP transport (tests).
	Transport http.RoundTripper
}

// Client talks to one Salesforce org. It is safe for concurrent use and is
// shared by every job of its connector.
type Client struct {
	cfg      config.Connector
	log      zerolog.Logger
	now      func() time.Time
	hc       *httpclient.Client
	login    string
	version  string
	maxShare float64
	objects  []objectSpec
	opts     Options
	auth     authenticator

	authMu   sync.Mutex
	token    string
	instance string
	gen      uint64

	usageMu sync.Mutex
	usage   record.APIUsage

	descMu    sync.Mutex
	describes map[string]*describeResult

	taskMu  sync.Mutex
	taskIDs map[string]string // dedupe key -> task ID created by this process
}

var versionRe = regexp.MustCompile(`^\d{2,3}\.\d$`)

// New validates the Salesforce parts of cfg and builds a Client.
func New(cfg config.Connector, opts Options) (*Client, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	c := &Client{
		cfg: cfg, log: opts.Logger, now: opts.Now, opts: opts,
		login:     strings.TrimSuffix(cfg.LoginURL, "/"),
		version:   cfg.APIVersion,
		maxShare:  cfg.MaxAPIShare,
		describes: map[string]*describeResult{},
		taskIDs:   map[string]string{},
	}
	if c.login == "" {
		c.login = DefaultLoginURL
	}
	if c.version == "" {
		c.version = DefaultAPIVersion
	}
	if !versionRe.MatchString(c.version) {
		return nil, fmt.Errorf("salesforce %s: api_version %q: want e.g. %s", cfg.Name, c.version, DefaultAPIVersion)
	}
	if c.maxShare <= 0 {
		c.maxShare = DefaultMaxAPIShare
	}
	if c.maxShare > 1 {
		return nil, fmt.Errorf("salesforce %s: max_api_share %v: want a share in (0, 1]", cfg.Name, c.maxShare)
	}
	auth, err := newAuthenticator(cfg, c.login, opts.Now)
	if err != nil {
		return nil, fmt.Errorf("salesforce %s: %w", cfg.Name, err)
	}
	c.auth = auth
	c.objects = objectSpecs(cfg.Objects, c.log)
	ho := httpclient.FromConfig(cfg, opts.Logger)
	ho.Hint = c.hint
	ho.Transport = opts.Transport
	if ho.Name == "" {
		ho.Name = vendor
	}
	c.hc = httpclient.New(ho)
	return c, nil
}

// Stats returns the HTTP client's counters.
func (c *Client) Stats() httpclient.Stats { return c.hc.Stats() }

// Usage returns the last API usage Salesforce reported in Sforce-Limit-Info.
func (c *Client) Usage() record.APIUsage {
	c.usageMu.Lock()
	defer c.usageMu.Unlock()
	return c.usage
}

func (c *Client) usagePtr() *record.APIUsage {
	u := c.Usage()
	if u.Limit == 0 {
		return nil
	}
	return &u
}

// readLimit records "Sforce-Limit-Info: api-usage=18/5000".
func (c *Client) readLimit(h http.Header) {
	v := h.Get("Sforce-Limit-Info")
	for part := range strings.SplitSeq(v, ",") {
		u, ok := strings.CutPrefix(strings.TrimSpace(part), "api-usage=")
		if !ok {
			continue
		}
		a, b, ok := strings.Cut(u, "/")
		used, err1 := strconv.ParseInt(a, 10, 64)
		limit, err2 := strconv.ParseInt(b, 10, 64)
		if ok && err1 == nil && err2 == nil {
			c.usageMu.Lock()
			c.usage = record.APIUsage{Used: used, Limit: limit}
			c.usageMu.Unlock()
		}
	}
}

// ErrCeiling is wrapped (with httpclient.ErrQuota) when the org's daily API
// usage is at or above the configured share of its allocation.
var ErrCeiling = errors.New("daily API usage is above the configured ceiling")

func (c *Client) checkCeiling() error {
	u := c.Usage()
	if u.Limit > 0 && float64(u.Used) >= c.maxShare*float64(u.Limit) {
		return fmt.Errorf("salesforce %s: %w: %d of %d requests used, ceiling %.0f%%; stopping until the allocation frees up: %w",
			c.cfg.Name, ErrCeiling, u.Used, u.Limit, c.maxShare*100, httpclient.ErrQuota)
	}
	return nil
}

// apiError is one element of the REST API's error array (REST API Developer
// Guide, "Status Codes and Error Responses").
type apiError struct {
	Message   string   `json:"message"`
	ErrorCode string   `json:"errorCode"`
	Fields    []string `json:"fields"`
}

// toError turns a non-2xx response into an *httpclient.Error.
func toError(resp *http.Response, body []byte) *httpclient.Error {
	e := &httpclient.Error{Vendor: vendor, Status: resp.StatusCode, RequestID: resp.Header.Get("Sforce-Call-Id")}
	var list []apiError
	if json.Unmarshal(body, &list) == nil && len(list) > 0 {
		e.Code, e.Message = list[0].ErrorCode, list[0].Message
	} else {
		var oe struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		if json.Unmarshal(body, &oe) == nil && oe.Error != "" {
			e.Code, e.Message = oe.Error, oe.Description
		}
	}
	if w, ok := httpclient.RetryAfter(resp.Header, time.Now()); ok {
		e.RetryAfter = w
	}
	return e
}

// hint applies Salesforce's error semantics to every response: usage is
// read, 401 goes back to the caller for re-authentication, and
// REQUEST_LIMIT_EXCEEDED stops without retrying.
func (c *Client) hint(resp *http.Response) httpclient.Decision {
	c.readLimit(resp.Header)
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return httpclient.Decision{Handled: true}
	case resp.StatusCode == http.StatusForbidden:
		e := toError(resp, httpclient.PeekBody(resp))
		if e.Code == "REQUEST_LIMIT_EXCEEDED" {
			return httpclient.Decision{Handled: true, Err: e}
		}
		return httpclient.Decision{Handled: true}
	case resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests:
		if e := toError(resp, httpclient.PeekBody(resp)); e.Temporary() {
			return httpclient.Decision{Handled: true, Retry: true}
		}
	}
	return httpclient.Decision{}
}

// call sends an authenticated request to the instance (path is absolute,
// starting /services/data/...) and decodes a 2xx JSON body into out. A 401
// INVALID_SESSION_ID re-authenticates once, sharing the new session with
// every concurrent caller.
func (c *Client) call(ctx context.Context, method, path string, body []byte, hdr http.Header, out any) error {
	for attempt := 0; ; attempt++ {
		if err := c.checkCeiling(); err != nil {
			return err
		}
		tok, inst, gen, err := c.session(ctx)
		if err != nil {
			return err
		}
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, inst+path, rd)
		if err != nil {
			return fmt.Errorf("building request: %w", err)
		}
		for k, v := range hdr {
			req.Header[k] = v
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Accept", "application/json")
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := c.hc.Do(req)
		if err != nil {
			return err
		}
		c.readLimit(resp.Header)
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("%s %s: reading body: %w", method, stripQuery(path), err)
		}
		if resp.StatusCode == http.StatusUnauthorized {
			e := toError(resp, b)
			if attempt == 0 {
				c.log.Info().Str("connector", c.cfg.Name).Str("code", e.Code).Msg("salesforce session rejected, re-authenticating")
				if err := c.reauth(ctx, gen); err != nil {
					return err
				}
				continue
			}
			return fmt.Errorf("salesforce %s: session rejected again right after re-authenticating: %w", c.cfg.Name, e)
		}
		if resp.StatusCode >= 300 {
			return toError(resp, b)
		}
		if out == nil {
			return nil
		}
		if d, ok := out.(jsonDecoder); ok {
			err = d.decodeJSON(b)
		} else {
			err = json.Unmarshal(b, out)
		}
		if err != nil {
			return fmt.Errorf("%s %s: decoding response: %w", method, stripQuery(path), err)
		}
		return nil
	}
}

// jsonDecoder is a response type that decodes itself from the body
// (queryResult: a page of records, without reflection).
type jsonDecoder interface{ decodeJSON(b []byte) error }

func stripQuery(p string) string {
	p, _, _ = strings.Cut(p, "?")
	return p
}

func (c *Client) dataPath(rest string) string {
	return "/services/data/v" + c.version + rest
}
