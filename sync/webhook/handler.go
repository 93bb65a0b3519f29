// Package webhook receives vendor webhooks: body size limit, content type,
// signature verification over the raw bytes, durable enqueue (group commit)
// and only then a 2xx; duplicates are acknowledged and not processed twice.
// Workers drain the queue in per-account order with retries, back-off and a
// dead-letter list.
package webhook

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/store"
)

// Verifier authenticates a vendor request and parses its events.
type Verifier interface {
	Verify(r *http.Request, body []byte, now time.Time) ([]record.Event, error)
}

// Source is one connector that receives webhooks at /webhooks/{Connector}
// (and at /webhooks/{Kind} when it is the only connector of its kind).
type Source struct {
	Connector string
	Kind      string // stripe, hubspot, salesforce, chargebee
	Verifier  Verifier
	// ContentTypes accepted (media types without parameters).
	ContentTypes []string
	// Ack, when set, writes the success body (Salesforce's SOAP Ack).
	Ack func(w http.ResponseWriter)
	// SubPath routes /webhooks/{Connector}/{segment} here too; the
	// Verifier checks the segment (Salesforce's secret path token).
	SubPath bool
	// Budget, when set, bounds the events enqueued per minute (budget.go).
	Budget *Budget
}

// ErrUnavailable, wrapped by a Verifier's error, means the request was
// genuine but could not be taken now (a push source's store write
// failed): the answer is 503 and the sender retries.
var ErrUnavailable = errors.New("webhook receiver unavailable")

// Queue is the durable event queue (the store).
type Queue interface {
	Enqueue(events []store.QueuedEvent) (dup []bool, err error)
}

// Options configure a Handler.
type Options struct {
	Sources []Source
	Queue   Queue
	// MaxBody is the largest accepted body in bytes (default 1 MiB).
	MaxBody int64
	// Signals receives POST /v1/signals; nil disables the route.
	Signals *SignalsEndpoint
	Metrics *Metrics
	Now     func() time.Time
	Logger  zerolog.Logger
	// Notify is called after events were durably enqueued, to wake workers.
	Notify func()
}

// Handler is the webhook http.Handler.
type Handler struct {
	o      Options
	byPath map[string]*Source
}

// NewHandler builds a Handler.
func NewHandler(o Options) *Handler {
	if o.MaxBody <= 0 {
		o.MaxBody = 1 << 20
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	h := &Handler{o: o, byPath: map[string]*Source{}}
	kinds := map[string]int{}
	for i := range o.Sources {
		kinds[o.Sources[i].Kind]++
	}
	for i := range o.Sources {
		s := &o.Sources[i]
		h.byPath[s.Connector] = s
		if kinds[s.Kind] == 1 {
			if _, taken := h.byPath[s.Kind]; !taken {
				h.byPath[s.Kind] = s
			}
		}
	}
	return h
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/v1/signals" && h.o.Signals != nil {
		h.o.Signals.serve(h, w, r)
		return
	}
	name, ok := strings.CutPrefix(r.URL.Path, "/webhooks/")
	src := h.byPath[name]
	if prefix, _, sub := strings.Cut(name, "/"); src == nil && sub && h.byPath[prefix] != nil && h.byPath[prefix].SubPath {
		src = h.byPath[prefix]
	}
	if !ok || src == nil {
		http.NotFound(w, r)
		return
	}
	vendor := src.Kind
	h.o.Metrics.Received.WithLabelValues(vendor).Inc()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.reject(w, vendor, "method", http.StatusMethodNotAllowed)
		return
	}
	if !acceptable(r.Header.Get("Content-Type"), src.ContentTypes) {
		h.reject(w, vendor, "content_type", http.StatusUnsupportedMediaType)
		return
	}
	body, status := readBody(w, r, h.o.MaxBody)
	if status != 0 {
		h.reject(w, vendor, "body_size", status)
		return
	}
	events, err := src.Verifier.Verify(r, body, h.o.Now())
	if err != nil {
		switch {
		case errors.Is(err, ErrUnavailable):
			h.reject(w, vendor, "store", http.StatusServiceUnavailable)
			h.o.Logger.Error().Err(err).Str("connector", src.Connector).Msg("webhook not taken")
			return
		case errors.Is(err, record.ErrMalformed):
			h.reject(w, vendor, "malformed", http.StatusBadRequest)
		default:
			// Signature, credentials or timestamp: one answer for all, so
			// the response helps no attacker.
			h.reject(w, vendor, "signature", http.StatusUnauthorized)
		}
		h.o.Logger.Warn().Str("connector", src.Connector).Str("reason", reasonOf(err)).Msg("webhook rejected")
		return
	}
	if err := checkEvents(events); err != nil {
		h.o.Logger.Warn().Str("connector", src.Connector).Str("reason", err.Error()).Msg("verified webhook unacceptable")
		h.unacceptable(w, vendor, err)
		return
	}
	h.o.Metrics.Verified.WithLabelValues(vendor).Add(float64(len(events)))
	if h.overBudget(w, src, len(events)) {
		return
	}
	if err := h.enqueue(src.Connector, events); err != nil {
		h.o.Logger.Error().Err(err).Str("connector", src.Connector).Msg("webhook enqueue failed")
		h.reject(w, vendor, "store", http.StatusServiceUnavailable)
		return
	}
	if src.Ack != nil {
		src.Ack(w)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(`{"received":true}`))
}

// enqueue commits events durably; it returns only after the commit.
func (h *Handler) enqueue(connector string, events []record.Event) error {
	if len(events) == 0 {
		return nil
	}
	now := h.o.Now()
	q := make([]store.QueuedEvent, len(events))
	for i, ev := range events {
		q[i] = store.QueuedEvent{Connector: connector, Key: OrderKey(connector, ev), Event: ev, Due: now, Enqueued: now}
	}
	dups, err := h.o.Queue.Enqueue(q)
	if err != nil {
		return err
	}
	for _, d := range dups {
		if d {
			h.o.Metrics.Duplicates.WithLabelValues(events[0].System).Inc()
		}
	}
	if h.o.Notify != nil {
		h.o.Notify()
	}
	return nil
}

// OrderKey is the key events are serialised on, under the connector: the
// key the verifier chose (the billing customer, so a customer's invoice and
// subscription events keep their order), otherwise the object.
func OrderKey(connector string, ev record.Event) string {
	if ev.OrderKey != "" {
		return connector + "/" + ev.OrderKey
	}
	return connector + "/" + ev.ObjectType + "/" + ev.ObjectID
}

func (h *Handler) reject(w http.ResponseWriter, vendor, reason string, status int) {
	h.o.Metrics.Rejected.WithLabelValues(vendor, reason).Inc()
	http.Error(w, http.StatusText(status), status)
}

func reasonOf(err error) string {
	if errors.Is(err, record.ErrMalformed) {
		return "malformed"
	}
	return "unauthenticated"
}

func acceptable(ct string, allowed []string) bool {
	if len(allowed) == 0 {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	for _, a := range allowed {
		if strings.EqualFold(mt, a) {
			return true
		}
	}
	return false
}

// readBody reads at most max bytes; a larger body gives 413.
func readBody(w http.ResponseWriter, r *http.Request, max int64) ([]byte, int) {
	if r.ContentLength > max {
		return nil, http.StatusRequestEntityTooLarge
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, http.StatusRequestEntityTooLarge
		}
		return nil, http.StatusBadRequest
	}
	return b, 0
}
