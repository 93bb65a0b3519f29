package stripe

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/record"
)

// DefaultTolerance is the accepted age of a Stripe-Signature timestamp, as
// Stripe's libraries use.
const DefaultTolerance = 300 * time.Second

// Verifier checks Stripe-Signature headers
// (https://docs.stripe.com/webhooks#verify-manually): "t=<unix>" and one or
// more "v1=<hex>" values, each an HMAC-SHA256 of "<t>.<raw body>" keyed with
// an endpoint secret. Any configured secret may match (rotation), the
// comparison is constant-time, and the timestamp must be within Tolerance
// of now.
type Verifier struct {
	secrets   []config.Secret
	tolerance time.Duration
}

// NewVerifier builds a Verifier from webhook.secrets and webhook.tolerance
// (default 300 s).
func NewVerifier(w config.Webhook) *Verifier {
	t := w.Tolerance.D()
	if t <= 0 {
		t = DefaultTolerance
	}
	return &Verifier{secrets: w.Secrets, tolerance: t}
}

// Verify authenticates r's raw body and parses the event. Errors wrap
// record.ErrUnauthenticated (missing, wrong or stale signature) or
// record.ErrMalformed (a body that is not a Stripe event).
func (v *Verifier) Verify(r *http.Request, body []byte, now time.Time) ([]record.Event, error) {
	header := r.Header.Get("Stripe-Signature")
	if header == "" {
		return nil, fmt.Errorf("missing Stripe-Signature header: %w", record.ErrUnauthenticated)
	}
	var t string
	var sigs [][]byte
	for _, part := range strings.Split(header, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			continue
		}
		switch k {
		case "t":
			t = val
		case "v1":
			if b, err := hex.DecodeString(val); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	sec, err := strconv.ParseInt(t, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("no timestamp in Stripe-Signature: %w", record.ErrUnauthenticated)
	}
	if len(sigs) == 0 {
		return nil, fmt.Errorf("no v1 signature in Stripe-Signature: %w", record.ErrUnauthenticated)
	}
	if age := now.Sub(time.Unix(sec, 0)); age > v.tolerance || age < -v.tolerance {
		return nil, fmt.Errorf("signature timestamp outside the %s tolerance: %w", v.tolerance, record.ErrUnauthenticated)
	}
	if !v.match(t, body, sigs) {
		return nil, fmt.Errorf("no matching v1 signature: %w", record.ErrUnauthenticated)
	}
	var e struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Type    string `json:"type"`
		Created int64  `json:"created"`
		Data    struct {
			Object json.RawMessage `json:"object"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		return nil, fmt.Errorf("decoding event: %w", record.ErrMalformed)
	}
	if e.ID == "" || e.Type == "" || e.Object != "event" {
		return nil, fmt.Errorf("not a stripe event: %w", record.ErrMalformed)
	}
	// data.object is read once: its type, ID and customer.
	var o struct {
		eventObject
		Customer json.RawMessage `json:"customer"`
	}
	_ = json.Unmarshal(e.Data.Object, &o)
	return []record.Event{{
		System: record.Stripe, ID: e.ID, Type: e.Type, ObjectType: o.Object, ObjectID: o.ID,
		Occurred: ts(e.Created), Object: e.Data.Object, OrderKey: orderKey(o.Object, o.ID, o.Customer),
	}}, nil
}

// orderKey serialises a customer's events: a subscription's or invoice's
// "customer" (the object's customer field, raw) is the customer ID or,
// expanded, the customer object (Stripe API reference, "Expanding
// Responses"); a customer event is its own.
func orderKey(objType, id string, customer json.RawMessage) string {
	if objType == "customer" && id != "" {
		return record.CustomerOrderKey(id)
	}
	if len(customer) == 0 {
		return ""
	}
	var cus string
	if json.Unmarshal(customer, &cus) == nil && cus != "" {
		return record.CustomerOrderKey(cus)
	}
	var exp struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(customer, &exp) == nil && exp.ID != "" {
		return record.CustomerOrderKey(exp.ID)
	}
	return ""
}

func (v *Verifier) match(t string, body []byte, sigs [][]byte) bool {
	for _, s := range v.secrets {
		m := hmac.New(sha256.New, []byte(s.Reveal()))
		m.Write([]byte(t))
		m.Write([]byte("."))
		m.Write(body)
		want := m.Sum(nil)
		for _, got := range sigs {
			if hmac.Equal(want, got) {
				return true
			}
		}
	}
	return false
}
