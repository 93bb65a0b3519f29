package daemon

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/healthsync/healthsync/sync/store"
	"github.com/healthsync/healthsync/sync/webhook"
)

// storeGate pauses the webhook workers while the store is unavailable and
// resumes them by itself when it answers again. The database going away is
// normal for the PostgreSQL store: without the gate the workers would go on
// claiming every poll, log an error each time and count processing attempts
// against events that failed only because the database was away.
//
// The gate sits between the workers and the store (it is their WorkQueue):
// the first call that fails with store.ErrUnavailable marks the store down
// and pauses the workers; a claim that fails that way returns no events
// instead of the error. While down, Run pings the store every interval and
// resumes the workers on the first answer. A bbolt store never fails with
// ErrUnavailable, so the gate never closes for it.
type storeGate struct {
	q        webhook.WorkQueue
	ping     func(ctx context.Context) error
	interval time.Duration
	log      zerolog.Logger

	// pause applies the workers' pause state: held (PauseWorkers) or down.
	mu     sync.Mutex
	pause  func(bool)
	held   bool
	down   atomic.Bool
	wentUp chan struct{} // closed and replaced when the gate reopens (tests)
	notify chan struct{} // wakes Run when the gate closes
}

func newStoreGate(q webhook.WorkQueue, ping func(ctx context.Context) error, interval time.Duration, log zerolog.Logger) *storeGate {
	return &storeGate{q: q, ping: ping, interval: interval, log: log, pause: func(bool) {},
		wentUp: make(chan struct{}), notify: make(chan struct{}, 1)}
}

// hold pauses or resumes the workers on request (PauseWorkers); the gate
// keeps them paused while the store is down either way.
func (g *storeGate) hold(p bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.held = p
	g.pause(g.held || g.down.Load())
}

// check notes err: an unavailable store closes the gate.
func (g *storeGate) check(err error) error {
	if err != nil && errors.Is(err, store.ErrUnavailable) && g.ping != nil {
		g.mu.Lock()
		if !g.down.Swap(true) {
			g.pause(true)
			g.log.Warn().Err(err).Msg("store unavailable, webhook workers paused")
			select {
			case g.notify <- struct{}{}:
			default:
			}
		}
		g.mu.Unlock()
	}
	return err
}

// Run pings the store while the gate is closed and reopens it on the first
// answer, until ctx ends.
func (g *storeGate) Run(ctx context.Context) {
	t := time.NewTicker(g.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-g.notify:
		case <-t.C:
		}
		if !g.down.Load() {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, pingTimeout)
		err := g.ping(pctx)
		cancel()
		if err != nil {
			continue
		}
		g.mu.Lock()
		g.down.Store(false)
		g.pause(g.held)
		close(g.wentUp)
		g.wentUp = make(chan struct{})
		g.mu.Unlock()
		g.log.Info().Msg("store answers again, webhook workers resumed")
	}
}

// Claim claims events; an unavailable store yields none and closes the gate.
func (g *storeGate) Claim(n int, now time.Time) ([]store.QueuedEvent, error) {
	evs, err := g.q.Claim(n, now)
	if g.check(err) != nil && g.down.Load() {
		return nil, nil
	}
	return evs, err
}

func (g *storeGate) Ack(seq uint64) error { return g.check(g.q.Ack(seq)) }

// Retry records a failed attempt; a cause that was the store being away
// closes the gate too.
func (g *storeGate) Retry(seq uint64, at time.Time, cause error) error {
	g.check(cause)
	return g.check(g.q.Retry(seq, at, cause))
}

func (g *storeGate) DeadLetter(seq uint64, cause error) error {
	return g.check(g.q.DeadLetter(seq, cause))
}

// gateInterval is how often a closed gate pings the store.
const gateInterval = time.Second
