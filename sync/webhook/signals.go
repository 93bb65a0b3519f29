package webhook

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/store"
)

// SignalStore persists usage signals.
type SignalStore interface {
	AddSignals(signals []record.Signal) error
}

// SignalsEndpoint is POST /v1/signals: product usage (logins, feature use,
// tickets, NPS) as a JSON batch, authenticated by a bearer token.
//
//	{"signals": [{"account": "salesforce/0015g00000ABCDE", "metric": "logins",
//	              "value": 3, "time": "2026-11-20T09:00:00Z"}]}
//
// account is a record key (system/id) of a CRM account or a billing customer.
// Each accepted batch is stored, then one re-score event per account is
// queued.
type SignalsEndpoint struct {
	Token config.Secret
	Store SignalStore
	// MaxSignals per request (default 10,000).
	MaxSignals int
	// Used, when set, reports whether scoring reads a metric. Signals of
	// other metrics are stored all the same (a measure may be added
	// later), but counted in the answer's "unused_metrics" and logged, so
	// a misspelt metric is not silently kept and ignored.
	Used func(metric string) bool
	// Systems are the record systems an account key may name (the wired
	// connector kinds' and "external"); empty accepts any lower-case
	// system name.
	Systems []string
}

type signalIn struct {
	Account json.RawMessage `json:"account"`
	Metric  string          `json:"metric"`
	Value   *float64        `json:"value"`
	Time    time.Time       `json:"time"`
}

func (s *SignalsEndpoint) serve(h *Handler, w http.ResponseWriter, r *http.Request) {
	const vendor = "signals"
	h.o.Metrics.Received.WithLabelValues(vendor).Inc()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.reject(w, vendor, "method", http.StatusMethodNotAllowed)
		return
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	want := s.Token.Reveal()
	if !ok || want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		h.reject(w, vendor, "token", http.StatusUnauthorized)
		return
	}
	if !acceptable(r.Header.Get("Content-Type"), []string{"application/json"}) {
		h.reject(w, vendor, "content_type", http.StatusUnsupportedMediaType)
		return
	}
	body, status := readBody(w, r, h.o.MaxBody)
	if status != 0 {
		h.reject(w, vendor, "body_size", status)
		return
	}
	signals, err := s.parse(body)
	if err != nil {
		h.o.Metrics.Rejected.WithLabelValues(vendor, "malformed").Inc()
		writeJSONError(w, http.StatusBadRequest, err.Error())
		return
	}
	if err := s.Store.AddSignals(signals); err != nil {
		h.o.Logger.Error().Err(err).Msg("storing signals failed")
		h.reject(w, vendor, "store", http.StatusServiceUnavailable)
		return
	}
	h.o.Metrics.Verified.WithLabelValues(vendor).Add(float64(len(signals)))
	// One re-score event per account; its ID is derived from the batch so a
	// retried delivery of the same batch is a duplicate.
	sum := sha256.Sum256(body)
	batchID := hex.EncodeToString(sum[:8])
	seen := map[string]bool{}
	var events []record.Event
	for _, sg := range signals {
		k := sg.Account.Key()
		if seen[k] {
			continue
		}
		seen[k] = true
		events = append(events, record.Event{System: record.Signals, ID: batchID + ":" + k, Type: "signals.received",
			ObjectType: "account", ObjectID: k, Occurred: h.o.Now()})
	}
	if err := h.enqueueSignals(events); err != nil {
		h.o.Logger.Error().Err(err).Msg("queueing re-score failed")
		h.reject(w, vendor, "store", http.StatusServiceUnavailable)
		return
	}
	answer := map[string]any{"accepted": len(signals)}
	if s.Used != nil {
		unused := map[string]int{}
		for _, sg := range signals {
			if !s.Used(sg.Metric) {
				unused[sg.Metric]++
			}
		}
		if len(unused) > 0 {
			answer["unused_metrics"] = unused
			h.o.Logger.Warn().Interface("unused_metrics", unused).Msg("signals of metrics no measure or rule reads")
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusAccepted)
	json.NewEncoder(w).Encode(answer)
}

func (h *Handler) enqueueSignals(events []record.Event) error {
	if len(events) == 0 {
		return nil
	}
	now := h.o.Now()
	q := make([]store.QueuedEvent, len(events))
	for i, ev := range events {
		q[i] = store.QueuedEvent{Connector: record.Signals, Key: "account/" + ev.ObjectID, Event: ev, Due: now, Enqueued: now}
	}
	_, err := h.o.Queue.Enqueue(q)
	if err == nil && h.o.Notify != nil {
		h.o.Notify()
	}
	return err
}

func (s *SignalsEndpoint) parse(body []byte) ([]record.Signal, error) {
	var in struct {
		Signals []signalIn `json:"signals"`
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return nil, fmt.Errorf("body must be {\"signals\": [...]}: %v", err)
	}
	max := s.MaxSignals
	if max <= 0 {
		max = 10000
	}
	if len(in.Signals) == 0 || len(in.Signals) > max {
		return nil, fmt.Errorf("signals: want 1 to %d entries, got %d", max, len(in.Signals))
	}
	out := make([]record.Signal, 0, len(in.Signals))
	var problems []string
	for i, sg := range in.Signals {
		ref, err := s.parseAccount(sg.Account)
		switch {
		case err != nil:
			problems = append(problems, fmt.Sprintf("signals[%d].account: %v", i, err))
		case sg.Metric == "":
			problems = append(problems, fmt.Sprintf("signals[%d].metric: required", i))
		case sg.Value == nil:
			problems = append(problems, fmt.Sprintf("signals[%d].value: required", i))
		case sg.Time.IsZero():
			problems = append(problems, fmt.Sprintf("signals[%d].time: required (RFC 3339)", i))
		case idProblem(sg.Metric) != "":
			problems = append(problems, fmt.Sprintf("signals[%d].metric %s", i, idProblem(sg.Metric)))
		case idProblem(ref.ID) != "":
			problems = append(problems, fmt.Sprintf("signals[%d].account %s", i, idProblem(ref.ID)))
		case timeProblem(sg.Time) != "":
			problems = append(problems, fmt.Sprintf("signals[%d].time %s", i, timeProblem(sg.Time)))
		default:
			out = append(out, record.Signal{Account: ref, Metric: sg.Metric, Value: *sg.Value, Time: sg.Time.UTC()})
		}
		if len(problems) >= 10 {
			break
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return out, nil
}

// systemRe is a system name when no list of systems is given.
var systemRe = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)

// known reports whether an account key may name system sys.
func (s *SignalsEndpoint) known(sys string) bool {
	if len(s.Systems) == 0 {
		return systemRe.MatchString(sys)
	}
	return slices.Contains(s.Systems, sys)
}

func (s *SignalsEndpoint) parseAccount(raw json.RawMessage) (record.Ref, error) {
	var key string
	if json.Unmarshal(raw, &key) == nil {
		sys, id, ok := strings.Cut(key, "/")
		if !ok || id == "" || !s.known(sys) {
			return record.Ref{}, fmt.Errorf("want \"system/id\" with system %s", s.systemList())
		}
		return record.Ref{System: sys, ID: id}, nil
	}
	var ref struct {
		System string `json:"system"`
		ID     string `json:"id"`
	}
	if err := json.Unmarshal(raw, &ref); err != nil || ref.ID == "" || !s.known(ref.System) {
		return record.Ref{}, fmt.Errorf("want \"system/id\" or {\"system\":..., \"id\":...}")
	}
	return record.Ref{System: ref.System, ID: ref.ID}, nil
}

// systemList names the accepted systems as "a, b or c".
func (s *SignalsEndpoint) systemList() string {
	switch n := len(s.Systems); n {
	case 0:
		return "a lower-case system name"
	case 1:
		return s.Systems[0]
	default:
		return strings.Join(s.Systems[:n-1], ", ") + " or " + s.Systems[n-1]
	}
}
