package engine_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/chargebee"
	"github.com/healthsync/healthsync/connectors/chargebee/chargebeetest"
	"github.com/healthsync/healthsync/connectors/hubspot"
	"github.com/healthsync/healthsync/connectors/hubspot/hubspottest"
	"github.com/healthsync/healthsync/sync/engine"
	"github.com/healthsync/healthsync/sync/store"
	"github.com/healthsync/healthsync/sync/store/bolt"
)

const hsConfig = `
store: {path: %q}
reporting: {currency: JPY, fx: {USD: 150}}
connectors:
  - name: hs
    kind: hubspot
    base_url: %s
    auth: {access_token: pat-e2e-token}
    schedule: "@every 15m"
    rate_limit: {requests: 1000, per: 10s}
    http: {retry_max: 1, retry_wait_min: 1ms, retry_wait_max: 2ms}
  - name: cb
    kind: chargebee
    site: e2e
    base_url: %s
    auth: {api_key: test_e2e_key}
    schedule: "@every 10m"
    http: {retry_max: 1, retry_wait_min: 1ms, retry_wait_max: 2ms}
matching:
  rules:
    - {kind: billing_metadata, key: hubspot_company_id}
    - {kind: email_domain}
write_back:
  max_band_change_share: 1
`

// hsCB is a HubSpot portal and a Chargebee site with two companies.
type hsCB struct {
	hs        *hubspottest.Server
	cb        *chargebeetest.Server
	eng       *engine.Engine
	st        *bolt.Store
	now       time.Time
	companies []string
	subs      []string
}

// newHSChargebee seeds the fakes and creates props in HubSpot (as
// `healthsync setup hubspot` does).
func newHSChargebee(t *testing.T, props []hubspot.PropertySpec) *hsCB {
	t.Helper()
	return newHSChargebeeVia(t, props, nil)
}

// newHSChargebeeVia is newHSChargebee with the client sent to via(the
// fake's URL), a proxy, when via is not nil.
func newHSChargebeeVia(t *testing.T, props []hubspot.PropertySpec, via func(target string) string) *hsCB {
	t.Helper()
	return newHSChargebeeWrapped(t, props, via, nil)
}

// newHSChargebeeWrapped is newHSChargebeeVia with the engine's store
// wrapped by wrap (read logs), when wrap is not nil.
func newHSChargebeeWrapped(t *testing.T, props []hubspot.PropertySpec, via func(target string) string, wrap func(store.Store) store.Store) *hsCB {
	t.Helper()
	e := &hsCB{now: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)}
	now := e.now
	clock := func() time.Time { return e.now }
	hs := hubspottest.NewServer(hubspottest.Options{AccessToken: "pat-e2e-token", Now: clock, TenSecondlyLimit: 1000})
	t.Cleanup(hs.Close)
	cb := chargebeetest.NewServer(chargebeetest.Options{APIKey: "test_e2e_key", Now: clock})
	t.Cleanup(cb.Close)
	e.hs, e.cb = hs, cb
	start := now.AddDate(0, -4, 0).Unix()
	cb.PutItemPrice(chargebeetest.ItemPrice{ID: "pro-JPY-monthly", Name: "Pro", ItemID: "pro", ItemType: "plan", Status: "active",
		PricingModel: "per_unit", Price: 5000, Period: 1, PeriodUnit: "month", CurrencyCode: "JPY", CreatedAt: start})
	for i, q := range []int64{2, 10} {
		id := hs.Seed("companies", hubspottest.Object{Properties: map[string]string{"name": fmt.Sprintf("Company %d", i),
			"domain": fmt.Sprintf("co%d.example.com", i)}, CreatedAt: now.AddDate(-1, 0, 0), UpdatedAt: now.AddDate(0, -1, 0)})
		e.companies = append(e.companies, id)
		cus := fmt.Sprintf("cb_cus_%d", i)
		cb.PutCustomer(chargebeetest.Customer{ID: cus, Company: fmt.Sprintf("Company %d", i), Email: fmt.Sprintf("ap@co%d.example.com", i),
			MetaData: map[string]any{"hubspot_company_id": id}, CreatedAt: start, UpdatedAt: start})
		sub := fmt.Sprintf("cb_sub_%d", i)
		vendorMRR := []int64{10000, 12345}[i] // the second disagrees with ours (50,000)
		cb.PutSubscription(chargebeetest.Subscription{ID: sub, CustomerID: cus, Status: "active", CurrencyCode: "JPY", MRR: &vendorMRR,
			BillingPeriod: 1, BillingPeriodUnit: "month", StartDate: start, StartedAt: start, CreatedAt: start, UpdatedAt: start,
			CurrentTermStart: now.AddDate(0, 0, -10).Unix(), CurrentTermEnd: now.AddDate(0, 0, 20).Unix(),
			SubscriptionItems: []chargebeetest.SubscriptionItem{{ItemPriceID: "pro-JPY-monthly", ItemType: "plan", Quantity: q,
				UnitPrice: 5000, Amount: 5000 * q, Object: "subscription_item"}}})
		e.subs = append(e.subs, sub)
	}

	path := filepath.Join(t.TempDir(), "hs.db")
	hsURL := hs.URL
	if via != nil {
		hsURL = via(hs.URL)
	}
	cfg, err := config.Parse("hs.yaml", []byte(fmt.Sprintf(hsConfig, path, hsURL, cb.URL)), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	hsc := cfg.Connectors[0]
	var pulled []string
	for _, k := range config.WriteBackKeys {
		pulled = append(pulled, cfg.WriteBack.HubSpot.Fields[k])
	}
	hsc.Objects = append(hsc.Objects, config.Object{Name: "companies", Fields: pulled})
	hcl, err := hubspot.New(hsc, hubspot.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hcl.Setup(context.Background(), props); err != nil {
		t.Fatalf("setup: %v", err)
	}
	ccl, err := chargebee.New(cfg.Connectors[1], chargebee.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	st, err := bolt.Open(path, bolt.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var es store.Store = st
	if wrap != nil {
		es = wrap(st)
	}
	eng, err := engine.New(engine.Options{Config: cfg, Store: es, Now: clock, Logger: zerolog.Nop(), Connectors: []*engine.Connector{
		{Config: hsc, Caps: hubspot.Capabilities(), Source: hcl, Fetcher: hcl, Writer: hcl, Tasks: hcl, Preflight: hcl, Stats: hcl.Stats},
		{Config: cfg.Connectors[1], Caps: chargebee.Capabilities(), Source: ccl, Fetcher: ccl, Stats: ccl.Stats},
	}})
	if err != nil {
		t.Fatal(err)
	}
	e.eng, e.st = eng, st
	return e
}

func TestEndToEndHubSpotChargebee(t *testing.T) {
	e := newHSChargebee(t, hubspot.DefaultProperties())
	hs, cb, eng, companies, subs := e.hs, e.cb, e.eng, e.companies, e.subs
	sync := func() *engine.SyncReport {
		t.Helper()
		rep, err := eng.Sync(context.Background(), engine.SyncOptions{})
		if err != nil {
			t.Fatalf("sync: %v", err)
		}
		if len(rep.Errors) > 0 {
			t.Fatalf("sync errors: %v", rep.Errors)
		}
		return rep
	}
	first := sync()
	if dq := strings.Join(first.DataQuality, "\n"); !strings.Contains(dq, "2 billing customers compared, 1 differ") {
		t.Errorf("data quality lines lack the vendor MRR comparison:\n%s", dq)
	}
	for i, want := range []string{"10000", "50000"} {
		c, _ := hs.Get("companies", companies[i])
		if c.Properties["healthsync_mrr"] != want {
			t.Errorf("company %d: healthsync_mrr %q, want %s", i, c.Properties["healthsync_mrr"], want)
		}
		for _, p := range []string{"healthsync_health_score", "healthsync_band", "healthsync_touch_model", "healthsync_phase", "healthsync_updated_at"} {
			if c.Properties[p] == "" {
				t.Errorf("company %d: %s not written", i, p)
			}
		}
	}
	counts := func() (writes, other int64) {
		for k, v := range hs.Counts() {
			switch {
			case strings.Contains(k, "batch/update") && strings.Contains(k, "companies"):
				writes += v
			}
		}
		return
	}
	w0, _ := counts()
	if w0 == 0 {
		t.Fatalf("no company batch update counted after the first sync (counters %v)", hs.Counts())
	}
	sync()
	if w1, _ := counts(); w1 != w0 {
		t.Fatalf("an idle run made %d company batch updates", w1-w0)
	}
	// A downgrade in Chargebee rewrites that company only.
	e.now = e.now.Add(time.Hour)
	if err := cb.UpdateSubscription(subs[1], func(s *chargebeetest.Subscription) {
		s.SubscriptionItems[0].Quantity, s.SubscriptionItems[0].Amount = 4, 20000
	}); err != nil {
		t.Fatal(err)
	}
	rep := sync()
	if len(rep.Plan.Writes) != 1 || rep.Plan.Writes[0].ID != companies[1] {
		t.Fatalf("plan %+v, want one write for company 1", rep.Plan.Writes)
	}
	if c, _ := hs.Get("companies", companies[1]); c.Properties["healthsync_mrr"] != "20000" {
		t.Fatalf("after downgrade healthsync_mrr = %q", c.Properties["healthsync_mrr"])
	}
}
