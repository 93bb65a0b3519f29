// Package httpclient is the one outbound HTTP client every connector uses:
// go-retryablehttp with retries on connection errors, 5xx and 429, Retry-After
// (seconds or HTTP date) honoured, vendor back-off hints, exponential back-off
// with jitter and a ceiling, a token-bucket rate limit, a per-request timeout,
// context cancellation, a zerolog adapter, secret redaction and counters.
package httpclient

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/rs/zerolog"
	"golang.org/x/time/rate"
)

// Decision is a connector's verdict on a response, from its vendor's
// documented error semantics.
type Decision struct {
	// Handled is false to fall back to the default policy.
	Handled bool
	// Retry asks for another attempt after Wait (0: the default back-off).
	Retry bool
	Wait  time.Duration
	// Err stops retrying and is returned from Do (e.g. a daily limit).
	Err error
}

// Options configure a Client. Zero values take the defaults noted.
type Options struct {
	// Name labels logs and counters, usually the connector's name.
	Name string
	// Timeout bounds each attempt (default 30s).
	Timeout time.Duration
	// RetryMax is the number of retries after the first attempt (default 4).
	RetryMax int
	// RetryWaitMin and RetryWaitMax bound the exponential back-off
	// (defaults 500ms and 30s).
	RetryWaitMin, RetryWaitMax time.Duration
	// MaxRetryAfter caps a server's Retry-After (default 2m): a longer wait
	// fails the call instead of sleeping.
	MaxRetryAfter time.Duration
	// Limiter is a token bucket taken before every attempt; share one
	// limiter between clients that spend one vendor budget. nil: no limit.
	Limiter *rate.Limiter
	// Hint lets the connector classify a response by its vendor's rules. It
	// may read resp.Body but must leave it readable (see PeekBody).
	Hint func(resp *http.Response) Decision
	// Secrets are values scrubbed from log lines and error strings, in
	// addition to Authorization headers and credential query parameters.
	Secrets []string
	Logger  zerolog.Logger
	// Transport overrides the HTTP transport (nil: a pooled default).
	Transport http.RoundTripper
}

// Stats are a client's counters since it was created.
type Stats struct {
	Calls     int64 `json:"calls"`     // HTTP attempts sent
	Retries   int64 `json:"retries"`   // attempts after the first
	Throttled int64 `json:"throttled"` // 429 responses
	Errors    int64 `json:"errors"`    // requests that ended in a transport error or a 4xx/5xx
}

// Sub returns s minus o, for per-run figures.
func (s Stats) Sub(o Stats) Stats {
	return Stats{s.Calls - o.Calls, s.Retries - o.Retries, s.Throttled - o.Throttled, s.Errors - o.Errors}
}

// Client sends requests with retries, rate limiting and counting.
type Client struct {
	name    string
	rc      *retryablehttp.Client
	opts    Options
	calls   atomic.Int64
	retries atomic.Int64
	thrott  atomic.Int64
	errs    atomic.Int64
}

// New builds a Client.
func New(o Options) *Client {
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.RetryMax == 0 {
		o.RetryMax = 4
	}
	if o.RetryMax < 0 {
		o.RetryMax = 0
	}
	if o.RetryWaitMin <= 0 {
		o.RetryWaitMin = 500 * time.Millisecond
	}
	if o.RetryWaitMax <= 0 {
		o.RetryWaitMax = 30 * time.Second
	}
	if o.MaxRetryAfter <= 0 {
		o.MaxRetryAfter = 2 * time.Minute
	}
	base := o.Transport
	if base == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = 32
		base = t
	}
	c := &Client{name: o.Name, opts: o}
	rc := retryablehttp.NewClient()
	rc.HTTPClient = &http.Client{Timeout: o.Timeout, Transport: &countingTransport{c: c, base: base}}
	rc.RetryMax = o.RetryMax
	rc.RetryWaitMin = o.RetryWaitMin
	rc.RetryWaitMax = o.RetryWaitMax
	rc.Logger = &leveled{log: o.Logger.With().Str("connector", o.Name).Logger(), redact: c.Redact}
	rc.CheckRetry = c.checkRetry
	rc.Backoff = c.backoff
	rc.ErrorHandler = retryablehttp.PassthroughErrorHandler
	rc.RequestLogHook = func(_ retryablehttp.Logger, _ *http.Request, attempt int) {
		if attempt > 0 {
			c.retries.Add(1)
		}
	}
	c.rc = rc
	return c
}

// Name is the client's label.
func (c *Client) Name() string { return c.name }

// Stats returns the counters.
func (c *Client) Stats() Stats {
	return Stats{c.calls.Load(), c.retries.Load(), c.thrott.Load(), c.errs.Load()}
}

// ErrRetryAfterTooLong is returned when a server asks to wait longer than
// Options.MaxRetryAfter.
var ErrRetryAfterTooLong = errors.New("server asked to retry later than the configured ceiling")

type stopError struct{ err error }

func (e stopError) Error() string { return e.err.Error() }
func (e stopError) Unwrap() error { return e.err }

// Do sends req (its context governs cancellation) and returns the final
// response, whatever its status, or an error with secrets redacted. The
// caller closes the body.
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	rreq, err := retryablehttp.FromRequest(req)
	if err != nil {
		return nil, fmt.Errorf("%s: preparing request: %s", c.name, c.Redact(err.Error()))
	}
	resp, err := c.rc.Do(rreq)
	if err != nil {
		c.errs.Add(1)
		var se stopError
		if errors.As(err, &se) {
			if resp != nil {
				resp.Body.Close()
			}
			return nil, se.err
		}
		if ctxErr := req.Context().Err(); ctxErr != nil {
			if IsCreating(req.Context()) {
				return nil, fmt.Errorf("%s %s: %w (%w)", req.Method, c.Redact(req.URL.Path), ctxErr, ErrUnknownOutcome)
			}
			return nil, fmt.Errorf("%s %s: %w", req.Method, c.Redact(req.URL.Path), ctxErr)
		}
		return resp, &RedactedError{msg: c.Redact(err.Error()), err: err}
	}
	if resp.StatusCode >= 400 {
		c.errs.Add(1)
	}
	return resp, nil
}

// RedactedError is a transport error whose text had secrets removed.
type RedactedError struct {
	msg string
	err error
}

func (e *RedactedError) Error() string { return e.msg }

// Unwrap keeps errors.Is working for context and net errors.
func (e *RedactedError) Unwrap() error { return e.err }

func (c *Client) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if IsCreating(ctx) {
		if uerr := c.unknownOutcome(resp, err); uerr != nil {
			return false, stopError{uerr}
		}
	}
	if err != nil {
		return retryablehttp.DefaultRetryPolicy(ctx, resp, err)
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		c.thrott.Add(1)
	}
	if c.opts.Hint != nil {
		if d := c.opts.Hint(resp); d.Handled {
			if d.Err != nil {
				return false, stopError{d.Err}
			}
			if d.Retry {
				if d.Wait > 0 {
					resp.Header.Set(hintHeader, strconv.FormatInt(int64(d.Wait), 10))
				}
				return true, nil
			}
			return false, nil
		}
	}
	if resp.StatusCode == http.StatusTooManyRequests ||
		(resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented) {
		if w, ok := RetryAfter(resp.Header, time.Now()); ok && w > c.opts.MaxRetryAfter {
			return false, stopError{fmt.Errorf("%s: %w (%s)", c.name, ErrRetryAfterTooLong, w)}
		}
		return true, nil
	}
	return false, nil
}

// hintHeader carries a Hint's wait from checkRetry to backoff on the
// response being retried; it never leaves the process.
const hintHeader = "X-Healthsync-Retry-Wait"

func (c *Client) backoff(min, max time.Duration, attempt int, resp *http.Response) time.Duration {
	if resp != nil {
		if v := resp.Header.Get(hintHeader); v != "" {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				return time.Duration(n)
			}
		}
		if w, ok := RetryAfter(resp.Header, time.Now()); ok {
			return w
		}
	}
	return Backoff(min, max, attempt)
}

// Backoff is exponential back-off with full jitter in [d/2, d], where d is
// min*2^attempt capped at max.
func Backoff(min, max time.Duration, attempt int) time.Duration {
	d := min
	for i := 0; i < attempt && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + rand.N(half+1)
}

// RetryAfter parses a Retry-After header: delay-seconds or an HTTP date.
func RetryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		d := t.Sub(now)
		if d < 0 {
			d = 0
		}
		return d, true
	}
	return 0, false
}

type countingTransport struct {
	c    *Client
	base http.RoundTripper
}

func (t *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if l := t.c.opts.Limiter; l != nil {
		if err := l.Wait(req.Context()); err != nil {
			return nil, fmt.Errorf("waiting for rate limit: %w", err)
		}
	}
	t.c.calls.Add(1)
	return t.base.RoundTrip(req)
}
