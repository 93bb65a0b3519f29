package httpclient

import (
	"bytes"
	"errors"
	"testing"

	"github.com/rs/zerolog"
)

// TestDroppedLinesAreNotRedacted pins that the retryablehttp adapter
// redacts only the lines the logger's level keeps: a dropped line costs no
// redaction, a kept one is redacted field by field.
func TestDroppedLinesAreNotRedacted(t *testing.T) {
	tests := []struct {
		level zerolog.Level
		want  int // redactions for one Debug, Info and Error call of two string fields each
	}{
		{zerolog.InfoLevel, 2},  // Error (as Warn) kept
		{zerolog.DebugLevel, 4}, // Info (as Debug) and Error kept
		{zerolog.TraceLevel, 6}, // every line kept
		{zerolog.Disabled, 0},
	}
	for _, tc := range tests {
		t.Run(tc.level.String(), func(t *testing.T) {
			var buf bytes.Buffer
			n := 0
			l := &leveled{log: zerolog.New(&buf).Level(tc.level), redact: func(s string) string { n++; return s }}
			l.Debug("performing request", "method", "GET", "url", "https://api.example.test/v1/x?api_key=k")
			l.Info("retrying request", "request", "GET /v1/x", "error", errors.New("timeout"))
			l.Error("request failed", "url", "https://api.example.test/v1/x", "error", errors.New("boom"))
			if n != tc.want {
				t.Errorf("%d redactions at level %s, want %d", n, tc.level, tc.want)
			}
		})
	}
}

// BenchmarkRequestLog measures the adapter's cost per request: the
// "performing request" line retryablehttp logs for every attempt (as
// Trace), with a URL to redact, at each logger level.
func BenchmarkRequestLog(b *testing.B) {
	c := New(Options{Name: "bench", Secrets: []string{"sk_test_secret_key"}})
	for _, level := range []zerolog.Level{zerolog.InfoLevel, zerolog.DebugLevel, zerolog.TraceLevel} {
		b.Run(level.String(), func(b *testing.B) {
			var buf bytes.Buffer
			l := &leveled{log: zerolog.New(&buf).Level(level), redact: c.Redact}
			for b.Loop() {
				buf.Reset()
				l.Debug("performing request", "method", "GET", "url", "https://api.stripe.com/v1/subscriptions?limit=100&starting_after=sub_00000000012345&expand[]=data.customer")
			}
		})
	}
}
