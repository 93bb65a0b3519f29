package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/salesforce/salesforcetest"
	"github.com/healthsync/healthsync/connectors/zendesk/zendesktest"
	"github.com/healthsync/healthsync/sync/engine"
	"github.com/healthsync/healthsync/sync/webhook"
)

const signalsConfig = `
store: {path: %q}
connectors:
  - {name: sf, kind: salesforce, login_url: %q, auth: {client_id: cid, client_secret: csecret}, schedule: "@every 1h"}
  - name: helpdesk
    kind: zendesk
    base_url: %q
    auth: {username: admin@example.com, api_key: zdtok}
    webhook: {secrets: [zd-signing-secret]}
    rate_limit: {requests: 1000, per: 1s}
    schedule: "@every 30m"
  - name: product
    kind: segment
    webhook: {secrets: [seg-shared-secret]}
    segment:
      account: {by: trait, trait: salesforce_id, system: salesforce}
      events:
        - {event: Logged In, metric: logins}
        - {event: "*", metric: active_users, distinct_users: true}
matching: {rules: [{kind: email_domain}]}
# No billing source here: accounts without a subscription are scored.
scoring: {health: {prospects: score}}
write_back: {max_band_change_share: 1}
`

type signalsWorld struct {
	a   *app
	sf  *salesforcetest.Server
	zd  *zendesktest.Server
	srv *httptest.Server
	m   *webhook.Metrics
	ids []string // Salesforce account IDs
}

func newSignalsWorld(t *testing.T) *signalsWorld {
	t.Helper()
	w := &signalsWorld{}
	w.sf = salesforcetest.NewServer(salesforcetest.Options{ClientID: "cid", ClientSecret: "csecret"})
	t.Cleanup(w.sf.Close)
	w.sf.AddHealthsyncFields()
	for i := range 2 {
		id, err := w.sf.Insert("Account", map[string]any{"Name": fmt.Sprintf("Account %d", i), "Website": fmt.Sprintf("https://acct%d.example.com", i)})
		if err != nil {
			t.Fatal(err)
		}
		w.ids = append(w.ids, id)
	}
	w.zd = zendesktest.NewServer(zendesktest.Options{Email: "admin@example.com", Token: "zdtok", ExportRateLimit: -1})
	t.Cleanup(w.zd.Close)
	old := time.Now().Add(-48 * time.Hour)
	w.zd.PutOrganization(zendesktest.Organization{ID: 7, Name: "Account 1", DomainNames: []string{"acct1.example.com"}, UpdatedAt: old})
	for id := int64(1); id <= 3; id++ {
		w.zd.PutTicket(zendesktest.Ticket{ID: id, OrganizationID: 7, Status: "open", CreatedAt: old, UpdatedAt: old, GeneratedTimestamp: old})
	}
	yaml := fmt.Sprintf(signalsConfig, filepath.Join(t.TempDir(), "s.db"), w.sf.URL, w.zd.URL)
	cfg, err := config.Parse("s.yaml", []byte(yaml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	if w.a, err = openAppConfig(cfg, "", io.Discard, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.a.Close() })
	w.m = webhook.NewMetrics(nil)
	w.srv = httptest.NewServer(webhook.NewHandler(webhook.Options{Sources: w.a.wired.webhooks, Queue: w.a.st, Metrics: w.m}))
	t.Cleanup(w.srv.Close)
	rep, err := w.a.eng.Sync(context.Background(), engine.SyncOptions{})
	if err != nil || len(rep.Errors) > 0 {
		t.Fatalf("sync: %v %v", err, rep.Errors)
	}
	return w
}

func (w *signalsWorld) post(t *testing.T, path string, body []byte, sign func(*http.Request)) (int, string) {
	t.Helper()
	r, _ := http.NewRequest("POST", w.srv.URL+path, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	if sign != nil {
		sign(r)
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// processAll claims and processes every queued event; it returns the
// account keys the events named.
func (w *signalsWorld) processAll(t *testing.T) []string {
	t.Helper()
	q, err := w.a.st.Claim(100, time.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, ev := range q {
		keys = append(keys, ev.Event.ObjectType+"/"+ev.Event.ObjectID)
		if _, err := w.a.eng.Process(context.Background(), ev); err != nil {
			t.Fatalf("processing %s: %v", ev.Event.ID, err)
		}
	}
	return keys
}

func (w *signalsWorld) rejected(vendor, reason string) float64 {
	var pb dto.Metric
	w.m.Rejected.WithLabelValues(vendor, reason).Write(&pb)
	return pb.GetCounter().GetValue()
}

// written is an account's Health_Score__c in the CRM and its stored score,
// rounded as written.
func (w *signalsWorld) written(t *testing.T, i int) [2]any {
	t.Helper()
	sn, _, err := w.a.st.Score("salesforce/" + w.ids[i])
	if err != nil {
		t.Fatal(err)
	}
	return [2]any{w.sf.Get("Account", w.ids[i])["Health_Score__c"], math.Round(sn.Score)}
}

// TestSegmentWebhookEndToEnd: /webhooks/segment refuses unsigned and
// wrongly signed requests with 401 and no detail, malformed ones with 400,
// counts both by reason and stores nothing of them; a signed batch (group,
// identify, track as Segment's Spec shapes them) links, stores logins and
// active users under the CRM account and queues its re-score, which
// writes the account's new score to Salesforce.
func TestSegmentWebhookEndToEnd(t *testing.T) {
	w := newSignalsWorld(t)
	before := w.written(t, 0)
	now := time.Now().UTC().Truncate(time.Second)
	ts := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339) }
	body := []byte(`{"batch":[
 {"type":"group","messageId":"m1","userId":"u-ana","groupId":"g-1","traits":{"name":"Account 0","salesforce_id":"` + w.ids[0] + `"},"timestamp":"` + ts(-3*time.Hour) + `"},
 {"type":"identify","messageId":"m2","userId":"u-ben","traits":{"email":"ben@acct0.example.com"},"context":{"groupId":"g-1"},"timestamp":"` + ts(-3*time.Hour) + `"},
 {"type":"track","messageId":"m3","userId":"u-ana","event":"Logged In","properties":{},"timestamp":"` + ts(-2*time.Hour) + `"},
 {"type":"track","messageId":"m4","userId":"u-ben","event":"Logged In","properties":{},"timestamp":"` + ts(-time.Hour) + `"},
 {"type":"track","messageId":"m5","userId":"u-ben","event":"Report Exported","properties":{},"timestamp":"` + ts(-time.Hour) + `"}]}`)
	signed := func(secret string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("X-Signature", segmentSignature(secret, body)) }
	}
	malformed := []byte(`{"type":"track","event":"Logged In"}`) // no userId or anonymousId
	type answer struct {
		Code int
		Body string
	}
	stored, err := w.a.st.AllSignals(time.Time{}) // the help desk's, from the first sync
	if err != nil {
		t.Fatal(err)
	}
	var got []answer
	for _, c := range []struct {
		body []byte
		sign func(*http.Request)
	}{
		{body, nil},
		{body, signed("not-the-secret")},
		{malformed, func(r *http.Request) { r.Header.Set("X-Signature", segmentSignature("seg-shared-secret", malformed)) }},
	} {
		code, b := w.post(t, "/webhooks/segment", c.body, c.sign)
		got = append(got, answer{code, b})
	}
	want := []answer{{401, "Unauthorized\n"}, {401, "Unauthorized\n"}, {400, "Bad Request\n"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("refused requests = %+v, want %+v", got, want)
	}
	if got := [2]float64{w.rejected("segment", "signature"), w.rejected("segment", "malformed")}; got != [2]float64{2, 1} {
		t.Errorf("rejected{segment, signature / malformed} = %v, want [2 1]", got)
	}
	if sigs, _ := w.a.st.AllSignals(time.Time{}); !reflect.DeepEqual(sigs, stored) {
		t.Fatalf("refused requests stored signals: %v, want only the help desk's %v", sigs, stored)
	}
	if q, _ := w.a.st.Claim(10, now.Add(time.Minute)); len(q) != 0 {
		t.Fatalf("refused requests queued events: %+v", q)
	}

	if code, b := w.post(t, "/webhooks/segment", body, signed("seg-shared-secret")); code != 200 {
		t.Fatalf("signed batch: %d %s", code, b)
	}
	if keys := w.processAll(t); !reflect.DeepEqual(keys, []string{"account/salesforce/" + w.ids[0]}) {
		t.Fatalf("re-score events = %v, want account 0's", keys)
	}
	day := now.Truncate(24 * time.Hour)
	if now.Add(-3 * time.Hour).Before(day) {
		t.Skip("the batch spans midnight UTC: active users fall in two windows")
	}
	if got, want := metricValues(t, w, 0), map[string]float64{
		"logins@" + ts(-2*time.Hour): 1, "logins@" + ts(-time.Hour): 1, "active_users@" + day.Format(time.RFC3339): 2,
	}; !reflect.DeepEqual(got, want) {
		t.Fatalf("account 0's signals = %v, want %v", got, want)
	}
	after := w.written(t, 0)
	if after == before || after[0] != after[1] {
		t.Fatalf("account 0's Health_Score__c / stored score: before %v, after %v; want the new score written", before, after)
	}
}

func metricValues(t *testing.T, w *signalsWorld, i int) map[string]float64 {
	t.Helper()
	sigs, err := w.a.st.Signals("salesforce/"+w.ids[i], time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, s := range sigs {
		out[s.Metric+"@"+s.Time.UTC().Format(time.RFC3339)] = s.Value
	}
	return out
}

// TestZendeskWebhookEndToEnd: the sync pulled the help desk (organization
// 7 matched to account 1 by its domain); a signed ticket event re-reads
// the ticket and re-scores account 1, whose new score reaches Salesforce;
// an unsigned one is refused with 401 and nothing queued.
func TestZendeskWebhookEndToEnd(t *testing.T) {
	w := newSignalsWorld(t)
	before := w.written(t, 1)
	if got := lastTicketsOpen(t, w, 1); got != 3 {
		t.Fatalf("account 1's tickets_open after the pull = %v, want 3", got)
	}
	now := time.Now().UTC()
	w.zd.PutTicket(zendesktest.Ticket{ID: 1, OrganizationID: 7, Status: "solved", CreatedAt: now.Add(-48 * time.Hour),
		UpdatedAt: now.Add(-2 * time.Minute), GeneratedTimestamp: now.Add(-2 * time.Minute)})
	body := []byte(`{"type":"zen:event-type:ticket.status_changed","account_id":1,"id":"01J-ev-1","time":"` + now.Format(time.RFC3339) +
		`","zendesk_event_version":"2022-11-06","subject":"zen:ticket:1","detail":{"id":"1","organization_id":"7","status":"SOLVED"},"event":{}}`)
	if code, b := w.post(t, "/webhooks/zendesk", body, nil); code != 401 || b != "Unauthorized\n" {
		t.Fatalf("unsigned zendesk event: %d %q, want 401 without detail", code, b)
	}
	if code, b := w.post(t, "/webhooks/zendesk", body, func(r *http.Request) { zendesktest.SignRequest(r, "zd-signing-secret", body, now) }); code != 200 {
		t.Fatalf("signed zendesk event: %d %s", code, b)
	}
	if keys := w.processAll(t); !reflect.DeepEqual(keys, []string{"ticket/1"}) {
		t.Fatalf("queued events = %v, want ticket/1 once", keys)
	}
	if got := lastTicketsOpen(t, w, 1); got != 2 {
		t.Fatalf("account 1's last tickets_open = %v, want 2 (one of three solved)", got)
	}
	after := w.written(t, 1)
	if after == before || after[0] != after[1] || !strings.Contains(fmt.Sprint(w.sf.Get("Account", w.ids[1])["Health_Reasons__c"]), "tickets") {
		t.Fatalf("account 1's Health_Score__c / stored score: before %v, after %v; want the new score written", before, after)
	}
}

// lastTicketsOpen is account i's latest tickets_open signal.
func lastTicketsOpen(t *testing.T, w *signalsWorld, i int) float64 {
	t.Helper()
	sigs, err := w.a.st.Signals("salesforce/"+w.ids[i], time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	v := math.NaN()
	for _, s := range sigs { // by metric then time
		if s.Metric == "tickets_open" {
			v = s.Value
		}
	}
	return v
}
