package daemon

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/rs/zerolog"

	"github.com/healthsync/healthsync/sync/engine"
	"github.com/healthsync/healthsync/sync/report"
	"github.com/healthsync/healthsync/sync/store"
)

// API serves /api/... (JSON) and the HTML report; the mux guards both with
// the API token.
type API struct {
	eng  *engine.Engine
	st   *store.Store
	log  zerolog.Logger
	mux  *http.ServeMux
	wake func() // wakes the webhook workers after a replay
}

// NewAPI builds the API handler.
func NewAPI(eng *engine.Engine, st *store.Store, log zerolog.Logger) *API {
	a := &API{eng: eng, st: st, log: log, mux: http.NewServeMux()}
	a.mux.HandleFunc("GET /api/runs", a.runs)
	a.mux.HandleFunc("GET /api/report", a.report)
	a.mux.HandleFunc("GET /api/accounts/{id...}", a.account)
	a.mux.HandleFunc("GET /api/plan", a.plan)
	a.mux.HandleFunc("GET /api/webhooks/dlq", a.dlq)
	a.mux.HandleFunc("POST /api/webhooks/replay/{id}", a.replay)
	return a
}

func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func (a *API) fail(w http.ResponseWriter, err error) {
	a.log.Error().Err(err).Msg("api request failed")
	writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal error"})
}

func (a *API) runs(w http.ResponseWriter, r *http.Request) {
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	if limit <= 0 {
		limit = 50
	}
	runs, err := a.st.Runs(limit)
	if err != nil {
		a.fail(w, err)
		return
	}
	if runs == nil {
		runs = []store.Run{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"runs": runs})
}

func (a *API) report(w http.ResponseWriter, r *http.Request) {
	rep, _, err := a.eng.Report(r.Context(), engine.ReportOptions{Segment: r.URL.Query().Get("segment")})
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

func (a *API) serveReportHTML(w http.ResponseWriter, r *http.Request) {
	rep, _, err := a.eng.Report(r.Context(), engine.ReportOptions{})
	if err != nil {
		a.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := report.WriteHTML(w, rep); err != nil {
		a.log.Error().Err(err).Msg("rendering report failed")
	}
}

func (a *API) account(w http.ResponseWriter, r *http.Request) {
	id := strings.TrimSpace(r.PathValue("id"))
	ex, err := a.eng.Explain(r.Context(), id)
	if errors.Is(err, engine.ErrNoAccount) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such account"})
		return
	}
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, ex)
}

func (a *API) plan(w http.ResponseWriter, r *http.Request) {
	p, _, err := a.eng.PlanOnly(r.Context())
	if err != nil {
		a.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (a *API) dlq(w http.ResponseWriter, r *http.Request) {
	dl, err := a.st.DeadLetters()
	if err != nil {
		a.fail(w, err)
		return
	}
	if dl == nil {
		dl = []store.QueuedEvent{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"dead_letters": dl})
}

// replay puts a dead-lettered event back on the queue (the running
// daemon's equivalent of `healthsync webhooks replay ID`).
func (a *API) replay(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "id must be a dead-letter ID from /api/webhooks/dlq"})
		return
	}
	seq, err := a.st.Replay(id)
	if errors.Is(err, store.ErrNotFound) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such dead letter"})
		return
	}
	if err != nil {
		a.fail(w, err)
		return
	}
	if a.wake != nil {
		a.wake()
	}
	writeJSON(w, http.StatusOK, map[string]uint64{"replayed": id, "queued_as": seq})
}
