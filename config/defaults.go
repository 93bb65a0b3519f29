package config

import (
	"fmt"
	"time"

	"github.com/healthsync/healthsync/scoring"
)

// Vendor defaults.
const (
	DefaultSalesforceLoginURL   = "https://login.salesforce.com"
	DefaultSalesforceAPIVersion = "62.0"
	DefaultHubSpotBaseURL       = "https://api.hubapi.com"
	DefaultStripeBaseURL        = "https://api.stripe.com"
	DefaultStripeAPIVersion     = "2025-03-31.basil"
)

// DefaultIgnoreDomains are free-mail domains never used for matching.
var DefaultIgnoreDomains = []string{
	"gmail.com", "googlemail.com", "yahoo.com", "yahoo.co.jp", "ymail.com", "outlook.com",
	"hotmail.com", "live.com", "msn.com", "icloud.com", "me.com", "mac.com", "aol.com",
	"proton.me", "protonmail.com", "gmx.com", "gmx.de", "mail.com", "yandex.ru", "qq.com",
	"163.com", "docomo.ne.jp", "ezweb.ne.jp", "au.com", "softbank.ne.jp", "i.softbank.jp",
}

// DefaultFieldMappings are the CRM fields each value key is written to.
var (
	DefaultSalesforceFields = map[string]string{
		FieldHealthScore: "Health_Score__c", FieldBand: "Health_Band__c", FieldTrend: "Health_Trend__c",
		FieldReasons: "Health_Reasons__c", FieldTouchModel: "Touch_Model__c", FieldPhase: "Lifecycle_Phase__c",
		FieldMRR: "MRR__c", FieldARR: "ARR__c", FieldUpdatedAt: "Healthsync_Updated_At__c",
	}
	DefaultHubSpotFields = map[string]string{
		FieldHealthScore: "healthsync_health_score", FieldBand: "healthsync_band", FieldTrend: "healthsync_trend",
		FieldReasons: "healthsync_reasons", FieldTouchModel: "healthsync_touch_model", FieldPhase: "healthsync_phase",
		FieldMRR: "healthsync_mrr", FieldARR: "healthsync_arr", FieldUpdatedAt: "healthsync_updated_at",
	}
)

// DefaultObjects are the CRM objects pulled when a connector lists none.
var DefaultObjects = map[string][]string{
	KindSalesforce: {"Account", "Opportunity"},
	KindHubSpot:    {"companies", "deals"},
}

// applyDefaults fills what the file left out. present reports whether a key
// path was written in the file, for settings where an explicit zero or
// empty list means something.
func (c *Config) applyDefaults(present func(string) bool) {
	c.Store.applyDefaults()
	if c.Store.Driver == DriverBolt && !present("store.log_gather") {
		c.Store.LogGather = Duration(200 * time.Microsecond)
	}
	setStr(&c.Server.Listen, "127.0.0.1:8080")
	setDur(&c.Server.ShutdownTimeout, 30*time.Second)
	setStr(&c.Log.Level, "info")
	setStr(&c.Reporting.Currency, "USD")
	setStr(&c.Reporting.Timezone, "UTC")

	for i := range c.Connectors {
		c.Connectors[i].applyDefaults()
	}

	m := &c.Matching
	if !present("matching.rules") {
		m.Rules = c.defaultMatchRules()
	}
	if !present("matching.min_match_rate") {
		m.MinMatchRate = 0.5
	}
	if !present("matching.ignore_domains") {
		m.IgnoreDomains = append([]string(nil), DefaultIgnoreDomains...)
	}

	c.Scoring.ApplyDefaults()
	if !present("tasks") {
		c.Tasks = scoring.DefaultTaskRules()
	}

	w := &c.WriteBack
	if !present("write_back.update_only") {
		w.UpdateOnly = true
	}
	if !present("write_back.min_score_change") {
		w.MinScoreChange = 3
	}
	if !present("write_back.max_band_change_share") {
		w.MaxBandChangeShare = 0.2
	}
	w.Salesforce.applyDefaults("Account", "Task", DefaultSalesforceFields)
	w.HubSpot.applyDefaults("companies", "tasks", DefaultHubSpotFields)

	e := &c.Engine
	setStr(&e.ReconcileSchedule, "@every 15m")
	if !present("engine.max_record_drop") {
		e.MaxRecordDrop = 0.5
	}
	setDur(&e.WriteRetry.Min, time.Minute)
	setDur(&e.WriteRetry.Max, 6*time.Hour)
	setInt(&e.Workers, 4)

	wh := &c.Webhooks
	if wh.MaxBodyBytes == 0 {
		wh.MaxBodyBytes = 1 << 20
	}
	setInt(&wh.Workers, 4)
	setInt(&wh.MaxAttempts, 8)
	setDur(&wh.DedupeTTL, 7*24*time.Hour)
	setDur(&wh.StuckAfter, 5*time.Minute)
	setInt(&wh.BatchSize, 200)
	if !present("webhooks.batch_wait") {
		wh.BatchWait = Duration(50 * time.Millisecond)
	}
	if !present("webhooks.pull_threshold") {
		wh.PullThreshold = 100
	}
	c.Signals.applyDefaults()

	n := &c.Notify
	setInt(&n.MaxAttempts, 10)
	setDur(&n.Backoff.Min, 10*time.Second)
	setDur(&n.Backoff.Max, time.Hour)
	setDur(&n.Timeout, 10*time.Second)
	for i := range n.Subscribers {
		s := &n.Subscribers[i]
		setStr(&s.Format, defaultNotifyFormat)
		if !present(fmt.Sprintf("notify.subscribers[%d].events", i)) {
			s.Events = append([]string(nil), NotifyEvents...)
		}
	}
}

// defaultMatchRules depend on the CRM in use: metadata written by the CRM
// integration, then a CRM field holding the billing ID, then e-mail domain.
// Salesforce's are the default; a configured CRM kind with its own rules
// (HubSpot's) replaces them.
func (c *Config) defaultMatchRules() []MatchRule {
	for _, cn := range c.Connectors {
		if k, ok := lookupKind(cn.Kind); ok && cn.Kind != KindSalesforce && k.MatchRules != nil {
			return append([]MatchRule(nil), k.MatchRules...)
		}
	}
	k, _ := lookupKind(KindSalesforce)
	return append([]MatchRule(nil), k.MatchRules...)
}

func (m *CRMMapping) applyDefaults(object, taskObject string, fields map[string]string) {
	setStr(&m.Object, object)
	setStr(&m.TaskObject, taskObject)
	if m.Fields == nil {
		m.Fields = map[string]string{}
	}
	for k, v := range fields {
		if _, set := m.Fields[k]; !set {
			m.Fields[k] = v
		}
	}
}

// applyDefaults fills a connector's per-kind defaults, then the common
// ones.
func (c *Connector) applyDefaults() {
	if k, ok := lookupKind(c.Kind); ok && k.Defaults != nil {
		k.Defaults(c)
	}
	setDur(&c.FullResync, 7*24*time.Hour)
	for _, r := range []*RateLimit{&c.RateLimit, &c.SearchRateLimit} {
		if r.Requests > 0 && r.Burst == 0 {
			r.Burst = r.Requests
		}
	}
	setDur(&c.HTTP.Timeout, 30*time.Second)
	setInt(&c.HTTP.RetryMax, 4)
	setDur(&c.HTTP.RetryWaitMin, 500*time.Millisecond)
	setDur(&c.HTTP.RetryWaitMax, 30*time.Second)
}

// crmDefaults are a CRM kind's common defaults: a daily full re-read and
// the kind's default objects.
func (c *Connector) crmDefaults() {
	setDur(&c.FullResync, 24*time.Hour)
	if len(c.Objects) == 0 {
		for _, o := range DefaultObjects[c.Kind] {
			c.Objects = append(c.Objects, Object{Name: o})
		}
	}
}

func salesforceDefaults(c *Connector) {
	setStr(&c.Auth.Flow, FlowClientCredentials)
	if c.Auth.Flow != FlowClientCredentials {
		// Client credentials work only on the org's My Domain, so that
		// flow has no default login URL (validation asks for one).
		setStr(&c.LoginURL, DefaultSalesforceLoginURL)
	}
	setStr(&c.APIVersion, DefaultSalesforceAPIVersion)
	if c.Webhook.MaxFetchesPerMinute == 0 {
		c.Webhook.MaxFetchesPerMinute = DefaultOutboundFetchesPerMinute
	}
	if c.MaxAPIShare == 0 {
		c.MaxAPIShare = 0.8
	}
	c.crmDefaults()
}

func hubspotDefaults(c *Connector) {
	setStr(&c.BaseURL, DefaultHubSpotBaseURL)
	if c.RateLimit == (RateLimit{}) {
		c.RateLimit = RateLimit{Requests: 100, Per: dur(10 * time.Second)}
	}
	if c.SearchRateLimit == (RateLimit{}) {
		c.SearchRateLimit = RateLimit{Requests: 4, Per: dur(time.Second)}
	}
	if c.Webhook.ClientSecret.IsZero() {
		// HubSpot signs webhooks with the app's client secret.
		c.Webhook.ClientSecret = c.Auth.ClientSecret
	}
	setDur(&c.Webhook.Tolerance, 5*time.Minute)
	c.crmDefaults()
}

func stripeDefaults(c *Connector) {
	setStr(&c.BaseURL, DefaultStripeBaseURL)
	setStr(&c.APIVersion, DefaultStripeAPIVersion)
	setDur(&c.Webhook.Tolerance, 5*time.Minute)
}

func chargebeeDefaults(c *Connector) {
	if c.BaseURL == "" && c.Site != "" {
		c.BaseURL = "https://" + c.Site + ".chargebee.com"
	}
}

// builtinKinds are the connector kinds whose settings this package's schema
// holds, in the order problems list them.
func builtinKinds() []struct {
	name string
	kind Kind
} {
	return []struct {
		name string
		kind Kind
	}{
		{KindSalesforce, Kind{Defaults: salesforceDefaults, Validate: checkSalesforce, MatchRules: []MatchRule{
			{Kind: MatchBillingMetadata, Key: "salesforce_account_id"},
			{Kind: MatchCRMField, Field: "Stripe_Customer_Id__c"},
			{Kind: MatchEmailDomain},
		}}},
		{KindHubSpot, Kind{Defaults: hubspotDefaults, Validate: checkHubSpot, MatchRules: []MatchRule{
			{Kind: MatchBillingMetadata, Key: "hubspot_company_id"},
			{Kind: MatchCRMField, Field: "stripe_customer_id"},
			{Kind: MatchEmailDomain},
		}}},
		{KindStripe, Kind{Defaults: stripeDefaults, Validate: checkStripe}},
		{KindChargebee, Kind{Defaults: chargebeeDefaults, Validate: checkChargebee}},
	}
}

func setStr(p *string, v string) {
	if *p == "" {
		*p = v
	}
}

func setInt(p *int, v int) {
	if *p == 0 {
		*p = v
	}
}

func setDur(p *Duration, v time.Duration) {
	if *p == 0 {
		*p = Duration(v)
	}
}
