package postgres

import (
	"fmt"
	"github.com/healthsync/healthsync/sync/store/storetest"
	"testing"
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
			storetest.EnqueueParallel(b, s, 64)
		})
	}
}
