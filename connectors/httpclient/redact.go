package httpclient

import (
	"bytes"
	"io"
	"net/http"
	"regexp"
	"strings"

	"github.com/rs/zerolog"
)

var credentialParam = regexp.MustCompile(`(?i)((?:api_?key|access_token|refresh_token|client_secret|token|password|secret|hapikey|sig)=)[^&\s"]+`)
var bearer = regexp.MustCompile(`(?i)(bearer|basic)\s+[A-Za-z0-9._~+/=-]+`)

// Redact removes configured secrets, bearer/basic credentials and
// credential-like query parameters from s.
func (c *Client) Redact(s string) string {
	for _, sec := range c.opts.Secrets {
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, sec, "<redacted>")
		}
	}
	s = credentialParam.ReplaceAllString(s, "${1}<redacted>")
	return bearer.ReplaceAllString(s, "${1} <redacted>")
}

// PeekBody reads resp.Body and puts an identical reader back, so a Hint can
// inspect an error body and the caller can still decode it. It reads at most
// 1 MiB.
func PeekBody(resp *http.Response) []byte {
	if resp == nil || resp.Body == nil {
		return nil
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(b))
	return b
}

// leveled adapts zerolog to retryablehttp.LeveledLogger, redacting every
// value it logs.
type leveled struct {
	log    zerolog.Logger
	redact func(string) string
}

func (l *leveled) emit(e *zerolog.Event, msg string, kv []any) {
	for i := 0; i+1 < len(kv); i += 2 {
		k, _ := kv[i].(string)
		switch v := kv[i+1].(type) {
		case string:
			e = e.Str(k, l.redact(v))
		case error:
			e = e.Str(k, l.redact(v.Error()))
		case int:
			e = e.Int(k, v)
		default:
			if s, ok := v.(interface{ String() string }); ok {
				e = e.Str(k, l.redact(s.String()))
			}
		}
	}
	e.Msg(msg)
}

func (l *leveled) Error(msg string, kv ...any) { l.emit(l.log.Warn(), msg, kv) }
func (l *leveled) Info(msg string, kv ...any)  { l.emit(l.log.Debug(), msg, kv) }
func (l *leveled) Debug(msg string, kv ...any) { l.emit(l.log.Trace(), msg, kv) }
func (l *leveled) Warn(msg string, kv ...any)  { l.emit(l.log.Warn(), msg, kv) }
