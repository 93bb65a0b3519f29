package zendesk_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/connectors/zendesk"
	"github.com/healthsync/healthsync/connectors/zendesk/zendesktest"
)

const (
	email   = "admin@example.com"
	token   = "zdTok_9f8e7d6c5b4a"
	secret1 = "whsec_zendesk_first"
	secret2 = "whsec_zendesk_second"
)

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

var t0 = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

type world struct {
	clk    *clock
	fake   *zendesktest.Server
	client *zendesk.Client
	cfg    zendesk.Config
}

// newWorld starts a fake on a shared clock (export limit off unless fo sets
// one) and a client against it without client-side pacing.
func newWorld(t testing.TB, fo zendesktest.Options, co zendesk.Options) *world {
	t.Helper()
	clk := &clock{t: t0}
	if fo.Now == nil {
		fo.Now = clk.Now
	}
	fo.Email, fo.Token = email, token
	if fo.ExportRateLimit == 0 {
		fo.ExportRateLimit = -1
	}
	fake := zendesktest.NewServer(fo)
	t.Cleanup(fake.Close)
	cfg := testConfig(fake.URL)
	if co.Now == nil {
		co.Now = clk.Now
	}
	c, err := zendesk.New(cfg, co)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &world{clk: clk, fake: fake, client: c, cfg: cfg}
}

func testConfig(baseURL string) zendesk.Config {
	return zendesk.Config{
		Name:            "zd",
		BaseURL:         baseURL,
		Email:           email,
		APIToken:        config.NewSecret(token),
		Webhook:         config.Webhook{Secrets: []config.Secret{config.NewSecret(secret1), config.NewSecret(secret2)}},
		ExportRateLimit: config.RateLimit{Requests: 1000, Per: config.Duration(time.Second)},
		HTTP:            config.HTTP{RetryMax: 2, RetryWaitMin: config.Duration(time.Millisecond), RetryWaitMax: config.Duration(5 * time.Millisecond)},
	}
}

// pullAll collects every batch of a pull, failing on an error.
func pullAll(t testing.TB, c *zendesk.Client, req record.PullRequest) []*zendesk.Batch {
	t.Helper()
	var out []*zendesk.Batch
	for b, err := range c.Pull(context.Background(), req) {
		if err != nil {
			t.Fatalf("Pull: %v", err)
		}
		out = append(out, b)
	}
	return out
}

// lastCursors is what the engine would have persisted after the batches.
func lastCursors(bs []*zendesk.Batch) map[string][]byte {
	out := map[string][]byte{}
	for _, b := range bs {
		if b.Cursor != nil {
			out[b.Stream] = b.Cursor
		}
	}
	return out
}
