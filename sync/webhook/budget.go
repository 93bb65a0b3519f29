package webhook

import (
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Budget bounds how many events a source may enqueue per minute, and so how
// many vendor fetches its requests can cause: the Salesforce Outbound Message
// endpoint carries no signature, so whoever reaches it could otherwise spend
// the org's API quota (webhook.max_fetches_per_minute).
//
// It is a sliding window: the events admitted in the last minute never
// exceed PerMinute. A request is admitted whole or refused whole (429 with
// Retry-After), since vendors acknowledge messages whole and resend refused
// ones. mu guards admitted; Take is safe from any goroutine.
type Budget struct {
	perMinute int

	mu       sync.Mutex
	admitted []admission // oldest first, all within the last minute after prune
}

type admission struct {
	at time.Time
	n  int
}

// NewBudget returns a Budget of perMinute events (at least 1).
func NewBudget(perMinute int) *Budget {
	return &Budget{perMinute: max(perMinute, 1)}
}

// Take admits n events at now, or says how long until they would fit.
func (b *Budget) Take(now time.Time, n int) (ok bool, wait time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	cut := now.Add(-time.Minute)
	i := 0
	for i < len(b.admitted) && !b.admitted[i].at.After(cut) {
		i++
	}
	b.admitted = b.admitted[i:]
	used := 0
	for _, a := range b.admitted {
		used += a.n
	}
	if used+n <= b.perMinute {
		b.admitted = append(b.admitted, admission{at: now, n: n})
		return true, 0
	}
	if n > b.perMinute {
		return false, time.Minute
	}
	// The earliest time enough older admissions leave the window.
	free := b.perMinute - used
	for _, a := range b.admitted {
		free += a.n
		if free >= n {
			return false, a.at.Add(time.Minute).Sub(now)
		}
	}
	return false, time.Minute
}

// overBudget answers 429 with Retry-After when src has a budget that cannot
// admit n more events now; it reports whether it answered.
func (h *Handler) overBudget(w http.ResponseWriter, src *Source, n int) bool {
	if src.Budget == nil || n == 0 {
		return false
	}
	ok, wait := src.Budget.Take(h.o.Now(), n)
	if ok {
		return false
	}
	secs := int((wait + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	h.reject(w, src.Kind, "rate", http.StatusTooManyRequests)
	h.o.Logger.Warn().Str("connector", src.Connector).Int("events", n).Msg("webhook over its fetch budget")
	return true
}
