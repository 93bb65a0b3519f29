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

// MaxPeek is how much of a body PeekBody returns: enough for any vendor's
// error JSON, small enough to hold in memory for every retry decision.
const MaxPeek = 1 << 20

// PeekBody returns the first MaxPeek bytes of resp.Body and leaves the body
// readable in full from its start, so a Hint can inspect an error body and
// the caller can still decode the whole response. It never truncates what
// the caller reads: a success body larger than MaxPeek (a page of 100
// Chargebee invoices with many lines passes 2 MiB) is read on from the
// network after the peeked prefix. Closing resp.Body closes the original.
func PeekBody(resp *http.Response) []byte {
	if resp == nil || resp.Body == nil {
		return nil
	}
	if p, ok := resp.Body.(*peeked); ok {
		return p.prefix
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxPeek))
	var rest io.Reader = resp.Body
	if err != nil {
		rest = errReader{err} // the read error surfaces to the caller after the prefix
	}
	resp.Body = &peeked{Reader: io.MultiReader(bytes.NewReader(b), rest), prefix: b, closer: resp.Body}
	return b
}

// peeked is a body whose first bytes were read by PeekBody.
type peeked struct {
	io.Reader
	prefix []byte
	closer io.Closer
}

func (p *peeked) Close() error { return p.closer.Close() }

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// leveled adapts zerolog to retryablehttp.LeveledLogger, redacting every
// value it logs.
type leveled struct {
	log    zerolog.Logger
	redact func(string) string
}

// emit writes one line. A line the logger's level drops costs nothing:
// retryablehttp logs every attempt ("performing request" with its URL),
// and redacting that with the regular expressions below is the bulk of a
// log call, so it is skipped when the event is disabled.
func (l *leveled) emit(e *zerolog.Event, msg string, kv []any) {
	if !e.Enabled() {
		return
	}
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
