package httpclient

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/time/rate"
)

func fastOptions() Options {
	return Options{Name: "test", RetryMax: 3, RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond}
}

func TestRetryPolicy(t *testing.T) {
	tests := []struct {
		name       string
		statuses   []int
		header     http.Header
		wantStatus int
		wantCalls  int64
		wantRetry  int64
		wantThrot  int64
	}{
		{"200 once", []int{200}, nil, 200, 1, 0, 0},
		{"400 not retried", []int{400, 200}, nil, 400, 1, 0, 0},
		{"404 not retried", []int{404, 200}, nil, 404, 1, 0, 0},
		{"503 then ok", []int{503, 200}, nil, 200, 2, 1, 0},
		{"5xx retried then surfaced", []int{500, 502, 503, 504, 200}, nil, 504, 4, 3, 0},
		{"501 not retried", []int{501, 200}, nil, 501, 1, 0, 0},
		{"429 then ok", []int{429, 429, 200}, nil, 200, 3, 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				i := n.Add(1) - 1
				w.WriteHeader(tt.statuses[i])
				io.WriteString(w, `{"i":`+string(rune('0'+i))+`}`)
			}))
			defer srv.Close()
			c := New(fastOptions())
			req, _ := http.NewRequest("GET", srv.URL, nil)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatalf("Do: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			got := c.Stats()
			if got.Calls != tt.wantCalls || got.Retries != tt.wantRetry || got.Throttled != tt.wantThrot {
				t.Errorf("stats = %+v, want calls %d retries %d throttled %d", got, tt.wantCalls, tt.wantRetry, tt.wantThrot)
			}
		})
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	var first time.Time
	var gap time.Duration
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			first = time.Now()
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		gap = time.Since(first)
		w.WriteHeader(200)
	}))
	defer srv.Close()
	c := New(fastOptions()) // back-off alone would wait at most 5ms
	req, _ := http.NewRequest("GET", srv.URL, nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if gap < 900*time.Millisecond {
		t.Fatalf("retried after %s, want >= Retry-After 1s", gap)
	}
}

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		value string
		want  time.Duration
		ok    bool
	}{
		{"seconds", "7", 7 * time.Second, true},
		{"fraction", "0.5", 500 * time.Millisecond, true},
		{"http date", now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{"past date", now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"missing", "", 0, false},
		{"garbage", "soon", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.value != "" {
				h.Set("Retry-After", tt.value)
			}
			got, ok := RetryAfter(h, now)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("RetryAfter(%q) = %s, %v; want %s, %v", tt.value, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestRetryAfterCeiling(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	c := New(fastOptions())
	req, _ := http.NewRequest("GET", srv.URL, nil)
	_, err := c.Do(req)
	if !errors.Is(err, ErrRetryAfterTooLong) {
		t.Fatalf("err = %v, want ErrRetryAfterTooLong", err)
	}
	if c.Stats().Calls != 1 {
		t.Fatalf("calls = %d, want 1", c.Stats().Calls)
	}
}

func TestHintDecides(t *testing.T) {
	quota := errors.New("daily quota spent")
	tests := []struct {
		name      string
		body      string
		wantErr   error
		wantCalls int64
	}{
		{"secondly retries", `{"policyName":"TEN_SECONDLY_ROLLING"}`, nil, 2},
		{"daily stops", `{"policyName":"DAILY"}`, quota, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if n.Add(1) == 1 {
					w.WriteHeader(429)
					io.WriteString(w, tt.body)
					return
				}
				w.WriteHeader(200)
			}))
			defer srv.Close()
			o := fastOptions()
			o.Hint = func(resp *http.Response) Decision {
				if resp.StatusCode != 429 {
					return Decision{}
				}
				b := PeekBody(resp)
				if bytes.Contains(b, []byte("DAILY")) {
					return Decision{Handled: true, Err: quota}
				}
				return Decision{Handled: true, Retry: true, Wait: time.Millisecond}
			}
			c := New(o)
			req, _ := http.NewRequest("GET", srv.URL, nil)
			resp, err := c.Do(req)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if resp != nil {
				resp.Body.Close()
			}
			if c.Stats().Calls != tt.wantCalls {
				t.Fatalf("calls = %d, want %d", c.Stats().Calls, tt.wantCalls)
			}
		})
	}
}

func TestContextCancellation(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(503)
	}))
	defer srv.Close()
	o := fastOptions()
	o.RetryWaitMin, o.RetryWaitMax = time.Hour, time.Hour
	c := New(o)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	_, err := c.Do(req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
}

func TestRateLimiterGatesAttempts(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	o := fastOptions()
	o.Limiter = rate.NewLimiter(rate.Every(time.Hour), 2)
	c := New(o)
	for i := 0; i < 2; i++ {
		req, _ := http.NewRequest("GET", srv.URL, nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	if _, err := c.Do(req); err == nil {
		t.Fatal("third call within the burst window succeeded; want it to wait on the limiter")
	}
	if got := c.Stats().Calls; got != 2 {
		t.Fatalf("calls = %d, want 2", got)
	}
}

func TestSecretsNeverLogged(t *testing.T) {
	const secret = "sk_test_supersecretvalue123"
	var logs bytes.Buffer
	o := fastOptions()
	o.RetryMax = 1
	o.Secrets = []string{secret}
	o.Logger = zerolog.New(&logs).Level(zerolog.TraceLevel)
	c := New(o)
	// An unreachable address produces transport errors whose text includes the URL.
	req, _ := http.NewRequest("GET", "http://127.0.0.1:1/v1/x?api_key="+secret+"&token=abc123", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	_, err := c.Do(req)
	if err == nil {
		t.Fatal("want a transport error")
	}
	for name, text := range map[string]string{"error": err.Error(), "logs": logs.String()} {
		if strings.Contains(text, secret) || strings.Contains(text, "abc123") {
			t.Errorf("%s leaks a secret: %s", name, text)
		}
	}
	if logs.Len() == 0 {
		t.Error("expected retry log lines to check")
	}
}

func TestRedact(t *testing.T) {
	c := New(Options{Secrets: []string{"s3cr3tvalue"}})
	tests := map[string]string{
		"plain secret":  "failed with s3cr3tvalue",
		"bearer":        "Authorization: Bearer abc.def.ghi",
		"basic":         "Authorization: Basic dXNlcjpwYXNz",
		"query api_key": "GET /x?api_key=zzz&limit=1",
		"access_token":  `{"access_token=xyz"}`,
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			out := c.Redact(in)
			for _, bad := range []string{"s3cr3tvalue", "abc.def.ghi", "dXNlcjpwYXNz", "zzz", "xyz"} {
				if strings.Contains(out, bad) {
					t.Fatalf("Redact(%q) = %q still contains %q", in, out, bad)
				}
			}
		})
	}
}

func TestBackoffBounds(t *testing.T) {
	for attempt := 0; attempt < 20; attempt++ {
		d := Backoff(100*time.Millisecond, 2*time.Second, attempt)
		if d < 50*time.Millisecond || d > 2*time.Second {
			t.Fatalf("attempt %d: backoff %s outside [50ms, 2s]", attempt, d)
		}
	}
}

func TestErrorTemporary(t *testing.T) {
	tests := []struct {
		name  string
		err   *Error
		temp  bool
		quota bool
	}{
		{"429 secondly", &Error{Status: 429, Policy: "TEN_SECONDLY_ROLLING"}, true, false},
		{"429 daily", &Error{Status: 429, Policy: "DAILY"}, false, true},
		{"sf limit", &Error{Status: 403, Code: "REQUEST_LIMIT_EXCEEDED"}, false, true},
		{"500", &Error{Status: 500}, true, false},
		{"400", &Error{Status: 400, Code: "INVALID_FIELD"}, false, false},
		{"lock", &Error{Status: 400, Code: "UNABLE_TO_LOCK_ROW"}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.Temporary(); got != tt.temp {
				t.Errorf("Temporary = %v, want %v", got, tt.temp)
			}
			if got := errors.Is(tt.err, ErrQuota); got != tt.quota {
				t.Errorf("Is(ErrQuota) = %v, want %v", got, tt.quota)
			}
		})
	}
}

// TestPeekBodyKeepsWholeBody pins that PeekBody returns at most MaxPeek
// bytes but never cuts what the caller reads afterwards: a 3 MiB body (a
// Chargebee page of 100 invoices with many lines is over 2 MiB) is read back
// byte for byte, and peeking twice returns the same prefix.
func TestPeekBodyKeepsWholeBody(t *testing.T) {
	tests := []struct {
		name string
		size int
	}{
		{"empty", 0},
		{"small error body", 300},
		{"exactly the peek limit", MaxPeek},
		{"3 MiB success body", 3 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := bytes.Repeat([]byte("0123456789abcdef"), tt.size/16+1)[:tt.size]
			closed := false
			resp := &http.Response{Body: closeRecorder{Reader: bytes.NewReader(body), closed: &closed}}
			wantPrefix := body[:min(len(body), MaxPeek)]
			if got := PeekBody(resp); !bytes.Equal(got, wantPrefix) {
				t.Fatalf("peek returned %d bytes, want %d", len(got), len(wantPrefix))
			}
			if got := PeekBody(resp); !bytes.Equal(got, wantPrefix) {
				t.Fatalf("second peek returned %d bytes, want %d", len(got), len(wantPrefix))
			}
			got, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, body) {
				t.Fatalf("body read after peek has %d bytes, want %d", len(got), len(body))
			}
			if closed {
				t.Fatal("PeekBody closed the original body; the caller's Close must do it")
			}
			resp.Body.Close()
			if !closed {
				t.Fatal("closing the peeked body did not close the original")
			}
		})
	}
}

type closeRecorder struct {
	io.Reader
	closed *bool
}

func (c closeRecorder) Close() error { *c.closed = true; return nil }

// TestCreatingIsNotRetriedBlindly: a creating request whose outcome is
// unknown (5xx, a dropped answer, a timeout) is sent once and fails with
// ErrUnknownOutcome; a 429 (nothing done) is retried, and a request not
// marked creating keeps the ordinary retries.
func TestCreatingIsNotRetriedBlindly(t *testing.T) {
	drop := func(w http.ResponseWriter) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	}
	tests := []struct {
		name      string
		creating  bool
		first     func(w http.ResponseWriter)
		wantCalls int64
		wantErr   error // nil: the second attempt's 200
	}{
		{"creating, 503", true, func(w http.ResponseWriter) { w.WriteHeader(503) }, 1, ErrUnknownOutcome},
		{"creating, answer dropped", true, drop, 1, ErrUnknownOutcome},
		{"creating, timed out", true, func(w http.ResponseWriter) { time.Sleep(300 * time.Millisecond) }, 1, ErrUnknownOutcome},
		{"creating, 429", true, func(w http.ResponseWriter) { w.WriteHeader(429) }, 2, nil},
		{"not creating, 503", false, func(w http.ResponseWriter) { w.WriteHeader(503) }, 2, nil},
		{"not creating, answer dropped", false, drop, 2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if n.Add(1) == 1 {
					tt.first(w)
					return
				}
				io.WriteString(w, `{}`)
			}))
			defer srv.Close()
			o := fastOptions()
			o.Timeout = 100 * time.Millisecond
			c := New(o)
			ctx := context.Background()
			if tt.creating {
				ctx = Creating(ctx)
			}
			req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL, strings.NewReader(`{"records":[]}`))
			resp, err := c.Do(req)
			if resp != nil {
				resp.Body.Close()
			}
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && (err != nil || resp.StatusCode != 200)) {
				t.Fatalf("Do: %v, want error %v", err, tt.wantErr)
			}
			if got := c.Stats().Calls; got != tt.wantCalls {
				t.Errorf("calls = %d, want %d", got, tt.wantCalls)
			}
		})
	}
}
