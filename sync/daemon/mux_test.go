package daemon

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/healthsync/healthsync/config"
)

func ok(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(name)) })
}

// TestRouteAccess walks every route with no token, a wrong token and the
// right one, with and without a configured token.
func TestRouteAccess(t *testing.T) {
	const tok = "tok-123456"
	type want struct{ none, wrong, right int }
	tests := []struct {
		name        string
		token       string
		metricsOpen bool
		method      string
		path        string
		want        want
	}{
		{"healthz open", tok, false, "GET", "/healthz", want{200, 200, 200}},
		{"readyz open", tok, false, "GET", "/readyz", want{200, 200, 200}},
		{"api guarded", tok, false, "GET", "/api/runs", want{401, 401, 200}},
		{"report guarded", tok, false, "GET", "/report", want{401, 401, 200}},
		{"metrics guarded", tok, false, "GET", "/metrics", want{401, 401, 200}},
		{"metrics open listener", tok, true, "GET", "/metrics", want{200, 200, 200}},
		{"webhooks by signature", tok, false, "POST", "/webhooks/stripe", want{200, 200, 200}},
		{"signals own token", tok, false, "POST", "/v1/signals", want{200, 200, 200}},
		{"api without token configured", "", false, "GET", "/api/runs", want{404, 404, 404}},
		{"report without token configured", "", false, "GET", "/report", want{404, 404, 404}},
		{"metrics without token configured", "", false, "GET", "/metrics", want{404, 404, 404}},
		{"healthz without token configured", "", false, "GET", "/healthz", want{200, 200, 200}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewMux(Routes{
				APIToken:    config.NewSecret(tt.token),
				Ready:       func() bool { return true },
				Metrics:     ok("metrics"),
				MetricsOpen: tt.metricsOpen,
				API:         ok("api"),
				Report:      ok("report"),
				Webhooks:    ok("webhooks"),
			})
			for i, auth := range []string{"", "Bearer wrong", "Bearer " + tok} {
				req := httptest.NewRequest(tt.method, tt.path, nil)
				if auth != "" {
					req.Header.Set("Authorization", auth)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				wantCode := []int{tt.want.none, tt.want.wrong, tt.want.right}[i]
				if rec.Code != wantCode {
					t.Errorf("%s %s with %q: status %d, want %d", tt.method, tt.path, auth, rec.Code, wantCode)
				}
			}
		})
	}
}

func TestReadyz(t *testing.T) {
	ready := false
	h := NewMux(Routes{Ready: func() bool { return ready }})
	for _, tc := range []struct {
		ready bool
		code  int
	}{{false, 503}, {true, 200}} {
		ready = tc.ready
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		if rec.Code != tc.code {
			t.Errorf("ready=%v: %d, want %d", tc.ready, rec.Code, tc.code)
		}
	}
}
