package chargebee_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/chargebee"
	"github.com/healthsync/healthsync/connectors/chargebee/chargebeetest"
	"github.com/healthsync/healthsync/connectors/record"
)

const apiKey = "test_cbKey123456"

// clock is a settable clock shared by the fake and the client.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

type world struct {
	clk    *clock
	fake   *chargebeetest.Server
	client *chargebee.Client
	cfg    config.Connector
}

func newWorld(t testing.TB, fo chargebeetest.Options, co chargebee.Options) *world {
	t.Helper()
	clk := &clock{t: t0}
	fo.Now = clk.Now
	if fo.APIKey == "" {
		fo.APIKey = apiKey
	}
	fake := chargebeetest.NewServer(fo)
	t.Cleanup(fake.Close)
	cfg := testConfig(fake.URL)
	if co.Now == nil {
		co.Now = clk.Now
	}
	c, err := chargebee.New(cfg, co)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &world{clk: clk, fake: fake, client: c, cfg: cfg}
}

func testConfig(baseURL string) config.Connector {
	return config.Connector{
		Name:    "billing",
		Kind:    config.KindChargebee,
		BaseURL: baseURL,
		Auth:    config.Auth{APIKey: config.NewSecret(apiKey)},
		HTTP: config.HTTP{
			RetryMax:     3,
			RetryWaitMin: config.Duration(time.Millisecond),
			RetryWaitMax: config.Duration(2 * time.Millisecond),
		},
		Webhook: config.Webhook{Username: "cbhook", Password: config.NewSecret("s3cret-hook-pass")},
		// Tests and benchmarks measure the client, not DefaultRateLimit.
		RateLimit: config.RateLimit{Requests: 1_000_000, Per: config.Duration(time.Second)},
	}
}

// pullAll collects every batch of a pull, failing the test on error.
func pullAll(t testing.TB, c *chargebee.Client, req record.PullRequest) []*record.Batch {
	t.Helper()
	var out []*record.Batch
	for b, err := range c.Pull(context.Background(), req) {
		if err != nil {
			t.Fatalf("Pull: %v", err)
		}
		out = append(out, b)
	}
	return out
}

// byStream groups batches by stream.
func byStream(bs []*record.Batch) map[string][]*record.Batch {
	m := map[string][]*record.Batch{}
	for _, b := range bs {
		m[b.Stream] = append(m[b.Stream], b)
	}
	return m
}

// lastCursors returns the last non-nil cursor of each stream, as the engine
// would have stored them.
func lastCursors(bs []*record.Batch) map[string][]byte {
	m := map[string][]byte{}
	for _, b := range bs {
		if b.Cursor != nil {
			m[b.Stream] = b.Cursor
		}
	}
	return m
}

func unix(t time.Time) int64 { return t.Unix() }

func ptr[T any](v T) *T { return &v }
