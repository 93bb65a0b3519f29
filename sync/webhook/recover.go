package webhook

import (
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"

	"github.com/rs/zerolog"
)

// Where a recovered panic happened: the label of healthsync_panics_total.
const (
	PanicHTTP   = "http"
	PanicWorker = "webhook_worker"
)

// Recover serves h and turns a panic in it into a 500 for that request
// alone: the panic is logged with its stack and counted in
// healthsync_panics_total{where="http"}, and the server goes on serving.
// http.ErrAbortHandler, net/http's way to abort a response, passes through.
//
// Recovering does not undo what the handler left behind: a lock it took
// without defer stays held. Locks are released by defer for that reason.
func Recover(h http.Handler, m *Metrics, log zerolog.Logger) http.Handler {
	if m == nil {
		m = NewMetrics(nil)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
				panic(v)
			}
			logPanic(log, m, PanicHTTP, v).Str("method", r.Method).Str("path", r.URL.Path).Msg("http handler panicked")
			http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		}()
		h.ServeHTTP(w, r)
	})
}

// logPanic counts a recovered panic and starts its log event, with the
// value and the stack of the goroutine that panicked (call it from the
// deferred function that recovered).
func logPanic(log zerolog.Logger, m *Metrics, where string, v any) *zerolog.Event {
	m.Panics.WithLabelValues(where).Inc()
	return log.Error().Str("where", where).Str("panic", fmt.Sprint(v)).Str("stack", string(debug.Stack()))
}
