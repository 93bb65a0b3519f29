package main

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/rs/zerolog"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/chargebee"
	"github.com/healthsync/healthsync/connectors/hubspot"
	"github.com/healthsync/healthsync/connectors/salesforce"
	"github.com/healthsync/healthsync/connectors/stripe"
	"github.com/healthsync/healthsync/sync/engine"
	"github.com/healthsync/healthsync/sync/webhook"
)

// Compile-time checks: vendor clients satisfy the engine's interfaces
// without importing it.
var (
	_ engine.Source      = (*salesforce.Client)(nil)
	_ engine.Fetcher     = (*salesforce.Client)(nil)
	_ engine.Writer      = (*salesforce.Client)(nil)
	_ engine.TaskWriter  = (*salesforce.Client)(nil)
	_ engine.Preflighter = (*salesforce.Client)(nil)
	_ engine.Verifier    = (*salesforce.Verifier)(nil)

	_ engine.Source      = (*hubspot.Client)(nil)
	_ engine.Fetcher     = (*hubspot.Client)(nil)
	_ engine.Writer      = (*hubspot.Client)(nil)
	_ engine.TaskWriter  = (*hubspot.Client)(nil)
	_ engine.Preflighter = (*hubspot.Client)(nil)
	_ engine.Verifier    = (*hubspot.Verifier)(nil)

	_ engine.Source   = (*stripe.Client)(nil)
	_ engine.Fetcher  = (*stripe.Client)(nil)
	_ engine.Verifier = (*stripe.Verifier)(nil)

	_ engine.Source   = (*chargebee.Client)(nil)
	_ engine.Fetcher  = (*chargebee.Client)(nil)
	_ engine.Verifier = (*chargebee.Verifier)(nil)
)

// wired is every connector built from the configuration.
type wired struct {
	connectors []*engine.Connector
	webhooks   []webhook.Source
	hubspot    map[string]*hubspot.Client
}

// wire is the one place that maps a connector kind to its vendor package.
func wire(cfg *config.Config, log zerolog.Logger) (*wired, error) {
	w := &wired{hubspot: map[string]*hubspot.Client{}}
	// Each vendor client and its httpclient add the connector's name to
	// their log lines themselves: adding it here too wrote the "connector"
	// key twice on every line.
	for _, cc := range cfg.Connectors {
		cc = withReadFields(cfg, cc)
		switch cc.Kind {
		case config.KindSalesforce:
			c, err := salesforce.New(cc, salesforce.Options{Logger: log})
			if err != nil {
				return nil, fmt.Errorf("connector %s: %w", cc.Name, err)
			}
			w.connectors = append(w.connectors, &engine.Connector{Config: cc, Source: c, Fetcher: c, Writer: c, Tasks: c, Preflight: c, Stats: c.Stats})
			if cc.OrganizationID != "" {
				v, err := salesforce.NewOutboundVerifier(cc)
				if err != nil {
					return nil, fmt.Errorf("connector %s: %w", cc.Name, err)
				}
				w.webhooks = append(w.webhooks, webhook.Source{Connector: cc.Name, Kind: cc.Kind,
					Verifier: v, SubPath: true, Budget: webhook.NewBudget(cc.Webhook.MaxFetchesPerMinute),
					ContentTypes: []string{"text/xml", "application/soap+xml"},
					Ack: func(rw http.ResponseWriter) {
						rw.Header().Set("Content-Type", "text/xml; charset=utf-8")
						rw.Write(salesforce.AckResponse(true))
					}})
			}
		case config.KindHubSpot:
			c, err := hubspot.New(cc, hubspot.Options{Logger: log})
			if err != nil {
				return nil, fmt.Errorf("connector %s: %w", cc.Name, err)
			}
			w.hubspot[cc.Name] = c
			w.connectors = append(w.connectors, &engine.Connector{Config: cc, Source: c, Fetcher: c, Writer: c, Tasks: c, Preflight: c, Stats: c.Stats})
			if !cc.Webhook.ClientSecret.IsZero() {
				v, err := c.Verifier()
				if err != nil {
					return nil, fmt.Errorf("connector %s webhook: %w", cc.Name, err)
				}
				w.webhooks = append(w.webhooks, webhook.Source{Connector: cc.Name, Kind: cc.Kind, Verifier: v, ContentTypes: []string{"application/json"}})
			}
		case config.KindStripe:
			c, err := stripe.New(cc, stripe.Options{Logger: log})
			if err != nil {
				return nil, fmt.Errorf("connector %s: %w", cc.Name, err)
			}
			w.connectors = append(w.connectors, &engine.Connector{Config: cc, Source: c, Fetcher: c, Stats: c.Stats})
			if len(cc.Webhook.Secrets) > 0 {
				w.webhooks = append(w.webhooks, webhook.Source{Connector: cc.Name, Kind: cc.Kind, Verifier: stripe.NewVerifier(cc.Webhook), ContentTypes: []string{"application/json"}})
			}
		case config.KindChargebee:
			c, err := chargebee.New(cc, chargebee.Options{Logger: log})
			if err != nil {
				return nil, fmt.Errorf("connector %s: %w", cc.Name, err)
			}
			w.connectors = append(w.connectors, &engine.Connector{Config: cc, Source: c, Fetcher: c, Stats: c.Stats})
			if cc.Webhook.Username != "" {
				w.webhooks = append(w.webhooks, webhook.Source{Connector: cc.Name, Kind: cc.Kind, Verifier: chargebee.NewVerifier(cc.Webhook), ContentTypes: []string{"application/json"}})
			}
		default:
			return nil, fmt.Errorf("connector %s: unknown kind %q", cc.Name, cc.Kind)
		}
	}
	return w, nil
}

// withReadFields adds to a CRM connector's account object every field the
// engine reads: the write-back fields (to notice edits by people), CRM-field
// match rules, segment fields, the override field and field measures.
func withReadFields(cfg *config.Config, cc config.Connector) config.Connector {
	if cc.Kind != config.KindSalesforce && cc.Kind != config.KindHubSpot {
		return cc
	}
	m := cfg.WriteBack.Mapping(cc.Kind)
	var fields []string
	add := func(f string) {
		if f != "" && f != "owner" && f != "industry" && !slices.Contains(fields, f) {
			fields = append(fields, f)
		}
	}
	for _, k := range config.WriteBackKeys {
		add(m.Fields[k])
	}
	for _, r := range cfg.Matching.Rules {
		if r.Kind == config.MatchCRMField && (r.Connector == "" || r.Connector == cc.Name) {
			add(r.Field)
		}
	}
	for _, s := range cfg.Scoring.Segments {
		add(s)
	}
	add(cfg.Scoring.Health.OverrideField)
	for _, ms := range cfg.Scoring.Health.Measures {
		add(ms.Field)
	}
	objs := slices.Clone(cc.Objects)
	objs = append(objs, config.Object{Name: m.Object, Fields: fields})
	cc.Objects = objs
	return cc
}
