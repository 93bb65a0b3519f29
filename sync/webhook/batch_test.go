package webhook

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/healthsync/healthsync/sync/store"
)

// batchRecorder is a recorder that takes batches: it records each batch's
// size and processes its events one after the other, panicking on an event
// whose ID starts with "panic".
type batchRecorder struct {
	*recorder
	bmu   sync.Mutex
	sizes []int
}

func (b *batchRecorder) ProcessBatch(ctx context.Context, evs []store.QueuedEvent) ([]bool, []error) {
	b.bmu.Lock()
	b.sizes = append(b.sizes, len(evs))
	b.bmu.Unlock()
	wrote, errs := make([]bool, len(evs)), make([]error, len(evs))
	for i, ev := range evs {
		wrote[i], errs[i] = b.Process(ctx, ev)
	}
	return wrote, errs
}

func (b *batchRecorder) Process(ctx context.Context, ev store.QueuedEvent) (bool, error) {
	if strings.HasPrefix(ev.Event.ID, "panic") {
		panic("bad event " + ev.Event.ID)
	}
	return b.recorder.Process(ctx, ev)
}

// TestBatchWorkersKeepPerKeyOrder: batching workers claim up to BatchSize
// events, never two of one key at once, each key's events in order; a
// failed event is retried without reordering its key.
func TestBatchWorkersKeepPerKeyOrder(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "h.db"))
	defer st.Close()
	h := newHandler(st)
	want := map[string][]string{}
	for i := 0; i < 60; i++ {
		cus := fmt.Sprintf("cus_%d", i%3)
		id := fmt.Sprintf("evt_%02d", i)
		body := fmt.Sprintf(`{"id":%q,"object_id":"in_%d","customer":%q}`, id, i, cus)
		if rec := post(h, "/webhooks/stripe", "application/json", sign(body), body); rec.Code != 200 {
			t.Fatal(rec.Code)
		}
		want[cus] = append(want[cus], id)
	}
	// Distinct keys fill batches.
	for i := 0; i < 40; i++ {
		id := fmt.Sprintf("solo_%02d", i)
		body := fmt.Sprintf(`{"id":%q,"object_id":"in_s%d","customer":"cus_solo_%d"}`, id, i, i)
		if rec := post(h, "/webhooks/stripe", "application/json", sign(body), body); rec.Code != 200 {
			t.Fatal(rec.Code)
		}
	}
	rec := &batchRecorder{recorder: &recorder{failures: map[string]int{"evt_04": 2}, inFlight: map[string]bool{}}}
	w := NewWorkers(WorkerOptions{Queue: st, Processor: rec, Workers: 2, BatchSize: 8, BatchWait: time.Millisecond,
		RetryMin: time.Millisecond, RetryMax: 2 * time.Millisecond, Poll: time.Millisecond})
	runUntil(t, w, func() bool { rec.mu.Lock(); defer rec.mu.Unlock(); return len(rec.order) == 100 })
	if rec.overlap {
		t.Fatal("two events of one customer were processed at once")
	}
	got := map[string][]string{}
	for _, id := range rec.order {
		var n int
		if _, err := fmt.Sscanf(id, "evt_%d", &n); err == nil {
			cus := fmt.Sprintf("cus_%d", n%3)
			got[cus] = append(got[cus], id)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("per-customer order\n got %v\nwant %v", got, want)
	}
	biggest := 0
	for _, n := range rec.sizes {
		if n > 8 {
			t.Fatalf("a batch of %d events, BatchSize is 8", n)
		}
		biggest = max(biggest, n)
	}
	if biggest < 4 {
		t.Errorf("largest batch %d events (sizes %v): events were not batched", biggest, rec.sizes)
	}
}

// TestBatchPanicDeadLettersOnlyItsEvent: a batch whose processor panics
// is processed again one event at a time (an event the batch reached
// before the panic is processed again, as after a retry); only the event
// that panics is dead-lettered, the others are acknowledged.
func TestBatchPanicDeadLettersOnlyItsEvent(t *testing.T) {
	st := openStore(t, filepath.Join(t.TempDir(), "h.db"))
	defer st.Close()
	h := newHandler(st)
	ids := []string{"ok_1", "panic_1", "ok_2", "perm_1", "ok_3"}
	for _, id := range ids {
		body := fmt.Sprintf(`{"id":%q,"object_id":"x_%s","customer":"c_%s"}`, id, id, id)
		post(h, "/webhooks/stripe", "application/json", sign(body), body)
	}
	rec := &batchRecorder{recorder: &recorder{failures: map[string]int{}, inFlight: map[string]bool{}}}
	w := NewWorkers(WorkerOptions{Queue: st, Processor: rec, BatchSize: 10, BatchWait: 5 * time.Millisecond,
		RetryMin: time.Millisecond, RetryMax: time.Millisecond, Poll: time.Millisecond})
	runUntil(t, w, func() bool { q, dead, _ := st.QueueDepth(); return q == 0 && dead == 2 })
	dls, err := st.DeadLetters()
	if err != nil {
		t.Fatal(err)
	}
	var dead []string
	for _, d := range dls {
		dead = append(dead, d.Event.ID)
	}
	if want := []string{"panic_1", "perm_1"}; !reflect.DeepEqual(dead, want) {
		t.Errorf("dead letters %v, want %v", dead, want)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if want := []string{"ok_1", "ok_1", "ok_2", "ok_3"}; !reflect.DeepEqual(rec.order, want) {
		t.Errorf("processed %v, want %v (ok_1 in the batch, then each alone)", rec.order, want)
	}
}
