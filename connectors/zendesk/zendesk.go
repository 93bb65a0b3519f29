// Package zendesk pulls organizations and tickets from Zendesk Support
// through its incremental export APIs, computes per-organization support
// signals (open tickets, tickets created in 30 days, median first reply
// hours, satisfaction good ratio, urgent tickets) and authenticates Zendesk
// webhooks (X-Zendesk-Webhook-Signature). Every call goes through
// httpclient: API token Basic auth ("{email}/token:{token}"), the
// incremental export budget of 10 requests a minute kept by a token bucket,
// 429 and 5xx retried honouring Retry-After, failures returned as
// *httpclient.Error.
//
// Organizations are matched to CRM accounts by the engine through their
// link keys (external_id, domain_names), carried on Organization; signals
// name the organization as record.Ref{System: "zendesk", ID: org id}.
// Times are UTC.
package zendesk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/httpclient"
	"github.com/healthsync/healthsync/connectors/record"
)

// System is the record system name of Zendesk refs ("zendesk/<org id>").
const System = "zendesk"

// DefaultExportRateLimit is the incremental export budget when the config
// sets none. Docs ("Incremental Exports > Rate limits"): "You can make up
// to 10 requests per minute to these endpoints". A bucket of 1 refilled at
// 9 a minute never sends more than 1 + 9 = 10 in any 60 seconds. Accounts
// with the High Volume API add-on (30 a minute) set export_rate_limit.
var DefaultExportRateLimit = config.RateLimit{Requests: 9, Per: config.Duration(time.Minute), Burst: 1}

// DefaultAPIRateLimit is the budget of the other endpoints (Show Ticket,
// Show Ticket Metrics, used on the webhook path). Docs ("Rate limits"): the
// smallest plan (Team) allows 200 requests a minute; 20 + 180 = 200.
var DefaultAPIRateLimit = config.RateLimit{Requests: 180, Per: config.Duration(time.Minute), Burst: 20}

// Config is the connector's vendor-specific configuration. It lives here
// until config/ gains a "zendesk" kind; FromConnector maps a YAML entry
// onto it (see CONTRACT.md, "What config/ must gain").
type Config struct {
	// Name labels logs and counters.
	Name string
	// Subdomain is the account's {subdomain}.zendesk.com.
	Subdomain string
	// BaseURL overrides https://{subdomain}.zendesk.com (tests, the demo).
	BaseURL string
	// Email is the admin user the API token authenticates as (the
	// incremental exports are "Allowed for Admins").
	Email string
	// APIToken is an API token from Admin Center > Apps and integrations >
	// Zendesk API.
	APIToken config.Secret
	// Webhook holds the signing secrets (several during a rotation) and
	// the accepted timestamp age (default 5m).
	Webhook config.Webhook
	// StartTime is where a first (or full) export starts (zero: the Unix
	// epoch, everything).
	StartTime time.Time
	// ExportRateLimit and APIRateLimit override the budgets above.
	ExportRateLimit config.RateLimit
	APIRateLimit    config.RateLimit
	HTTP            config.HTTP
}

// Options are the connector's process-level dependencies.
type Options struct {
	// Logger receives the connector's log lines (zero value: disabled).
	Logger zerolog.Logger
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// PageSize is per_page, 1..1000 (default 1000, the maximum).
	PageSize int
	// Overlap is subtracted from the last generated_timestamp seen when an
	// expired or refused cursor forces a restart from start_time (default
	// 5m; tickets are upserted, so re-reading is harmless).
	Overlap time.Duration
	// Transport overrides the HTTP transport (tests, benchmarks).
	Transport http.RoundTripper
}

// Client is a Zendesk connector; one instance serves every job of the
// process for its account.
type Client struct {
	name    string
	base    string // https://{subdomain}.zendesk.com or BaseURL, no trailing slash
	email   string
	token   config.Secret
	export  *httpclient.Client // incremental exports: 10 a minute
	api     *httpclient.Client // everything else
	log     zerolog.Logger
	now     func() time.Time
	page    int
	overlap time.Duration
	start   time.Time
	verify  *Verifier
}

// New validates cfg and builds a Client.
func New(cfg Config, opts Options) (*Client, error) {
	var problems []string
	if cfg.Email == "" {
		problems = append(problems, "auth.username (the admin email the token belongs to) is required")
	}
	if cfg.APIToken.IsZero() {
		problems = append(problems, "auth.api_key (the API token) is required")
	}
	base := strings.TrimRight(cfg.BaseURL, "/")
	if base == "" {
		if cfg.Subdomain == "" {
			problems = append(problems, "site (the zendesk subdomain) is required (or base_url)")
		} else if strings.ContainsAny(cfg.Subdomain, "./:@ ") {
			problems = append(problems, fmt.Sprintf("site %q must be the subdomain only, as in {subdomain}.zendesk.com", cfg.Subdomain))
		}
		base = "https://" + cfg.Subdomain + ".zendesk.com"
	} else if u, err := url.Parse(base); err != nil || u.Scheme == "" || u.Host == "" {
		problems = append(problems, fmt.Sprintf("base_url %q is not an absolute URL", cfg.BaseURL))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("zendesk connector %q: %s", cfg.Name, strings.Join(problems, "; "))
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.PageSize <= 0 || opts.PageSize > maxPerPage {
		opts.PageSize = maxPerPage
	}
	if opts.Overlap <= 0 {
		opts.Overlap = 5 * time.Minute
	}
	secrets := []string{cfg.APIToken.Reveal()}
	for _, s := range cfg.Webhook.Secrets {
		if !s.IsZero() {
			secrets = append(secrets, s.Reveal())
		}
	}
	mk := func(suffix string, rl, def config.RateLimit) *httpclient.Client {
		if rl.Requests <= 0 {
			rl = def
		}
		return httpclient.New(httpclient.Options{
			Name:         cfg.Name + suffix,
			Timeout:      cfg.HTTP.Timeout.D(),
			RetryMax:     cfg.HTTP.RetryMax,
			RetryWaitMin: cfg.HTTP.RetryWaitMin.D(),
			RetryWaitMax: cfg.HTTP.RetryWaitMax.D(),
			Limiter:      httpclient.NewLimiter(rl),
			Secrets:      secrets,
			Logger:       opts.Logger,
			Transport:    opts.Transport,
		})
	}
	return &Client{
		name:    cfg.Name,
		base:    base,
		email:   cfg.Email,
		token:   cfg.APIToken,
		export:  mk("", cfg.ExportRateLimit, DefaultExportRateLimit),
		api:     mk("/api", cfg.APIRateLimit, DefaultAPIRateLimit),
		log:     opts.Logger.With().Str("connector", cfg.Name).Str("vendor", System).Logger(),
		now:     opts.Now,
		page:    opts.PageSize,
		overlap: opts.Overlap,
		start:   cfg.StartTime,
		verify:  NewVerifier(cfg.Webhook),
	}, nil
}

// Stats returns the HTTP counters of the client, both budgets summed.
func (c *Client) Stats() httpclient.Stats {
	a, b := c.export.Stats(), c.api.Stats()
	return httpclient.Stats{Calls: a.Calls + b.Calls, Retries: a.Retries + b.Retries, Throttled: a.Throttled + b.Throttled, Errors: a.Errors + b.Errors}
}

// apiError is Zendesk's error body (docs "Errors"): {"error": "RecordNotFound",
// "description": "Not found"}; a 401 carries only {"error": "Couldn't
// authenticate you"}, and some endpoints send "error" as an object with
// title and message.
type apiError struct {
	Error       json.RawMessage `json:"error"`
	Description string          `json:"description"`
}

func decodeError(b []byte) (code, msg string) {
	var e apiError
	if json.Unmarshal(b, &e) != nil {
		return "", ""
	}
	var s string
	if json.Unmarshal(e.Error, &s) == nil {
		return s, e.Description
	}
	var o struct{ Title, Message string }
	if json.Unmarshal(e.Error, &o) == nil {
		return o.Title, o.Message
	}
	return "", e.Description
}

// get sends GET {base}{path}?{q} through hc and decodes a 2xx JSON body
// into out, returning the response headers; other statuses become
// *httpclient.Error.
func (c *Client) get(ctx context.Context, hc *httpclient.Client, path string, q url.Values, out any) (http.Header, error) {
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("building request: %w", err)
	}
	// Docs ("API token authentication"): Basic auth with
	// "{email_address}/token:{api_token}".
	req.SetBasicAuth(c.email+"/token", c.token.Reveal())
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		code, msg := decodeError(httpclient.PeekBody(resp))
		he := &httpclient.Error{
			Vendor:    System,
			Status:    resp.StatusCode,
			Code:      code,
			Message:   hc.Redact(msg),
			RequestID: resp.Header.Get("X-Zendesk-Request-Id"),
		}
		if ra, ok := httpclient.RetryAfter(resp.Header, c.now()); ok {
			he.RetryAfter = ra
		}
		return resp.Header, he
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return resp.Header, fmt.Errorf("decoding %s response: %w", path, err)
	}
	return resp.Header, nil
}

// usage reads the rate limit headers (docs "Rate limits": X-Rate-Limit,
// X-Rate-Limit-Remaining) into an APIUsage; nil when absent.
func usage(h http.Header) *record.APIUsage {
	limit, err1 := strconv.ParseInt(h.Get("X-Rate-Limit"), 10, 64)
	left, err2 := strconv.ParseInt(h.Get("X-Rate-Limit-Remaining"), 10, 64)
	if err1 != nil || err2 != nil {
		return nil
	}
	return &record.APIUsage{Used: limit - left, Limit: limit}
}

func isStatus(err error, status int) bool {
	var he *httpclient.Error
	return errors.As(err, &he) && he.Status == status
}
