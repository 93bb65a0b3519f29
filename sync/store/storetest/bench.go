package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/store"
)

// EnqueueParallel is the webhook-ingest benchmark every backend runs:
// workers goroutines each enqueue one event per call (durably, as the
// backend commits), until b.N events are in. It reports events/s and the
// p50 and p99 latency of one Enqueue call.
func EnqueueParallel(b *testing.B, q store.Queue, workers int) {
	var (
		mu   sync.Mutex
		lat  []time.Duration
		next int
		wg   sync.WaitGroup
	)
	b.ResetTimer()
	start := time.Now()
	for range workers {
		wg.Go(func() {
			var mine []time.Duration
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= b.N {
					break
				}
				e := store.QueuedEvent{Connector: "billing",
					Event: record.Event{System: record.Stripe, ID: fmt.Sprintf("evt_%d", i), Type: "customer.updated",
						ObjectType: "customer", ObjectID: fmt.Sprintf("cus_%d", i%500),
						Object: []byte(`{"id":"cus_x","object":"customer","email":"a@example.com","metadata":{"salesforce_account_id":"001000000000001"}}`)}}
				t := time.Now()
				if _, err := q.Enqueue([]store.QueuedEvent{e}); err != nil {
					b.Error(err)
					return
				}
				mine = append(mine, time.Since(t))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	el := time.Since(start)
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(len(lat))/el.Seconds(), "events/s")
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	}
}
