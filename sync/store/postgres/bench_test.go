package postgres

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/healthsync/healthsync/sync/store"
)

// BenchmarkEnqueueParallel measures webhook ingest as sync/store's
// benchmark of the same name does for bbolt: 64 goroutines each enqueueing
// one event per call, durably (the server's fsync and synchronous_commit
// are on), for pools of several sizes. It reports events/s and the p99
// latency of one Enqueue call.
func BenchmarkEnqueueParallel(b *testing.B) {
	for _, conns := range []int32{10, 64} {
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) {
			s, _ := openTest(b, Options{MaxConns: conns})
			const workers = 64
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
						e := event(fmt.Sprintf("evt_%d", i), fmt.Sprintf("cus_%d", i%500))
						e.Event.Object = []byte(`{"id":"cus_x","object":"customer","email":"a@example.com","metadata":{"salesforce_account_id":"001000000000001"}}`)
						t := time.Now()
						if _, err := s.Enqueue([]store.QueuedEvent{e}); err != nil {
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
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			}
		})
	}
}
