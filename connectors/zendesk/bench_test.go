package zendesk_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/connectors/zendesk"
	"github.com/healthsync/healthsync/connectors/zendesk/zendesktest"
)

// pacer advances a virtual clock by Every before each incremental export
// request: the client keeps to the documented budget in the fake's time
// (10 a minute: one every 6 s) without a benchmark sleeping for minutes.
type pacer struct {
	clk   *clock
	every time.Duration
	base  http.RoundTripper
}

func (p pacer) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasPrefix(r.URL.Path, "/api/v2/incremental/") {
		p.clk.Advance(p.every)
	}
	return p.base.RoundTrip(r)
}

// exportWorld seeds n tickets over 300 organizations (created over the
// last 90 days, a third with a first reply, a quarter rated) into a fake
// that enforces the incremental export limit of 10 requests a minute on a
// virtual clock, and a client paced at that limit on the same clock.
func exportWorld(tb testing.TB, n int) (*world, *clock) {
	tb.Helper()
	clk := &clock{t: t0}
	fake := zendesktest.NewServer(zendesktest.Options{Email: email, Token: token, Now: clk.Now, ExportRateLimit: 10})
	tb.Cleanup(fake.Close)
	for o := range 300 {
		fake.PutOrganization(zendesktest.Organization{ID: int64(o + 1), Name: "Org", UpdatedAt: t0.Add(-100 * 24 * time.Hour).Add(time.Duration(o) * time.Second)})
	}
	statuses := []string{"new", "open", "pending", "hold", "solved", "closed"}
	prios := []string{"", "low", "normal", "high", "urgent"}
	sats := []string{"unoffered", "offered", "good", "bad"}
	for i := range n {
		at := t0.Add(-90 * 24 * time.Hour).Add(time.Duration(i) * (90 * 24 * time.Hour / time.Duration(n)))
		fake.PutTicket(zendesktest.Ticket{ID: int64(i + 1), OrganizationID: int64(i%300 + 1), Status: statuses[i%6], Priority: prios[i%5],
			Satisfaction: sats[i%4], CreatedAt: at, UpdatedAt: at, GeneratedTimestamp: at})
		if i%3 == 0 {
			fake.PutMetric(zendesktest.TicketMetric{TicketID: int64(i + 1), ReplyCalendarMin: zendesktest.Minutes(int64(i % 600))})
		}
	}
	cfg := testConfig(fake.URL)
	cfg.ExportRateLimit = config.RateLimit{Requests: 1_000_000, Per: config.Duration(time.Second)} // paced by the virtual clock instead
	c, err := zendesk.New(cfg, zendesk.Options{Now: clk.Now, Transport: pacer{clk: clk, every: 6 * time.Second, base: http.DefaultTransport}})
	if err != nil {
		tb.Fatal(err)
	}
	return &world{clk: clk, fake: fake, client: c, cfg: cfg}, clk
}

// BenchmarkExport100kTickets exports 100,000 tickets with their metric sets
// and 300 organizations through the fake at the documented incremental
// export limit (the fake answers 429 beyond 10 requests in any minute of
// its clock; the benchmark fails on one), then computes every
// organization's signals. Reported: requests per export, the export's
// duration at 10 requests a minute (virtual minutes), and throttled
// requests (0), and the fake's own serving time per export (fake-ms/op).
func BenchmarkExport100kTickets(b *testing.B) {
	w, clk := exportWorld(b, 100_000)
	b.ResetTimer()
	busy := w.fake.Busy()
	for range b.N {
		start, calls := clk.Now(), w.client.Stats().Calls
		var tickets int
		h := zendesk.NewHelpdesk()
		for batch, err := range w.client.Pull(b.Context(), record.PullRequest{Now: clk.Now()}) {
			if err != nil {
				b.Fatal(err)
			}
			tickets += len(batch.Tickets)
			h.Apply(batch)
		}
		if sigs := h.Signals(clk.Now()); tickets != 100_000 || len(sigs) < 300*3 {
			b.Fatalf("exported %d tickets, %d signals", tickets, len(sigs))
		}
		b.ReportMetric(float64(w.client.Stats().Calls-calls), "requests/op")
		b.ReportMetric(clk.Now().Sub(start).Minutes(), "virtual-min/op")
	}
	b.ReportMetric(float64(w.fake.Throttled()), "throttled")
	w.fake.ReportBusy(b, busy, b.N)
	if w.fake.Throttled() != 0 {
		b.Fatalf("the fake throttled %d requests: the export left the documented limit", w.fake.Throttled())
	}
}

// TestExportKeepsTheDocumentedLimit runs the benchmark's set-up at 5,000
// tickets as a test, and checks that the same export unpaced is refused by
// the fake (so the benchmark's "0 throttled" can fail).
func TestExportKeepsTheDocumentedLimit(t *testing.T) {
	w, clk := exportWorld(t, 5_000)
	n := 0
	for batch, err := range w.client.Pull(t.Context(), record.PullRequest{Now: clk.Now()}) {
		if err != nil {
			t.Fatal(err)
		}
		n += len(batch.Tickets)
	}
	if n != 5_000 || w.fake.Throttled() != 0 {
		t.Fatalf("paced export: %d tickets, %d throttled; want 5000, 0", n, w.fake.Throttled())
	}
	cfg := w.cfg
	cfg.HTTP.RetryMax = -1
	unpaced, err := zendesk.New(cfg, zendesk.Options{Now: clk.Now, PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	var got error
	for _, err := range unpaced.Pull(t.Context(), record.PullRequest{Now: clk.Now()}) {
		if err != nil {
			got = err
		}
	}
	if got == nil || w.fake.Throttled() == 0 {
		t.Fatalf("unpaced export: err %v, %d throttled; want a 429", got, w.fake.Throttled())
	}
}
