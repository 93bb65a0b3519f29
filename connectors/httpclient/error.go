package httpclient

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Error is a vendor API failure: every connector turns a non-2xx response
// into one, so callers branch on one type (as stripe-go's *stripe.Error).
type Error struct {
	Vendor     string        // salesforce, hubspot, stripe, chargebee
	Status     int           // HTTP status
	Code       string        // vendor error code: INVALID_SESSION_ID, rate_limit, RATE_LIMIT, ...
	Message    string        // vendor message, secrets removed
	RequestID  string        // vendor request ID header, when sent
	RetryAfter time.Duration // when the vendor said
	// Policy is the vendor's limit policy when it names one (HubSpot
	// policyName: TEN_SECONDLY_ROLLING, DAILY).
	Policy string
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%s: HTTP %d", e.Vendor, e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.RequestID != "" {
		s += " (request " + e.RequestID + ")"
	}
	return s
}

// Temporary reports whether the same call may succeed later: 429 (unless a
// daily quota), 5xx, 408 and lock contention. This is the one place that
// decides; connectors set Code and Policy, not their own rules.
func (e *Error) Temporary() bool {
	switch {
	case errors.Is(e, ErrQuota):
		return false
	case e.Status == http.StatusTooManyRequests, e.Status == http.StatusRequestTimeout:
		return true
	case e.Status >= 500:
		return true
	case e.Code == "UNABLE_TO_LOCK_ROW", e.Code == "lock_timeout":
		return true
	}
	return false
}

// Is makes errors.Is(err, ErrQuota) true for daily quota exhaustion.
func (e *Error) Is(target error) bool {
	if target == ErrQuota {
		return e.Policy == "DAILY" || e.Code == "REQUEST_LIMIT_EXCEEDED"
	}
	return false
}

// ErrQuota means a vendor's daily allocation is spent or above the
// configured ceiling: the run stops with a clear message and nothing retries
// until the next schedule.
var ErrQuota = errors.New("API quota exhausted")
