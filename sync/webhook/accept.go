package webhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/healthsync/healthsync/connectors/record"
)

// What the receiver accepts once a request is verified. A payload that is
// authentic but that healthsync cannot store (an ID longer than a store key
// may be, a NUL byte that the store uses to join key parts, a time its 8-byte
// time encoding cannot hold or JSON cannot write) is answered 422 with the
// reason and counted as rejected{reason="unacceptable"}: a retry of the same
// bytes cannot succeed, so it must not look like an outage (5xx), which
// vendors retry for days. Only healthsync's own failures (the store
// unavailable) answer 5xx.

// ErrUnacceptable is wrapped by the reasons a verified payload is refused.
var ErrUnacceptable = errors.New("unacceptable payload")

// maxIDBytes bounds every identifier stored from a payload. It is
// healthsync's limit, not a vendor's: IDs become parts of bbolt keys (at most
// 32,768 bytes, go.etcd.io/bbolt MaxKeySize) and log fields, and vendors'
// IDs are tens of bytes.
const maxIDBytes = 1024

// Times the store can record: its keys hold a time as nanoseconds since 1970
// in an int64 (sync/store/bolt/keys.go), which spans the years 1677 to 2262.
var (
	minTime = time.Unix(0, math.MinInt64+1).UTC()
	maxTime = time.Unix(0, math.MaxInt64).UTC()
)

// idProblem says what makes v unusable as a stored identifier, or "".
func idProblem(v string) string {
	switch {
	case len(v) > maxIDBytes:
		return fmt.Sprintf("is %d bytes, the limit is %d", len(v), maxIDBytes)
	case strings.IndexByte(v, 0) >= 0:
		return "contains a NUL byte"
	case !utf8.ValidString(v):
		return "is not valid UTF-8"
	}
	return ""
}

// timeProblem says what makes t unusable as a stored time, or "".
func timeProblem(t time.Time) string {
	if !t.IsZero() && (t.Before(minTime) || t.After(maxTime)) {
		return fmt.Sprintf("is outside the years %d to %d", minTime.Year(), maxTime.Year())
	}
	return ""
}

// checkEvent refuses an event the queue cannot hold as it is.
func checkEvent(i int, ev record.Event) error {
	ids := []struct{ field, v string }{
		{"id", ev.ID}, {"type", ev.Type}, {"object_type", ev.ObjectType}, {"object_id", ev.ObjectID},
	}
	for _, f := range ids {
		if p := idProblem(f.v); p != "" {
			return fmt.Errorf("event %d %s %s: %w", i, f.field, p, ErrUnacceptable)
		}
	}
	if p := timeProblem(ev.Occurred); p != "" {
		return fmt.Errorf("event %d time %s: %w", i, p, ErrUnacceptable)
	}
	return nil
}

// checkEvents checks every event and returns the first problem.
func checkEvents(events []record.Event) error {
	for i, ev := range events {
		if err := checkEvent(i, ev); err != nil {
			return err
		}
	}
	return nil
}

// unacceptable answers 422 with the reason as JSON and counts it.
func (h *Handler) unacceptable(w http.ResponseWriter, vendor string, err error) {
	h.o.Metrics.Rejected.WithLabelValues(vendor, "unacceptable").Inc()
	writeJSONError(w, http.StatusUnprocessableEntity, err.Error())
}

// writeJSONError answers status with {"error": msg}.
func writeJSONError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error": msg})
}
