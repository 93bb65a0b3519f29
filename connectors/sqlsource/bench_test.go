package sqlsource

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
)

// BenchmarkPullMillionRows pulls 1,000,000 rows (1,000 accounts, two
// metrics, one row a second through 2026, time indexed) from the test
// PostgreSQL in batches of 5,000, as the engine would, dropping each batch
// once received. It reports rows/s and the peak live heap sampled after
// every batch: streamed, the heap stays a few MB; held whole, the signals
// alone would be about 1,000,000 x 64 bytes.
func BenchmarkPullMillionRows(b *testing.B) {
	const n = 1_000_000
	db, dsn, s := testSchema(b)
	exec(b, db, s,
		`CREATE TABLE {s}.events (account text NOT NULL, metric text NOT NULL, value int NOT NULL, at timestamptz NOT NULL)`,
		`INSERT INTO {s}.events SELECT 'salesforce/001' || (i % 1000), CASE WHEN i % 2 = 0 THEN 'logins' ELSE 'features_used' END,
		        i % 7, timestamptz '2026-01-01T00:00:00Z' + i * interval '1 second' FROM generate_series(1, 1000000) i`,
		`CREATE INDEX ON {s}.events (at)`,
		`ANALYZE {s}.events`)
	var peak uint64
	var ms runtime.MemStats
	c := newClient(b, dsn, s, Config{Query: `SELECT account, metric, value, at AS time FROM {s}.events WHERE at > :since`},
		Options{Progress: func(Progress) {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}})
	now := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	runtime.GC()
	for b.Loop() {
		rows := 0
		for batch, err := range c.Pull(context.Background(), record.PullRequest{Now: now}) {
			if err != nil {
				b.Fatal(err)
			}
			rows += len(batch.Signals)
		}
		if rows != n {
			b.Fatalf("%d rows, want %d", rows, n)
		}
	}
	b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
}
