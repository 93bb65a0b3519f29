package zendesk_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/httpclient"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/connectors/zendesk"
	"github.com/healthsync/healthsync/connectors/zendesk/zendesktest"
)

const ticketsPath = "/api/v2/incremental/tickets/cursor.json"

// seed puts three organizations (updated a minute apart) and five tickets:
// org 1 has an urgent open ticket and a solved one rated good, org 2 a
// pending one and an old closed one rated bad, one ticket has no
// organization.
func seed(w *world) {
	base := t0.Add(-48 * time.Hour)
	w.fake.PutOrganization(zendesktest.Organization{ID: 1, Name: "Acme", ExternalID: "001ACME", DomainNames: []string{"Acme.example"}, UpdatedAt: base})
	w.fake.PutOrganization(zendesktest.Organization{ID: 2, Name: "Beta", DomainNames: []string{"beta.example", "beta.io"}, UpdatedAt: base.Add(time.Minute)})
	w.fake.PutOrganization(zendesktest.Organization{ID: 3, Name: "Gamma", UpdatedAt: base.Add(2 * time.Minute)})
	put := func(id, org int64, status, prio, sat string, created, updated time.Time) {
		w.fake.PutTicket(zendesktest.Ticket{ID: id, OrganizationID: org, Status: status, Priority: prio, Satisfaction: sat,
			CreatedAt: created, UpdatedAt: updated, GeneratedTimestamp: updated})
	}
	put(1, 1, "open", "urgent", "", t0.Add(-48*time.Hour), t0.Add(-47*time.Hour))
	put(2, 1, "solved", "normal", "good", t0.Add(-240*time.Hour), t0.Add(-239*time.Hour))
	put(3, 2, "pending", "", "", t0.Add(-120*time.Hour), t0.Add(-119*time.Hour))
	put(4, 2, "closed", "low", "bad", t0.Add(-60*24*time.Hour), t0.Add(-40*24*time.Hour))
	put(5, 0, "open", "", "", t0.Add(-24*time.Hour), t0.Add(-23*time.Hour))
	w.fake.PutMetric(zendesktest.TicketMetric{TicketID: 1, ReplyCalendarMin: zendesktest.Minutes(30), ReplyBusinessMin: zendesktest.Minutes(30)})
	w.fake.PutMetric(zendesktest.TicketMetric{TicketID: 2, ReplyCalendarMin: zendesktest.Minutes(90), ReplyBusinessMin: zendesktest.Minutes(60)})
}

// shape is a batch reduced to what the paging tests compare.
type shape struct {
	Stream     string
	IDs        []int64
	Deleted    []string
	Full, Done bool
}

func shapes(bs []*zendesk.Batch) []shape {
	var out []shape
	for _, b := range bs {
		s := shape{Stream: b.Stream, Full: b.Full, Done: b.Done}
		for _, o := range b.Organizations {
			s.IDs = append(s.IDs, o.ID)
		}
		for _, t := range b.Tickets {
			s.IDs = append(s.IDs, t.ID)
		}
		for _, r := range b.Deleted {
			s.Deleted = append(s.Deleted, r.ID)
		}
		out = append(out, s)
	}
	return out
}

func signalsOf(bs ...[]*zendesk.Batch) *zendesk.Helpdesk {
	h := zendesk.NewHelpdesk()
	for _, batches := range bs {
		for _, b := range batches {
			h.Apply(b)
		}
	}
	return h
}

// TestPullFullThenIncremental pins a first export (organizations then
// tickets, per_page pages to end_of_stream, the organizations' boundary
// second de-duplicated), the mapped records, an incremental export from
// the persisted cursors that returns only what changed (a solved ticket, a
// deleted one, a new one), and the signals before and after.
func TestPullFullThenIncremental(t *testing.T) {
	w := newWorld(t, zendesktest.Options{}, zendesk.Options{PageSize: 2})
	seed(w)
	first := pullAll(t, w.client, record.PullRequest{Now: w.clk.Now()})
	want := []shape{
		{Stream: "organizations", IDs: []int64{1, 2}, Full: true},
		{Stream: "organizations", IDs: []int64{3}, Full: true, Done: true},
		{Stream: "tickets", IDs: []int64{4, 2}, Full: true},
		{Stream: "tickets", IDs: []int64{3, 1}, Full: true},
		{Stream: "tickets", IDs: []int64{5}, Full: true, Done: true},
	}
	if got := shapes(first); !reflect.DeepEqual(got, want) {
		t.Fatalf("full export:\n got %+v\nwant %+v", got, want)
	}
	wantOrg := zendesk.Organization{ID: 1, Name: "Acme", ExternalID: "001ACME", Domains: []string{"acme.example"}, Updated: t0.Add(-48 * time.Hour)}
	if got := first[0].Organizations[0]; !reflect.DeepEqual(got, wantOrg) {
		t.Errorf("organization:\n got %+v\nwant %+v", got, wantOrg)
	}
	thirty := int64(30)
	wantTicket := zendesk.Ticket{ID: 1, OrganizationID: 1, Status: "open", Priority: "urgent", Satisfaction: "unoffered",
		Created: t0.Add(-48 * time.Hour), Updated: t0.Add(-47 * time.Hour), FirstReplyMinutes: &thirty}
	if got := first[3].Tickets[1]; !reflect.DeepEqual(got, wantTicket) {
		t.Errorf("ticket:\n got %+v\nwant %+v", got, wantTicket)
	}
	asOf := w.clk.Now()
	wantSignals := []record.Signal{
		sig("1", "tickets_open", 1, asOf), sig("1", "tickets_created_30d", 2, asOf), sig("1", "median_first_reply_hours", 1, asOf),
		sig("1", "satisfaction_good_ratio", 1, asOf), sig("1", "urgent_tickets", 1, asOf),
		sig("2", "tickets_open", 1, asOf), sig("2", "tickets_created_30d", 1, asOf), sig("2", "satisfaction_good_ratio", 0, asOf),
		sig("2", "urgent_tickets", 0, asOf),
		sig("3", "tickets_open", 0, asOf), sig("3", "tickets_created_30d", 0, asOf), sig("3", "urgent_tickets", 0, asOf),
	}
	if got := signalsOf(first).Signals(asOf); !reflect.DeepEqual(got, wantSignals) {
		t.Fatalf("signals after the full export:\n got %+v\nwant %+v", got, wantSignals)
	}

	w.clk.Advance(time.Hour)
	w.fake.PutTicket(zendesktest.Ticket{ID: 1, OrganizationID: 1, Status: "solved", Priority: "urgent", CreatedAt: t0.Add(-48 * time.Hour)})
	w.fake.DeleteTicket(3)
	w.fake.PutTicket(zendesktest.Ticket{ID: 6, OrganizationID: 3, Status: "open", Priority: "urgent"})
	w.fake.PutOrganization(zendesktest.Organization{ID: 2, Name: "Beta", DomainNames: []string{"beta.example"}})
	w.clk.Advance(2 * time.Minute) // the export leaves out the last minute
	second := pullAll(t, w.client, record.PullRequest{Cursors: lastCursors(first), Now: w.clk.Now()})
	want = []shape{
		{Stream: "organizations", IDs: []int64{3, 2}, Done: true}, // 3: the boundary second, repeated by design
		{Stream: "tickets", IDs: []int64{1, 3}, Deleted: []string{"ticket/3"}},
		{Stream: "tickets", IDs: []int64{6}, Done: true},
	}
	if got := shapes(second); !reflect.DeepEqual(got, want) {
		t.Fatalf("incremental export:\n got %+v\nwant %+v", got, want)
	}
	asOf = w.clk.Now()
	wantSignals = []record.Signal{
		sig("1", "tickets_open", 0, asOf), sig("1", "tickets_created_30d", 2, asOf), sig("1", "median_first_reply_hours", 1, asOf),
		sig("1", "satisfaction_good_ratio", 1, asOf), sig("1", "urgent_tickets", 0, asOf),
		sig("2", "tickets_open", 0, asOf), sig("2", "tickets_created_30d", 0, asOf), sig("2", "satisfaction_good_ratio", 0, asOf),
		sig("2", "urgent_tickets", 0, asOf),
		sig("3", "tickets_open", 1, asOf), sig("3", "tickets_created_30d", 1, asOf), sig("3", "urgent_tickets", 1, asOf),
	}
	if got := signalsOf(first, second).Signals(asOf); !reflect.DeepEqual(got, wantSignals) {
		t.Fatalf("signals after the incremental export:\n got %+v\nwant %+v", got, wantSignals)
	}
}

// TestEndOfStreamWithNothingNew pins that an incremental pull with no
// change costs one request per stream, ends at end_of_stream and keeps the
// tickets cursor where it was.
func TestEndOfStreamWithNothingNew(t *testing.T) {
	w := newWorld(t, zendesktest.Options{}, zendesk.Options{})
	seed(w)
	first := pullAll(t, w.client, record.PullRequest{Now: w.clk.Now()})
	before := len(w.fake.Requests())
	w.clk.Advance(10 * time.Minute)
	second := pullAll(t, w.client, record.PullRequest{Cursors: lastCursors(first), Now: w.clk.Now()})
	want := []shape{{Stream: "organizations", IDs: []int64{3}, Done: true}, {Stream: "tickets", Done: true}}
	if got := shapes(second); !reflect.DeepEqual(got, want) {
		t.Fatalf("idle pull:\n got %+v\nwant %+v", got, want)
	}
	if n := len(w.fake.Requests()) - before; n != 2 {
		t.Errorf("idle pull sent %d requests, want 2", n)
	}
	if a, b := lastCursors(first)["tickets"], lastCursors(second)["tickets"]; !bytes.Equal(a, b) {
		t.Errorf("tickets cursor moved on an idle pull: %s -> %s", a, b)
	}
}

// TestResumeAfterCrash pins that a pull stopped after a committed page
// (the process died before the next one was stored) resumes from that
// page's cursor: every ticket is read once, in order.
func TestResumeAfterCrash(t *testing.T) {
	w := newWorld(t, zendesktest.Options{}, zendesk.Options{PageSize: 2})
	seed(w)
	var committed []*zendesk.Batch
	tickets := 0
	for b, err := range w.client.Pull(context.Background(), record.PullRequest{Now: w.clk.Now()}) {
		if err != nil {
			t.Fatal(err)
		}
		committed = append(committed, b)
		if b.Stream == zendesk.StreamTickets {
			if tickets++; tickets == 2 {
				break // crash: the third page is never committed
			}
		}
	}
	w.clk.Advance(5 * time.Minute)
	c2, err := zendesk.New(w.cfg, zendesk.Options{PageSize: 2, Now: w.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	resumed := pullAll(t, c2, record.PullRequest{Cursors: lastCursors(committed), Now: w.clk.Now()})
	var ids []int64
	for _, b := range append(committed, resumed...) {
		for _, tk := range b.Tickets {
			ids = append(ids, tk.ID)
		}
	}
	if want := []int64{4, 2, 3, 1, 5}; !reflect.DeepEqual(ids, want) {
		t.Fatalf("tickets across the crash: %v, want %v", ids, want)
	}
}

// TestExpiredCursorRestartsFromTime pins the recovery from a refused
// cursor (422): the pull restarts from the last generated_timestamp seen
// minus the overlap, and still returns the ticket changed meanwhile.
func TestExpiredCursorRestartsFromTime(t *testing.T) {
	w := newWorld(t, zendesktest.Options{CursorTTL: time.Hour}, zendesk.Options{})
	seed(w)
	first := pullAll(t, w.client, record.PullRequest{Now: w.clk.Now()})
	w.clk.Advance(2 * time.Hour)
	w.fake.PutTicket(zendesktest.Ticket{ID: 2, OrganizationID: 1, Status: "open", CreatedAt: t0.Add(-240 * time.Hour)})
	w.clk.Advance(2 * time.Minute)
	second := pullAll(t, w.client, record.PullRequest{Cursors: lastCursors(first), Now: w.clk.Now()})
	want := []shape{{Stream: "organizations", IDs: []int64{3}, Done: true}, {Stream: "tickets", IDs: []int64{5, 2}, Done: true}}
	if got := shapes(second); !reflect.DeepEqual(got, want) {
		t.Fatalf("after an expired cursor:\n got %+v\nwant %+v", got, want)
	}
	var queries []string
	for _, r := range w.fake.Requests() {
		if r.Path == ticketsPath {
			q := r.Query
			queries = append(queries, "start_time="+q.Get("start_time")+" cursor="+strconv.FormatBool(q.Has("cursor")))
		}
	}
	restart := strconv.FormatInt(t0.Add(-23*time.Hour-5*time.Minute).Unix(), 10)
	if want := []string{"start_time=0 cursor=false", "start_time= cursor=true", "start_time=" + restart + " cursor=false"}; !reflect.DeepEqual(queries, want) {
		t.Errorf("ticket export requests %v, want %v", queries, want)
	}
}

// TestRetryAfterHonoured pins that a 429 from the export limit is retried
// after the Retry-After the fake sends (1 s here); with the client's
// millisecond back-off alone both retries would hit the block and fail.
func TestRetryAfterHonoured(t *testing.T) {
	w := newWorld(t, zendesktest.Options{Now: time.Now, ExportRateLimit: 2, RateWindow: time.Second}, zendesk.Options{PageSize: 1, Now: time.Now})
	w.fake.PutOrganization(zendesktest.Organization{ID: 1, Name: "Acme", UpdatedAt: time.Now().Add(-time.Hour)})
	for i := range 3 {
		w.fake.PutTicket(zendesktest.Ticket{ID: int64(i + 1), OrganizationID: 1, GeneratedTimestamp: time.Now().Add(-time.Hour + time.Duration(i)*time.Minute)})
	}
	start := time.Now()
	bs := pullAll(t, w.client, record.PullRequest{Now: time.Now()})
	if got := shapes(bs); len(got) != 4 || !got[3].Done {
		t.Fatalf("pull under the limit: %+v", got)
	}
	if w.fake.Throttled() == 0 || w.client.Stats().Throttled != int64(w.fake.Throttled()) {
		t.Errorf("fake throttled %d, client counted %d; want equal and > 0", w.fake.Throttled(), w.client.Stats().Throttled)
	}
	if took := time.Since(start); took < 900*time.Millisecond {
		t.Errorf("pull took %v: Retry-After (1 s) was not waited", took)
	}
	if bs[3].Usage == nil || bs[3].Usage.Limit != 2 {
		t.Errorf("usage %+v, want the X-Rate-Limit budget of 2", bs[3].Usage)
	}
}

// TestDefaultExportRateLimitKeepsUnderTheLimit pins that the default
// budget never sends more than the documented 10 export requests in any 60
// seconds.
func TestDefaultExportRateLimitKeepsUnderTheLimit(t *testing.T) {
	r := zendesk.DefaultExportRateLimit
	if perMinute := r.Burst + r.Requests*int(time.Minute/r.Per.D()); perMinute > 10 {
		t.Fatalf("DefaultExportRateLimit allows %d requests in 60 s, over 10", perMinute)
	}
	r = zendesk.DefaultAPIRateLimit
	if perMinute := r.Burst + r.Requests*int(time.Minute/r.Per.D()); perMinute > 200 {
		t.Fatalf("DefaultAPIRateLimit allows %d requests in 60 s, over 200", perMinute)
	}
}

// TestRequestsStayInsideTheContract pins what the client sends: per_page
// clamped to 1000 (the fake refuses more), a start_time never inside the
// last minute (the fake refuses it) even when configured at "now", only
// start_time, cursor, per_page and include=metric_sets.
func TestRequestsStayInsideTheContract(t *testing.T) {
	w := newWorld(t, zendesktest.Options{}, zendesk.Options{PageSize: 5000})
	seed(w)
	w.cfg.StartTime = t0
	c, err := zendesk.New(w.cfg, zendesk.Options{PageSize: 5000, Now: w.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	first := pullAll(t, c, record.PullRequest{Now: w.clk.Now()})
	w.clk.Advance(time.Hour)
	pullAll(t, c, record.PullRequest{Cursors: lastCursors(first), Now: w.clk.Now()})
	allowed := map[string]bool{"start_time": true, "cursor": true, "per_page": true, "include": true}
	for _, r := range w.fake.Requests() {
		q := r.Query
		for k := range q {
			if !allowed[k] {
				t.Errorf("%s sent %s", r.Path, k)
			}
		}
		if q.Get("per_page") != "1000" {
			t.Errorf("%s per_page=%q, want 1000", r.Path, q.Get("per_page"))
		}
		if r.Path == ticketsPath && q.Get("include") != "metric_sets" {
			t.Errorf("tickets include=%q", q.Get("include"))
		}
		if st := q.Get("start_time"); st != "" {
			if n, _ := strconv.ParseInt(st, 10, 64); n > r.Time.Add(-time.Minute).Unix() {
				t.Errorf("%s start_time %s within the last minute of %v", r.Path, st, r.Time)
			}
		}
	}
}

// TestErrorsAreTypedAndRedacted pins *httpclient.Error for documented
// failures and that the token never appears in them.
func TestErrorsAreTypedAndRedacted(t *testing.T) {
	tests := []struct {
		name  string
		fo    zendesktest.Options
		token string
		want  httpclient.Error
	}{
		{"wrong token", zendesktest.Options{}, "zdTok_wrong", httpclient.Error{Vendor: "zendesk", Status: 401, Code: "Couldn't authenticate you"}},
		{"agent, not admin", zendesktest.Options{NotAdmin: true}, token, httpclient.Error{Vendor: "zendesk", Status: 403, Code: "Forbidden",
			Message: "You do not have access to this page. Please contact the account owner of this help desk for further help."}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, tc.fo, zendesk.Options{})
			cfg := w.cfg
			cfg.APIToken = config.NewSecret(tc.token)
			c, err := zendesk.New(cfg, zendesk.Options{Now: w.clk.Now})
			if err != nil {
				t.Fatal(err)
			}
			var got error
			for _, err := range c.Pull(context.Background(), record.PullRequest{}) {
				if err != nil {
					got = err
				}
			}
			var he *httpclient.Error
			if !errors.As(got, &he) {
				t.Fatalf("error %v is not *httpclient.Error", got)
			}
			if !reflect.DeepEqual(*he, tc.want) {
				t.Errorf("got %+v\nwant %+v", *he, tc.want)
			}
			if strings.Contains(got.Error(), tc.token) {
				t.Errorf("error leaks the token: %v", got)
			}
		})
	}
}

// TestMalformedResponse pins that a truncated page is an error, not an
// empty page that would end the export.
func TestMalformedResponse(t *testing.T) {
	w := newWorld(t, zendesktest.Options{}, zendesk.Options{})
	seed(w)
	w.fake.InjectFault(zendesktest.Fault{Path: ticketsPath, Malformed: true})
	var got error
	for _, err := range w.client.Pull(context.Background(), record.PullRequest{Now: w.clk.Now()}) {
		if err != nil {
			got = err
		}
	}
	if got == nil || !strings.Contains(got.Error(), "decoding") {
		t.Fatalf("Pull error = %v, want a decoding error", got)
	}
}

// TestRepeatedOrganizationCursorIsAnError pins that more organizations in
// one updated_at second than a page holds end the pull with
// ErrRepeatedCursor instead of looping on the same start_time.
func TestRepeatedOrganizationCursorIsAnError(t *testing.T) {
	w := newWorld(t, zendesktest.Options{}, zendesk.Options{PageSize: 2})
	for i := range 3 {
		w.fake.PutOrganization(zendesktest.Organization{ID: int64(i + 1), UpdatedAt: t0.Add(-time.Hour)})
	}
	var got error
	for _, err := range w.client.Pull(context.Background(), record.PullRequest{Now: w.clk.Now()}) {
		if err != nil {
			got = err
		}
	}
	if !errors.Is(got, zendesk.ErrRepeatedCursor) {
		t.Fatalf("Pull error = %v, want ErrRepeatedCursor", got)
	}
	if n := w.fake.Count("GET /api/v2/incremental/organizations"); n != 2 {
		t.Errorf("%d organization requests, want 2", n)
	}
}

// TestNoSecretInLogs pins that retried requests log neither the API token
// nor a webhook secret.
func TestNoSecretInLogs(t *testing.T) {
	var buf bytes.Buffer
	log := zerolog.New(&buf).Level(zerolog.TraceLevel)
	w := newWorld(t, zendesktest.Options{}, zendesk.Options{})
	seed(w)
	c, err := zendesk.New(w.cfg, zendesk.Options{Logger: log, Now: w.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	w.fake.InjectFault(zendesktest.Fault{Times: 2, Status: http.StatusServiceUnavailable})
	pullAll(t, c, record.PullRequest{Now: w.clk.Now()})
	if buf.Len() == 0 {
		t.Fatal("expected retry log lines")
	}
	for _, s := range []string{token, secret1, secret2} {
		if strings.Contains(buf.String(), s) {
			t.Errorf("log contains a secret: %s", buf.String())
		}
	}
}
