package segment

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
)

// SignatureHeader is where Segment puts the request's HMAC. Docs ("Webhooks
// Destination", "Webhooks (Actions) Destination" > Getting started): with a
// shared secret set, "Segment will sign requests with an HMAC in the
// X-Signature request header. The HMAC is a hex-encoded SHA1 hash generated
// using the shared secret and the request body."
const SignatureHeader = "X-Signature"

// DefaultMaxCalls caps the calls of one request when Config.MaxCalls is 0.
const DefaultMaxCalls = 10000

// Call types (docs: "Spec: Common Fields" > type).
const (
	TypeTrack    = "track"
	TypeIdentify = "identify"
	TypeGroup    = "group"
	TypePage     = "page"
	TypeScreen   = "screen"
	TypeAlias    = "alias"
)

// Call is one Segment call as the Spec documents it ("Spec: Common Fields"
// plus the fields of "Spec: Track", "Spec: Identify" and "Spec: Group"),
// reduced to what the mapper reads.
type Call struct {
	Type        string         `json:"type"`
	MessageID   string         `json:"messageId"`
	UserID      string         `json:"userId"`
	AnonymousID string         `json:"anonymousId"`
	Event       string         `json:"event"`   // track
	GroupID     string         `json:"groupId"` // group
	Properties  map[string]any `json:"properties"`
	Traits      map[string]any `json:"traits"` // identify (user traits), group (group traits)
	Context     CallContext    `json:"context"`
	// Timestamp is when the call took place, UTC ("Spec: Common Fields" >
	// timestamp); the receipt time when the call has none.
	Timestamp time.Time `json:"-"`
}

// CallContext holds the context fields the mapper reads. Docs ("Spec:
// Common Fields" > Context > groupId): "Group / Account ID. This is useful
// in B2B use cases where you need to attribute your non-group calls to a
// company or account."
type CallContext struct {
	GroupID string `json:"groupId"`
}

// wireCall adds the time fields, decoded as strings so one unparseable
// value is a clear error rather than a decoder message.
type wireCall struct {
	Call
	Timestamp         string `json:"timestamp"`
	OriginalTimestamp string `json:"originalTimestamp"`
	ReceivedAt        string `json:"receivedAt"`
}

// Verifier authenticates requests of Segment's Webhooks destination and
// parses their calls. It holds no mutable state; one serves every request.
type Verifier struct {
	secrets  [][]byte
	maxCalls int
	bodyOnly bool
}

// NewVerifier builds a Verifier from c (secrets and max_calls). With no
// secret every request is refused.
func NewVerifier(c Config) *Verifier {
	v := &Verifier{maxCalls: c.MaxCalls, bodyOnly: c.BodySignatureOnly}
	if v.maxCalls <= 0 {
		v.maxCalls = DefaultMaxCalls
	}
	for _, s := range c.SharedSecrets {
		if !s.IsZero() {
			v.secrets = append(v.secrets, []byte(s.Reveal()))
		}
	}
	return v
}

// Verify checks the X-Signature of body and parses its calls. The errors
// wrap record.ErrUnauthenticated (answer 401, say nothing more) or
// record.ErrMalformed (answer 400); neither stores anything.
//
// The body is one call object, {"batch": [calls]} ("HTTP API Source" >
// Batch) or a JSON array of calls (the Webhooks (Actions) destination with
// batching on). The signature is checked over the raw body; for an array it
// may instead be over the first call alone, as Segment computes it for
// batches ("Webhooks Destination" > Authentication: for batch events "the
// X-Signature header [is verified] against a hash of the first event in the
// batch"; the calls after the first are then not covered by the HMAC, see
// CONTRACT.md), unless Config.BodySignatureOnly is set. Segment signs no timestamp, so there is no freshness check;
// messageId serves for dedupe. now stamps calls without a timestamp.
func (v *Verifier) Verify(r *http.Request, body []byte, now time.Time) ([]Call, error) {
	if len(v.secrets) == 0 {
		return nil, fmt.Errorf("segment webhook: no shared secret configured: %w", record.ErrUnauthenticated)
	}
	sigs := r.Header.Values(SignatureHeader)
	if len(sigs) == 0 {
		return nil, fmt.Errorf("segment webhook: missing %s: %w", SignatureHeader, record.ErrUnauthenticated)
	}
	if !v.signed(body, sigs) {
		return nil, fmt.Errorf("segment webhook: signature does not match: %w", record.ErrUnauthenticated)
	}
	calls, err := parseCalls(body, now, v.maxCalls)
	if err != nil {
		return nil, fmt.Errorf("segment webhook: %w: %w", err, record.ErrMalformed)
	}
	return calls, nil
}

// signed reports whether any header value is the hex HMAC-SHA1 of body, or
// for an array body of its first element, under any secret.
func (v *Verifier) signed(body []byte, sigs []string) bool {
	var want [][]byte
	for _, s := range sigs {
		for _, part := range strings.Split(s, ",") {
			if b, err := hex.DecodeString(strings.TrimSpace(part)); err == nil && len(b) == sha1.Size {
				want = append(want, b)
			}
		}
	}
	if len(want) == 0 {
		return false
	}
	if v.matches(body, want) {
		return true
	}
	if v.bodyOnly {
		return false
	}
	first, ok := firstElement(body)
	return ok && v.matches(first, want)
}

func (v *Verifier) matches(msg []byte, want [][]byte) bool {
	ok := false
	for _, key := range v.secrets {
		m := hmac.New(sha1.New, key)
		m.Write(msg)
		sum := m.Sum(nil)
		for _, w := range want {
			// No early return: every comparison runs whatever matched.
			if hmac.Equal(sum, w) {
				ok = true
			}
		}
	}
	return ok
}

// firstElement returns the compact JSON of an array body's first element:
// the bytes Segment's JSON.stringify(body[0]) produced.
func firstElement(body []byte) ([]byte, bool) {
	t := bytes.TrimSpace(body)
	if len(t) == 0 || t[0] != '[' {
		return nil, false
	}
	var elems []json.RawMessage
	if json.Unmarshal(t, &elems) != nil || len(elems) == 0 {
		return nil, false
	}
	var buf bytes.Buffer
	if json.Compact(&buf, elems[0]) != nil {
		return nil, false
	}
	return buf.Bytes(), true
}

// parseCalls decodes a body of one call, {"batch": [...]} or [...].
func parseCalls(body []byte, now time.Time, max int) ([]Call, error) {
	t := bytes.TrimSpace(body)
	var raw []wireCall
	switch {
	case len(t) == 0:
		return nil, fmt.Errorf("empty body")
	case t[0] == '[':
		if err := json.Unmarshal(t, &raw); err != nil {
			return nil, fmt.Errorf("decoding calls: %v", err)
		}
	case t[0] == '{':
		var probe struct {
			Batch *[]wireCall `json:"batch"`
		}
		if err := json.Unmarshal(t, &probe); err != nil {
			return nil, fmt.Errorf("decoding body: %v", err)
		}
		if probe.Batch != nil {
			raw = *probe.Batch
		} else {
			var one wireCall
			if err := json.Unmarshal(t, &one); err != nil {
				return nil, fmt.Errorf("decoding call: %v", err)
			}
			raw = []wireCall{one}
		}
	default:
		return nil, fmt.Errorf("body is neither a call, a batch nor an array of calls")
	}
	if len(raw) == 0 || len(raw) > max {
		return nil, fmt.Errorf("want 1 to %d calls, got %d", max, len(raw))
	}
	out := make([]Call, len(raw))
	for i := range raw {
		c, err := raw[i].call(now)
		if err != nil {
			return nil, fmt.Errorf("call %d: %v", i, err)
		}
		out[i] = c
	}
	return out, nil
}

// call checks the fields each type requires ("Spec: Track": event; "Spec:
// Group": groupId; every call: userId or anonymousId, "Spec: Common
// Fields") and picks the time: timestamp, else originalTimestamp, else
// receivedAt, else now.
func (w *wireCall) call(now time.Time) (Call, error) {
	c := w.Call
	switch c.Type {
	case TypeTrack:
		if c.Event == "" {
			return c, fmt.Errorf("track without event")
		}
	case TypeGroup:
		if c.GroupID == "" {
			return c, fmt.Errorf("group without groupId")
		}
	case TypeIdentify, TypePage, TypeScreen, TypeAlias:
	case "":
		return c, fmt.Errorf("missing type")
	default:
		return c, fmt.Errorf("unknown type %q", c.Type)
	}
	if c.UserID == "" && c.AnonymousID == "" {
		return c, fmt.Errorf("%s without userId or anonymousId", c.Type)
	}
	c.Timestamp = now.UTC()
	for _, s := range []string{w.Timestamp, w.OriginalTimestamp, w.ReceivedAt} {
		if s == "" {
			continue
		}
		ts, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return c, fmt.Errorf("timestamp %q is not ISO-8601", s)
		}
		c.Timestamp = ts.UTC()
		break
	}
	return c, nil
}
