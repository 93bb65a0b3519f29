package webhook

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/healthsync/healthsync/connectors/httpclient"
	"github.com/healthsync/healthsync/sync/store"
)

// Processor handles one queued event: fetch the current object, update the
// store, re-score the affected account, write back what changed. wrote is
// true when a CRM write happened (for the latency histogram).
type Processor interface {
	Process(ctx context.Context, ev store.QueuedEvent) (wrote bool, err error)
}

// BatchProcessor handles claimed events together: one re-score of their
// accounts and one batched write-back. wrote[i] and errs[i] are event i's
// outcome, as Processor.Process reports one event's.
type BatchProcessor interface {
	ProcessBatch(ctx context.Context, evs []store.QueuedEvent) (wrote []bool, errs []error)
}

// ErrPermanent marks a processing error that no retry can fix; the event
// goes to the dead letters at once.
var ErrPermanent = errors.New("permanent failure")

// WorkQueue is the store's side of the queue the workers use.
type WorkQueue interface {
	Claim(n int, now time.Time) ([]store.QueuedEvent, error)
	Ack(seq uint64) error
	Retry(seq uint64, at time.Time, cause error) error
	DeadLetter(seq uint64, cause error) error
}

// WorkerOptions configure Workers.
type WorkerOptions struct {
	Queue     WorkQueue
	Processor Processor
	// Workers is the number of events (or batches, see BatchSize)
	// processed at once (default 4).
	Workers int
	// BatchSize is how many events one worker claims and hands to the
	// Processor's ProcessBatch at once, when it has one (webhooks.batch_size;
	// default 1: one event at a time through Process).
	BatchSize int
	// BatchWait is how long a worker that claimed fewer than BatchSize
	// events waits for more before processing them (webhooks.batch_wait).
	BatchWait time.Duration
	// MaxAttempts before an event is dead-lettered (default 8).
	MaxAttempts int
	// RetryMin and RetryMax bound the exponential back-off (1s, 5m).
	RetryMin, RetryMax time.Duration
	// Poll is how often the queue is checked when nothing woke the workers
	// (default 500ms).
	Poll time.Duration
	// StuckAfter is how long the pool may hold claimed events (or fail to
	// claim) without finishing any before Stuck reports it, for /readyz
	// (webhooks.stuck_after, default 5m).
	StuckAfter time.Duration
	// StopWait bounds how long Run waits for in-flight events once its
	// context ends (default 10s). An event still running then is abandoned,
	// unacknowledged, and resumes at the next start: a processor blocked for
	// good must not keep the process from stopping.
	StopWait time.Duration
	Metrics  *Metrics
	Now      func() time.Time
	Logger   zerolog.Logger
}

// Workers drain the queue.
//
// Progress, for Stuck: inFlight counts claimed events not yet finished,
// claimFailing is set while Claim fails, and progress is the time (Unix
// nanoseconds, from Now) of the last finished event, or of the claim that
// started a busy period. All are atomics written by Run and its event
// goroutines and read by Stuck from any goroutine.
type Workers struct {
	o            WorkerOptions
	wake         chan struct{}
	paused       atomic.Bool
	inFlight     atomic.Int64
	claimFailing atomic.Bool
	progress     atomic.Int64
	// batch is the Processor's batch side, nil when events go one at a
	// time (set by NewWorkers, read-only after).
	batch BatchProcessor
}

// Pause stops claiming new events (in-flight ones finish); Pause(false)
// resumes. Events keep being received and committed meanwhile. Used by the
// load test to measure ingest alone.
func (w *Workers) Pause(p bool) {
	w.paused.Store(p)
	if !p {
		w.Wake()
	}
}

// NewWorkers builds Workers; call Run to start them.
func NewWorkers(o WorkerOptions) *Workers {
	if o.Workers <= 0 {
		o.Workers = 4
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 8
	}
	if o.RetryMin <= 0 {
		o.RetryMin = time.Second
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 5 * time.Minute
	}
	if o.Poll <= 0 {
		o.Poll = 500 * time.Millisecond
	}
	if o.StuckAfter <= 0 {
		o.StuckAfter = 5 * time.Minute
	}
	if o.StopWait <= 0 {
		o.StopWait = 10 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 1
	}
	w := &Workers{o: o, wake: make(chan struct{}, 1)}
	if bp, ok := o.Processor.(BatchProcessor); ok && o.BatchSize > 1 {
		w.batch = bp
	}
	return w
}

// Wake tells the workers new events are queued.
func (w *Workers) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Stuck reports a pool that has work (events claimed, or claims failing)
// but finished nothing for StuckAfter: every worker blocked, or the store
// unreadable. A paused pool is not stuck.
func (w *Workers) Stuck() bool {
	if w.paused.Load() || (w.inFlight.Load() == 0 && !w.claimFailing.Load()) {
		return false
	}
	return w.o.Now().Sub(time.Unix(0, w.progress.Load())) > w.o.StuckAfter
}

// busy notes that work started; a pool that was idle starts its stuck clock.
func (w *Workers) busy(n int) {
	if w.inFlight.Add(int64(n)) == int64(n) && !w.claimFailing.Load() {
		w.progress.Store(w.o.Now().UnixNano())
	}
}

// Run processes events until ctx ends, then waits up to StopWait for
// in-flight events.
func (w *Workers) Run(ctx context.Context) {
	sem := make(chan struct{}, w.o.Workers)
	var wg sync.WaitGroup
	defer w.waitStop(&wg)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		case <-timer.C:
		}
		for ctx.Err() == nil && !w.paused.Load() {
			free := w.o.Workers - len(sem)
			if free == 0 {
				break
			}
			evs, ok := w.claim(ctx, free)
			if !ok || len(evs) == 0 {
				break
			}
			w.busy(len(evs))
			if w.batch != nil {
				sem <- struct{}{}
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer func() { <-sem; w.Wake() }()
					w.handleBatch(ctx, evs)
				}()
				continue
			}
			for _, ev := range evs {
				sem <- struct{}{}
				wg.Add(1)
				go func(ev store.QueuedEvent) {
					defer wg.Done()
					defer func() { <-sem; w.Wake() }()
					wrote, err := w.process(ctx, ev)
					w.settle(ctx, ev, wrote, err)
				}(ev)
			}
		}
		timer.Reset(w.o.Poll)
	}
}

// claim takes the next events: free of them one at a time, or one batch
// of up to BatchSize, waiting up to BatchWait for a short batch to fill
// (the store keeps per-key order: a key in flight is not claimed again).
// ok is false when claiming failed.
func (w *Workers) claim(ctx context.Context, free int) (evs []store.QueuedEvent, ok bool) {
	n := free
	if w.batch != nil {
		n = w.o.BatchSize
	}
	evs, ok = w.claimSome(n)
	if !ok || len(evs) == 0 || w.batch == nil || len(evs) >= n || w.o.BatchWait <= 0 {
		return evs, ok
	}
	t := time.NewTimer(w.o.BatchWait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return evs, true // processed (or left claimed) by the caller as usual
	case <-t.C:
	}
	more, _ := w.claimSome(n - len(evs))
	return append(evs, more...), true
}

// claimSome is one Claim, tracking a failing store for Stuck.
func (w *Workers) claimSome(n int) ([]store.QueuedEvent, bool) {
	evs, err := w.o.Queue.Claim(n, w.o.Now())
	if err != nil {
		if !w.claimFailing.Swap(true) && w.inFlight.Load() == 0 {
			w.progress.Store(w.o.Now().UnixNano())
		}
		w.o.Logger.Error().Err(err).Msg("claiming webhook events failed")
		return nil, false
	}
	if w.claimFailing.Swap(false) {
		w.progress.Store(w.o.Now().UnixNano())
	}
	return evs, true
}

// handleBatch processes a claimed batch and settles its events. A batch
// whose processor panics is processed again one event at a time, so only
// the event that causes the panic is dead-lettered. The events are settled
// concurrently so that the store can group their acknowledgements into
// one commit (bbolt's Batch), not one fsync per event.
func (w *Workers) handleBatch(ctx context.Context, evs []store.QueuedEvent) {
	wrote, errs, ok := w.processBatch(ctx, evs)
	if !ok {
		for i, ev := range evs {
			wrote[i], errs[i] = w.process(ctx, ev)
		}
	}
	var wg sync.WaitGroup
	for i, ev := range evs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.settle(ctx, ev, wrote[i], errs[i])
		}()
	}
	wg.Wait()
}

// processBatch runs the batch processor; ok is false when it panicked
// (logged with its stack and counted) or answered for the wrong number of
// events.
func (w *Workers) processBatch(ctx context.Context, evs []store.QueuedEvent) (wrote []bool, errs []error, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			logPanic(w.o.Logger, w.o.Metrics, PanicWorker, r).Int("events", len(evs)).
				Msg("webhook batch processor panicked, processing its events one at a time")
			wrote, errs, ok = make([]bool, len(evs)), make([]error, len(evs)), false
		}
	}()
	wrote, errs = w.batch.ProcessBatch(ctx, evs)
	if len(wrote) != len(evs) || len(errs) != len(evs) {
		w.o.Logger.Error().Int("events", len(evs)).Int("results", len(errs)).Msg("webhook batch processor answered for the wrong number of events")
		return make([]bool, len(evs)), make([]error, len(evs)), false
	}
	return wrote, errs, true
}

// settle acknowledges, retries or dead-letters one processed event and
// records its progress.
func (w *Workers) settle(ctx context.Context, ev store.QueuedEvent, wrote bool, err error) {
	defer func() { w.progress.Store(w.o.Now().UnixNano()); w.inFlight.Add(-1) }()
	log := w.o.Logger.With().Str("connector", ev.Connector).Str("event", ev.Event.ID).Str("type", ev.Event.Type).Logger()
	vendor := ev.Event.System
	if err == nil {
		if ackErr := w.o.Queue.Ack(ev.Seq); ackErr != nil {
			log.Error().Err(ackErr).Msg("acknowledging event failed")
			return
		}
		w.o.Metrics.Processed.WithLabelValues(vendor, "ok").Inc()
		if wrote {
			w.o.Metrics.EventToCRM.Observe(w.o.Now().Sub(ev.Enqueued).Seconds())
		}
		return
	}
	if ctx.Err() != nil {
		// Shutting down: leave the event claimed-but-unacknowledged; the
		// store resumes it at the next start.
		return
	}
	attempts := ev.Attempts + 1
	if errors.Is(err, ErrPermanent) || attempts >= w.o.MaxAttempts {
		log.Warn().Err(err).Int("attempts", attempts).Msg("event dead-lettered")
		if dlErr := w.o.Queue.DeadLetter(ev.Seq, err); dlErr != nil {
			log.Error().Err(dlErr).Msg("dead-lettering event failed")
		}
		w.o.Metrics.Processed.WithLabelValues(vendor, "dead").Inc()
		return
	}
	at := w.o.Now().Add(httpclient.Backoff(w.o.RetryMin, w.o.RetryMax, attempts-1))
	log.Info().Err(err).Int("attempts", attempts).Time("retry_at", at).Msg("event processing failed, will retry")
	if rErr := w.o.Queue.Retry(ev.Seq, at, err); rErr != nil {
		log.Error().Err(rErr).Msg("scheduling retry failed")
	}
	w.o.Metrics.Processed.WithLabelValues(vendor, "retry").Inc()
}

// waitStop waits for in-flight events, at most StopWait.
func (w *Workers) waitStop(wg *sync.WaitGroup) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	t := time.NewTimer(w.o.StopWait)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		w.o.Logger.Error().Int64("in_flight", w.inFlight.Load()).Dur("waited", w.o.StopWait).
			Msg("webhook events still running at stop, left for the next start")
	}
}

// process runs the processor; a panic in it is logged with its stack,
// counted, and dead-letters the event (a replay can retry it once fixed)
// while the other workers go on.
func (w *Workers) process(ctx context.Context, ev store.QueuedEvent) (wrote bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			logPanic(w.o.Logger, w.o.Metrics, PanicWorker, r).Str("connector", ev.Connector).Str("event", ev.Event.ID).
				Msg("webhook processor panicked")
			err = errors.Join(ErrPermanent, fmt.Errorf("processor panicked: %v", r))
		}
	}()
	return w.o.Processor.Process(ctx, ev)
}
