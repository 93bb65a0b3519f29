package hubspottest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strconv"
	"time"
)

// SignV3 computes HubSpot's X-HubSpot-Signature-v3 value
// (developers.hubspot.com "Validating requests", v3): base64 of
// HMAC-SHA256, keyed by the app's client secret, over method + uri + body +
// timestamp, where timestamp is the X-HubSpot-Request-Timestamp value (Unix
// milliseconds) and uri the full URL HubSpot called. Send ts as
// TimestampHeader(ts).
func SignV3(secret, method, uri string, body []byte, ts time.Time) (sig string) {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(method))
	m.Write([]byte(uri))
	m.Write(body)
	m.Write([]byte(TimestampHeader(ts)))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// TimestampHeader formats ts as X-HubSpot-Request-Timestamp: Unix
// milliseconds.
func TimestampHeader(ts time.Time) string {
	return strconv.FormatInt(ts.UnixMilli(), 10)
}
