package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/rs/zerolog"

	"github.com/healthsync/healthsync/sync/engine"
	"github.com/healthsync/healthsync/sync/report"
	"github.com/healthsync/healthsync/sync/store"
)

// API serves /api/... (JSON) and the HTML report; the mux guards both with
// the API token.
type API struct {
	eng  *engine.Engine
	st   store.Store
	log  zerolog.Logger
	mux  *http.ServeMux
	wake func() // wakes the webhook workers after a replay
	// setupHubSpot runs `healthsync setup hubspot` inside the daemon
	// (nil: not offered).
	setupHubSpot func(ctx context.Context, connector string) (any, error)
}

// DeadLetter is one entry of GET /api/webhooks/dlq: the event with the ID
// that `webhooks replay ID` and POST /api/webhooks/replay/{id} take.
type DeadLetter struct {
	ID uint64 `json:"id"`
	store.QueuedEvent
}

// NewAPI builds the API handler.
func NewAPI(eng *engine.Engine, st store.Store, log zerolog.Logger) *API {
	a := &API{eng: eng, st: st, log: log, mux: http.NewServeMux()}
	a.mux.HandleFunc("GET /api/runs", a.runs)
	a.mux.HandleFunc("GET /api/report", a.report)
	a.mux.HandleFunc("GET /api/accounts/{id...}", a.account)
	a.mux.HandleFunc("GET /api/plan", a.plan)
	a.mux.HandleFunc("GET /api/webhooks/dlq", a.dlq)
	a.mux.HandleFunc("POST /api/webhooks/replay/{id}", a.replay)
	a.mux.HandleFunc("POST /api/setup/hubspot", a.setup)
	a.mux.HandleFunc("GET /api/backup", a.backup)
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

// report answers GET /api/report with the query `healthsync report` takes
// as flags: from, to, as-of, segment, account and format (default json).
func (a *API) report(w http.ResponseWriter, r *http.Request) {
	rq, err := ParseReportQuery(r.URL.Query(), "json")
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	rep, err := Report(r.Context(), a.eng, a.st, rq)
	if a.lookupFailed(w, err) {
		return
	}
	var buf bytes.Buffer
	if err := WriteReport(&buf, rep, rq.Format); err != nil {
		a.fail(w, err)
		return
	}
	w.Header().Set("Content-Type", reportContentType(rq.Format))
	w.Write(buf.Bytes())
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

// account explains one account, found by key, CRM ID or name.
func (a *API) account(w http.ResponseWriter, r *http.Request) {
	ex, err := Explain(r.Context(), a.eng, a.st, r.PathValue("id"))
	if a.lookupFailed(w, err) {
		return
	}
	writeJSON(w, http.StatusOK, ex)
}

// lookupFailed answers an account lookup's error, if any: 404 for no such
// account, 409 for a name that matches several.
func (a *API) lookupFailed(w http.ResponseWriter, err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, ErrReportQuery):
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
	case errors.Is(err, engine.ErrNoAccount):
		writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
	case errors.Is(err, ErrAmbiguousAccount):
		writeJSON(w, http.StatusConflict, map[string]string{"error": err.Error()})
	default:
		a.fail(w, err)
	}
	return true
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
	out := make([]DeadLetter, 0, len(dl))
	for _, q := range dl {
		out = append(out, DeadLetter{ID: q.Seq, QueuedEvent: q})
	}
	writeJSON(w, http.StatusOK, map[string]any{"dead_letters": out})
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

// setup creates HubSpot's custom properties through the daemon's own
// client, as `healthsync setup hubspot` does when no daemon runs.
func (a *API) setup(w http.ResponseWriter, r *http.Request) {
	if a.setupHubSpot == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "setup is not offered by this daemon"})
		return
	}
	rep, err := a.setupHubSpot(r.Context(), r.URL.Query().Get("connector"))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// BackupTrailer is the HTTP trailer of GET /api/backup: the number of bytes
// of a complete copy, or "failed". The status line is sent before the copy
// ends, so a client checks the trailer before trusting the file.
const BackupTrailer = "Healthsync-Backup-Bytes"

// backup streams a consistent copy of the store when its backend can write
// one, as io.WriterTo (sync/store/bolt's WriteTo: the bbolt file); a backend
// that cannot (a database server, backed up with its own tools) is answered
// 501 Not Implemented.
func (a *API) backup(w http.ResponseWriter, r *http.Request) {
	wt, ok := a.st.(io.WriterTo)
	if !ok {
		writeJSON(w, http.StatusNotImplemented, map[string]string{"error": "this store cannot stream a copy of itself; back it up with its own tools"})
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Trailer", BackupTrailer)
	n, err := wt.WriteTo(w)
	if err != nil {
		a.log.Error().Err(err).Msg("backup failed")
		w.Header().Set(BackupTrailer, "failed")
		return
	}
	w.Header().Set(BackupTrailer, strconv.FormatInt(n, 10))
}
