// Package notify delivers signed outbound notifications to RevOps
// subscribers from the store's outbox: Standard Webhooks signatures
// (webhook-id, webhook-timestamp, webhook-signature), exponential back-off,
// nothing lost on restart, and a Slack incoming-webhook body as an
// alternative format.
package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks header names.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// secretKey decodes a Standard Webhooks secret: "whsec_" followed by base64
// is decoded; anything else is used as raw bytes.
func secretKey(secret string) []byte {
	if b64, ok := strings.CutPrefix(secret, "whsec_"); ok {
		if k, err := base64.StdEncoding.DecodeString(b64); err == nil {
			return k
		}
	}
	return []byte(secret)
}

// Sign returns the webhook-signature value "v1,<base64 HMAC-SHA256 of
// id.timestamp.body>", per the Standard Webhooks specification.
func Sign(secret, id string, ts time.Time, body []byte) string {
	mac := hmac.New(sha256.New, secretKey(secret))
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write([]byte(strconv.FormatInt(ts.Unix(), 10)))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// SetHeaders sets the three Standard Webhooks headers on h.
func SetHeaders(h http.Header, secret, id string, ts time.Time, body []byte) {
	h.Set(HeaderID, id)
	h.Set(HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(HeaderSignature, Sign(secret, id, ts, body))
}

// ErrVerification is returned by Verify for any failed check.
var ErrVerification = errors.New("webhook verification failed")

// Verify checks a received notification as a subscriber would, with the
// Standard Webhooks reference algorithm: timestamp within tolerance, any
// space-separated v1 signature matching in constant time.
func Verify(secret string, h http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	id, tsText, sigs := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if id == "" || tsText == "" || sigs == "" {
		return fmt.Errorf("%w: missing headers", ErrVerification)
	}
	sec, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: bad timestamp", ErrVerification)
	}
	ts := time.Unix(sec, 0)
	if d := now.Sub(ts); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: timestamp outside tolerance", ErrVerification)
	}
	want := Sign(secret, id, ts, body)
	for _, s := range strings.Fields(sigs) {
		if hmac.Equal([]byte(s), []byte(want)) {
			return nil
		}
	}
	return fmt.Errorf("%w: no matching signature", ErrVerification)
}
