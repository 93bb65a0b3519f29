// Package daemon owns the process lifecycle: the store, the scheduler, the
// HTTP server (health, readiness, metrics, API, report, webhooks), signal
// handling and graceful stop.
package daemon

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/healthsync/healthsync/config"
)

// Routes are the handlers the daemon serves. A nil handler is not served.
type Routes struct {
	// APIToken guards /api/ and /report (and /metrics unless MetricsOpen).
	// Without a token those routes are not served at all: they carry
	// customer data.
	APIToken config.Secret
	// Ready reports readiness: store open and scheduler started.
	Ready func() bool
	// Metrics serves Prometheus metrics. MetricsOpen serves it without a
	// token, which the daemon does only on a separate metrics listener.
	Metrics     http.Handler
	MetricsOpen bool
	API         http.Handler // mounted at /api/
	Report      http.Handler // mounted at /report
	// Webhooks is mounted at /webhooks/ and /v1/signals; those paths
	// authenticate by vendor signature or their own token.
	Webhooks http.Handler
}

// NewMux builds the HTTP handler from routes.
func NewMux(r Routes) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if r.Ready == nil || !r.Ready() {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("not ready\n"))
			return
		}
		w.Write([]byte("ready\n"))
	})
	guard := func(h http.Handler) http.Handler { return RequireToken(r.APIToken, h) }
	if r.Metrics != nil {
		if r.MetricsOpen {
			mux.Handle("GET /metrics", r.Metrics)
		} else if !r.APIToken.IsZero() {
			mux.Handle("GET /metrics", guard(r.Metrics))
		}
	}
	if !r.APIToken.IsZero() {
		if r.API != nil {
			mux.Handle("/api/", guard(r.API))
		}
		if r.Report != nil {
			mux.Handle("GET /report", guard(r.Report))
		}
	}
	if r.Webhooks != nil {
		mux.Handle("/webhooks/", r.Webhooks)
		mux.Handle("/v1/signals", r.Webhooks)
	}
	return mux
}

// RequireToken serves h only to requests carrying "Authorization: Bearer
// TOKEN", compared in constant time. The answer to a bad token says nothing
// more than 401.
func RequireToken(token config.Secret, h http.Handler) http.Handler {
	want := []byte(token.Reveal())
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		got, ok := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
		if !ok || len(want) == 0 || subtle.ConstantTimeCompare([]byte(got), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="healthsync"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, req)
	})
}
