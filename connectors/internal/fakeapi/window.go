package fakeapi

import "time"

// Window is a sliding rate window: at most Limit events in any Span ending
// now (an event exactly Span old no longer counts). A vendor configures it
// with its documented limit and calls it from its handlers. Limit <= 0 is
// unlimited, though events are still recorded for rate-limit headers.
//
// A Window is not safe for concurrent use: its owner guards it with the
// lock under which it decides on a request, so that several windows can be
// checked and charged together.
type Window struct {
	Limit int
	Span  time.Duration
	hits  []time.Time // oldest first
}

// prune drops the events older than the window ending at now.
func (w *Window) prune(now time.Time) {
	cut := now.Add(-w.Span)
	i := 0
	for i < len(w.hits) && !w.hits[i].After(cut) {
		i++
	}
	w.hits = w.hits[i:]
}

// Len returns the number of events in the window ending at now.
func (w *Window) Len(now time.Time) int {
	w.prune(now)
	return len(w.hits)
}

// Full reports whether one more event at now would pass the limit.
func (w *Window) Full(now time.Time) bool {
	return w.Limit > 0 && w.Len(now) >= w.Limit
}

// Add records an event at now (and forgets those older than the window, so
// an unlimited window stays small).
func (w *Window) Add(now time.Time) {
	w.prune(now)
	w.hits = append(w.hits, now)
}

// Allow records an event at now and reports true, or reports false when
// the window is full.
func (w *Window) Allow(now time.Time) bool {
	if w.Full(now) {
		return false
	}
	w.Add(now)
	return true
}

// Wait returns how long from now until one more event fits in the window:
// zero when it fits now, else until the oldest event leaves (for a
// Retry-After).
func (w *Window) Wait(now time.Time) time.Duration {
	if !w.Full(now) {
		return 0
	}
	return w.hits[len(w.hits)-w.Limit].Add(w.Span).Sub(now)
}
