package main

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/rs/zerolog"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/chargebee"
	"github.com/healthsync/healthsync/connectors/hubspot"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/connectors/salesforce"
	"github.com/healthsync/healthsync/connectors/segment"
	"github.com/healthsync/healthsync/connectors/sqlsource"
	"github.com/healthsync/healthsync/connectors/stripe"
	"github.com/healthsync/healthsync/connectors/zendesk"
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
	_ webhook.Verifier   = (*salesforce.Verifier)(nil)

	_ engine.Source      = (*hubspot.Client)(nil)
	_ engine.Fetcher     = (*hubspot.Client)(nil)
	_ engine.Writer      = (*hubspot.Client)(nil)
	_ engine.TaskWriter  = (*hubspot.Client)(nil)
	_ engine.Preflighter = (*hubspot.Client)(nil)
	_ webhook.Verifier   = (*hubspot.Verifier)(nil)

	_ engine.Source    = (*stripe.Client)(nil)
	_ engine.Fetcher   = (*stripe.Client)(nil)
	_ webhook.Verifier = (*stripe.Verifier)(nil)

	_ engine.Source    = (*chargebee.Client)(nil)
	_ engine.Fetcher   = (*chargebee.Client)(nil)
	_ webhook.Verifier = (*chargebee.Verifier)(nil)
)

// wired is every connector built from the configuration.
type wired struct {
	connectors []*engine.Connector
	webhooks   []webhook.Source
	hubspot    map[string]*hubspot.Client
	// systems are the record systems of every known kind, and "external":
	// what a usage signal's account key may name.
	systems []string
}

// connectorKind is one row of the wire table: what a connector kind does
// (declared by its vendor package), its configuration defaults and checks
// (for a kind whose settings config does not hold), and how to build it.
type connectorKind struct {
	name string
	caps record.Capabilities
	// config, when set, is registered with config at start (RegisterKind);
	// the four built-in kinds are in config's table already.
	config *config.Kind
	// build makes the connector's client; hook, when not nil, is its
	// webhook source (Connector and Kind are filled in by wire).
	build func(cc config.Connector, log zerolog.Logger) (c *engine.Connector, hook *webhook.Source, err error)
}

// connectorKinds is the one table that maps a config connector kind to its
// vendor package. A new connector is its own folder plus one row here.
func connectorKinds() []connectorKind {
	return []connectorKind{
		{name: config.KindSalesforce, caps: salesforce.Capabilities(), build: buildSalesforce},
		{name: config.KindHubSpot, caps: hubspot.Capabilities(), build: buildHubSpot},
		{name: config.KindStripe, caps: stripe.Capabilities(), build: buildStripe},
		{name: config.KindChargebee, caps: chargebee.Capabilities(), build: buildChargebee},
		{name: zendesk.Kind, caps: zendesk.Capabilities(), config: ptr(zendesk.ConfigKind()), build: buildZendesk},
		{name: sqlsource.Kind, caps: sqlsource.Capabilities(), config: ptr(sqlsource.ConfigKind()), build: buildSQL},
		{name: segment.Kind, caps: segment.Capabilities(), config: ptr(segment.ConfigKind()), build: buildSegment},
	}
}

func init() {
	registerKinds(connectorKinds())
}

// registerKinds gives config the checks and defaults of the kinds whose
// settings it does not hold itself.
func registerKinds(kinds []connectorKind) {
	for _, k := range kinds {
		if k.config != nil {
			config.RegisterKind(k.name, *k.config)
		}
	}
}

// wire builds every configured connector through the wire table.
func wire(cfg *config.Config, log zerolog.Logger) (*wired, error) {
	return wireKinds(cfg, log, connectorKinds())
}

// wireKinds is wire with a given table.
func wireKinds(cfg *config.Config, log zerolog.Logger, kinds []connectorKind) (*wired, error) {
	w := &wired{hubspot: map[string]*hubspot.Client{}}
	byName := map[string]connectorKind{}
	for _, k := range kinds {
		byName[k.name] = k
		if k.caps.Role != record.RoleSignals {
			w.systems = append(w.systems, k.caps.System)
		}
	}
	w.systems = append(w.systems, "external")
	// Each vendor client and its httpclient add the connector's name to
	// their log lines themselves: adding it here too wrote the "connector"
	// key twice on every line.
	for _, cc := range cfg.Connectors {
		k, ok := byName[cc.Kind]
		if !ok {
			return nil, fmt.Errorf("connector %s: unknown kind %q", cc.Name, cc.Kind)
		}
		if k.caps.IsCRM() {
			cc = withReadFields(cfg, cc)
		}
		c, hook, err := k.build(cc, log)
		if err != nil {
			return nil, fmt.Errorf("connector %s: %w", cc.Name, err)
		}
		c.Config, c.Caps = cc, k.caps
		w.connectors = append(w.connectors, c)
		if hc, ok := c.Source.(*hubspot.Client); ok {
			w.hubspot[cc.Name] = hc
		}
		if hook != nil {
			hook.Connector, hook.Kind = cc.Name, cc.Kind
			w.webhooks = append(w.webhooks, *hook)
		}
	}
	return w, nil
}

func buildSalesforce(cc config.Connector, log zerolog.Logger) (*engine.Connector, *webhook.Source, error) {
	c, err := salesforce.New(cc, salesforce.Options{Logger: log})
	if err != nil {
		return nil, nil, err
	}
	conn := &engine.Connector{Source: c, Fetcher: c, Writer: c, Tasks: c, Preflight: c, Stats: c.Stats}
	if cc.OrganizationID == "" {
		return conn, nil, nil
	}
	v, err := salesforce.NewOutboundVerifier(cc)
	if err != nil {
		return nil, nil, err
	}
	return conn, &webhook.Source{
		Verifier: v, SubPath: true, Budget: webhook.NewBudget(cc.Webhook.MaxFetchesPerMinute),
		ContentTypes: []string{"text/xml", "application/soap+xml"},
		Ack: func(rw http.ResponseWriter) {
			rw.Header().Set("Content-Type", "text/xml; charset=utf-8")
			rw.Write(salesforce.AckResponse(true))
		}}, nil
}

func buildHubSpot(cc config.Connector, log zerolog.Logger) (*engine.Connector, *webhook.Source, error) {
	c, err := hubspot.New(cc, hubspot.Options{Logger: log})
	if err != nil {
		return nil, nil, err
	}
	conn := &engine.Connector{Source: c, Fetcher: c, Writer: c, Tasks: c, Preflight: c, Stats: c.Stats}
	if cc.Webhook.ClientSecret.IsZero() {
		return conn, nil, nil
	}
	v, err := c.Verifier()
	if err != nil {
		return nil, nil, fmt.Errorf("webhook: %w", err)
	}
	return conn, &webhook.Source{Verifier: v, ContentTypes: []string{"application/json"}}, nil
}

func buildStripe(cc config.Connector, log zerolog.Logger) (*engine.Connector, *webhook.Source, error) {
	c, err := stripe.New(cc, stripe.Options{Logger: log})
	if err != nil {
		return nil, nil, err
	}
	conn := &engine.Connector{Source: c, Fetcher: c, Stats: c.Stats}
	if len(cc.Webhook.Secrets) == 0 {
		return conn, nil, nil
	}
	return conn, &webhook.Source{Verifier: stripe.NewVerifier(cc.Webhook), ContentTypes: []string{"application/json"}}, nil
}

func buildChargebee(cc config.Connector, log zerolog.Logger) (*engine.Connector, *webhook.Source, error) {
	c, err := chargebee.New(cc, chargebee.Options{Logger: log})
	if err != nil {
		return nil, nil, err
	}
	conn := &engine.Connector{Source: c, Fetcher: c, Stats: c.Stats}
	if cc.Webhook.Username == "" {
		return conn, nil, nil
	}
	return conn, &webhook.Source{Verifier: chargebee.NewVerifier(cc.Webhook), ContentTypes: []string{"application/json"}}, nil
}

// withReadFields adds to a CRM connector's account object every field the
// engine reads: the write-back fields (to notice edits by people), CRM-field
// match rules, segment fields, the override field and field measures.
func withReadFields(cfg *config.Config, cc config.Connector) config.Connector {
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
