package salesforce_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/connectors/salesforce"
	"github.com/healthsync/healthsync/connectors/salesforce/salesforcetest"
)

// clock is a settable clock shared by the fake and the test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	t     testing.TB
	clock *clock
	fake  *salesforcetest.Server
	cfg   config.Connector
}

func newEnv(t testing.TB, fo salesforcetest.Options) *env {
	t.Helper()
	ck := newClock()
	if fo.Now == nil {
		fo.Now = ck.Now
	}
	fake := salesforcetest.NewServer(fo)
	t.Cleanup(fake.Close)
	cfg := config.Connector{
		Name:     "sf",
		Kind:     config.KindSalesforce,
		LoginURL: fake.URL,
		Auth: config.Auth{
			Flow:         config.FlowClientCredentials,
			ClientID:     "fake-client-id",
			ClientSecret: config.NewSecret("fake-client-secret"),
		},
		OrganizationID: fake.OrgID(),
		HTTP: config.HTTP{
			RetryMax:     2,
			RetryWaitMin: config.Duration(time.Millisecond),
			RetryWaitMax: config.Duration(2 * time.Millisecond),
			Timeout:      config.Duration(5 * time.Second),
		},
	}
	return &env{t: t, clock: ck, fake: fake, cfg: cfg}
}

func (e *env) client(opts salesforce.Options) *salesforce.Client {
	e.t.Helper()
	c, err := salesforce.New(e.cfg, opts)
	if err != nil {
		e.t.Fatalf("New: %v", err)
	}
	return c
}

func (e *env) mustInsert(object string, fields map[string]any) string {
	e.t.Helper()
	id, err := e.fake.Insert(object, fields)
	if err != nil {
		e.t.Fatalf("Insert: %v", err)
	}
	return id
}

// seedAccounts inserts n accounts named Acme 0..n-1 at the current clock.
func (e *env) seedAccounts(n int) []string {
	ids := make([]string, n)
	for i := range n {
		ids[i] = e.mustInsert("Account", map[string]any{"Name": fmt.Sprintf("Acme %d", i), "Website": fmt.Sprintf("https://acme%d.example", i)})
	}
	return ids
}

// pull drains a Pull, committing cursors as the engine would; stopAfter > 0
// stops (a crash) after that many batches.
func pull(t testing.TB, c *salesforce.Client, cursors map[string][]byte, full bool, stopAfter int) ([]*record.Batch, error) {
	t.Helper()
	var out []*record.Batch
	for b, err := range c.Pull(context.Background(), record.PullRequest{Cursors: cursors, Full: full}) {
		if err != nil {
			return out, err
		}
		out = append(out, b)
		if b.Cursor != nil {
			cursors[b.Stream] = b.Cursor
		}
		if stopAfter > 0 && len(out) == stopAfter {
			break
		}
	}
	return out, nil
}

func byStream(bs []*record.Batch, stream string) []*record.Batch {
	var out []*record.Batch
	for _, b := range bs {
		if b.Stream == stream {
			out = append(out, b)
		}
	}
	return out
}

func accountIDs(bs []*record.Batch) []string {
	var ids []string
	for _, b := range bs {
		for _, a := range b.Accounts {
			ids = append(ids, a.ID)
		}
	}
	return ids
}
