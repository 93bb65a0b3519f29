package daemon

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/healthsync/healthsync/sync/store"
	"github.com/healthsync/healthsync/sync/webhook"
)

// awayQueue is a webhook queue whose database can go away: while down,
// every call fails with store.ErrUnavailable, as the PostgreSQL store's do.
type awayQueue struct {
	down            atomic.Bool
	claimsWhileDown atomic.Int64
	mu              sync.Mutex
	pending         []store.QueuedEvent
	acked           []uint64
}

func (q *awayQueue) Claim(n int, now time.Time) ([]store.QueuedEvent, error) {
	if q.down.Load() {
		q.claimsWhileDown.Add(1)
		return nil, fmt.Errorf("claiming events: %w", store.ErrUnavailable)
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	evs := q.pending
	q.pending = nil
	return evs, nil
}

func (q *awayQueue) Ack(seq uint64) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.acked = append(q.acked, seq)
	return nil
}

func (q *awayQueue) Retry(uint64, time.Time, error) error { return errors.New("unexpected retry") }
func (q *awayQueue) DeadLetter(uint64, error) error       { return errors.New("unexpected dead letter") }

func (q *awayQueue) Ping(context.Context) error {
	if q.down.Load() {
		return fmt.Errorf("pinging: %w", store.ErrUnavailable)
	}
	return nil
}

func (q *awayQueue) add(seq uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.pending = append(q.pending, store.QueuedEvent{Seq: seq})
}

func (q *awayQueue) ackedSeqs() []uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]uint64(nil), q.acked...)
}

type okProcessor struct{}

func (okProcessor) Process(context.Context, store.QueuedEvent) (bool, error) { return false, nil }

// TestWorkersPauseWhileStoreUnavailable: once a claim fails because the
// store is away, the workers stop claiming (one failed claim, not one per
// poll) and resume by themselves when the store answers again; a pause
// asked for (PauseWorkers) outlasts the outage.
func TestWorkersPauseWhileStoreUnavailable(t *testing.T) {
	for _, held := range []bool{false, true} {
		t.Run(fmt.Sprintf("held %v", held), func(t *testing.T) {
			q := &awayQueue{}
			q.down.Store(true)
			gate := newStoreGate(q, q.Ping, 10*time.Millisecond, zerolog.Nop())
			w := webhook.NewWorkers(webhook.WorkerOptions{Queue: gate, Processor: okProcessor{}, Poll: 5 * time.Millisecond, Workers: 1})
			gate.pause = w.Pause
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			wg.Add(2)
			go func() { defer wg.Done(); w.Run(ctx) }()
			go func() { defer wg.Done(); gate.Run(ctx) }()
			defer func() { cancel(); wg.Wait() }()

			time.Sleep(150 * time.Millisecond) // about 30 polls
			if n := q.claimsWhileDown.Load(); n != 1 {
				t.Errorf("%d claims while the store was away, want 1 (then paused)", n)
			}
			if held {
				gate.hold(true)
			}
			gate.mu.Lock()
			up := gate.wentUp
			gate.mu.Unlock()
			q.add(1)
			q.down.Store(false)
			select {
			case <-up:
			case <-time.After(5 * time.Second):
				t.Fatal("gate did not reopen after the store answered")
			}
			want := []uint64{1}
			if held {
				time.Sleep(50 * time.Millisecond)
				if got := q.ackedSeqs(); len(got) != 0 {
					t.Fatalf("acked %v while held paused", got)
				}
				gate.hold(false)
			}
			deadline := time.Now().Add(5 * time.Second)
			for time.Now().Before(deadline) && len(q.ackedSeqs()) == 0 {
				time.Sleep(5 * time.Millisecond)
			}
			if got := q.ackedSeqs(); !reflect.DeepEqual(got, want) {
				t.Errorf("acked %v after the store returned, want %v", got, want)
			}
		})
	}
}
