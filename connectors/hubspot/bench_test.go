package hubspot

import (
	"context"
	"testing"
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/hubspot/hubspottest"
	"github.com/healthsync/healthsync/connectors/record"
)

// BenchmarkWriteBack10k writes health fields to 10,000 companies with a
// fresh Client under the default client-side limit (100 requests per 10 s,
// burst 100). It reports write calls per op.
func BenchmarkWriteBack10k(b *testing.B) {
	srv := hubspottest.NewServer(hubspottest.Options{AccessToken: testToken})
	defer srv.Close()
	seedHealthProps(srv)
	updates := make([]record.FieldUpdate, 0, 10000)
	for i := range 10000 {
		id := srv.Seed("companies", hubspottest.Object{Properties: map[string]string{"name": "c"}})
		updates = append(updates, record.FieldUpdate{Object: "companies", ID: id, Fields: map[string]any{
			"healthsync_health_score": float64(i % 100), "healthsync_band": "healthy", "healthsync_updated_at": t0,
		}})
	}
	cfg := config.Connector{Kind: "hubspot", BaseURL: srv.URL, Auth: config.Auth{AccessToken: config.NewSecret(testToken)}}
	b.ResetTimer()
	for b.Loop() {
		srv.ResetCounts()
		c, err := New(cfg, Options{})
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		res, err := c.Update(context.Background(), updates)
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range res {
			if r.Error != nil {
				b.Fatal(r.Error)
			}
		}
		calls := srv.Count("POST /crm/v3/objects/companies/batch/update")
		if calls > 100 {
			b.Fatalf("%d write calls, want at most 100", calls)
		}
		b.ReportMetric(float64(calls), "calls/op")
		b.ReportMetric(time.Since(start).Seconds(), "s/writeback")
	}
}

// BenchmarkWriteBack10kDrained is the same write with the client's 10-second
// budget already spent (as after a pull in the same window): the 100 calls
// then wait for the token bucket, about 10 s.
func BenchmarkWriteBack10kDrained(b *testing.B) {
	if testing.Short() {
		b.Skip("waits ~10 s for the rate limit")
	}
	srv := hubspottest.NewServer(hubspottest.Options{AccessToken: testToken})
	defer srv.Close()
	seedHealthProps(srv)
	updates := make([]record.FieldUpdate, 0, 10000)
	for range 10000 {
		id := srv.Seed("companies", hubspottest.Object{Properties: map[string]string{"name": "c"}})
		updates = append(updates, record.FieldUpdate{Object: "companies", ID: id, Fields: map[string]any{"healthsync_band": "caution"}})
	}
	cfg := config.Connector{Kind: "hubspot", BaseURL: srv.URL, Auth: config.Auth{AccessToken: config.NewSecret(testToken)}}
	for b.Loop() {
		c, err := New(cfg, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Update(context.Background(), updates); err != nil {
			b.Fatal(err)
		}
		srv.ResetCounts()
		start := time.Now()
		if _, err := c.Update(context.Background(), updates); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(srv.Count("POST /crm/v3/objects/companies/batch/update")), "calls/op")
		b.ReportMetric(time.Since(start).Seconds(), "s/writeback")
	}
}
