package webhook

import (
	"context"
	"errors"
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
	// Workers is the number of events processed at once (default 4).
	Workers int
	// MaxAttempts before an event is dead-lettered (default 8).
	MaxAttempts int
	// RetryMin and RetryMax bound the exponential back-off (1s, 5m).
	RetryMin, RetryMax time.Duration
	// Poll is how often the queue is checked when nothing woke the workers
	// (default 500ms).
	Poll    time.Duration
	Metrics *Metrics
	Now     func() time.Time
	Logger  zerolog.Logger
}

// Workers drain the queue.
type Workers struct {
	o      WorkerOptions
	wake   chan struct{}
	paused atomic.Bool
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
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	return &Workers{o: o, wake: make(chan struct{}, 1)}
}

// Wake tells the workers new events are queued.
func (w *Workers) Wake() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run processes events until ctx ends, then waits for in-flight events.
func (w *Workers) Run(ctx context.Context) {
	sem := make(chan struct{}, w.o.Workers)
	var wg sync.WaitGroup
	defer wg.Wait()
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
			evs, err := w.o.Queue.Claim(free, w.o.Now())
			if err != nil {
				w.o.Logger.Error().Err(err).Msg("claiming webhook events failed")
				break
			}
			if len(evs) == 0 {
				break
			}
			for _, ev := range evs {
				sem <- struct{}{}
				wg.Add(1)
				go func(ev store.QueuedEvent) {
					defer wg.Done()
					defer func() { <-sem; w.Wake() }()
					w.handle(ctx, ev)
				}(ev)
			}
		}
		timer.Reset(w.o.Poll)
	}
}

func (w *Workers) handle(ctx context.Context, ev store.QueuedEvent) {
	log := w.o.Logger.With().Str("connector", ev.Connector).Str("event", ev.Event.ID).Str("type", ev.Event.Type).Logger()
	wrote, err := w.process(ctx, ev)
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

func (w *Workers) process(ctx context.Context, ev store.QueuedEvent) (wrote bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errors.Join(ErrPermanent, errors.New("processor panicked"))
		}
	}()
	return w.o.Processor.Process(ctx, ev)
}
