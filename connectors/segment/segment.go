// Package segment turns the calls Segment's Webhooks destination delivers
// (track, identify and group, one at a time or batched) into usage signals.
//
// Three steps, each its own type so the receiver can wire them with little
// code: a Verifier checks the X-Signature HMAC and parses the body into
// Calls; a Mapper applies group and identify calls as account links held in
// a State (which the store implements later; MemoryState serves tests and
// single-process use) and turns track calls into record.Signal values through
// the configured event table; distinct metrics (active users, features used)
// are counted per UTC window in the State, so a redelivered call changes
// nothing.
//
// Sources are Segment's documentation pages (twilio.com/docs/segment): the
// "Webhooks Destination" and "Webhooks (Actions) Destination" pages for the
// transport and signature, and the Spec pages ("Spec: Common Fields",
// "Spec: Track", "Spec: Identify", "Spec: Group", "HTTP API Source" for the
// batch shape). CONTRACT.md lists each rule with the test that pins it.
package segment

import (
	"fmt"
	"strings"
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/record"
)

// System is the record.Ref system of Segment-derived references.
const System = "segment"

// SystemDomain is the record.Ref system of an account named by its company
// domain (Account.By "domain"): the engine resolves it to the CRM account
// with that domain.
const SystemDomain = "domain"

// How a group is linked to an account (Config.Account.By).
const (
	ByTrait  = "trait"  // a group trait holds the CRM account ID
	ByDomain = "domain" // a group trait holds the company website or domain
)

// DefaultWindow is the length of a distinct-count window when a mapping sets
// none: one UTC day.
const DefaultWindow = 24 * time.Hour

// Config is the Segment connector's settings. It lives here until config/
// gains a `kind: segment` connector; the fields map one to one onto the YAML
// keys noted on each.
type Config struct {
	// Name is the connector's name (connectors[].name).
	Name string
	// SharedSecrets are the Webhooks destination's shared secret
	// (webhook.secrets): a request signed with any of them is accepted, so a
	// secret can be rotated without dropping calls.
	SharedSecrets []config.Secret
	// Account says how a group call names the account (account: {by, trait, system}).
	Account AccountRule
	// Events is the event table (events: [{event, metric, value, distinct_users,
	// distinct_property, window}]).
	Events []EventMetric
	// MaxCalls caps the calls of one request (max_calls; default 10,000).
	MaxCalls int
	// BodySignatureOnly refuses an array body signed over its first call
	// only (webhook.body_signature_only), Segment's way of signing batched
	// Webhooks (Actions) requests, which leaves the other calls unsigned.
	// Set it when batching is off in Segment.
	BodySignatureOnly bool
}

// AccountRule links a Segment group to an account.
type AccountRule struct {
	// By is ByTrait (default) or ByDomain.
	By string
	// Trait is the group trait read: the CRM ID (e.g. "salesforce_id") for
	// ByTrait; for ByDomain default "website", Segment's reserved group trait
	// ("Spec: Group" > Traits), reduced to its host without "www.".
	Trait string
	// System is the CRM the ID belongs to for ByTrait: record.Salesforce or
	// record.HubSpot.
	System string
}

// EventMetric maps one track event to a metric. With neither DistinctUsers
// nor DistinctProperty set, every call is one signal at its timestamp whose
// value is the number in properties[Value], or 1 when Value is "". With one
// of them set, the signal is the number of distinct users (or distinct
// values of properties[DistinctProperty]) of the account in the Window that
// holds the call, stamped with the window's start.
type EventMetric struct {
	// Event is the track event name, e.g. "Logged In"; "*" matches every
	// track call (its mapping does not make an event "mapped").
	Event  string
	Metric string
	// Value names the property holding the value (numbers or numeric
	// strings); "" counts 1 per call.
	Value string
	// DistinctUsers counts distinct userIds per window (active_users).
	DistinctUsers bool
	// DistinctProperty counts distinct values of that property per window,
	// e.g. "feature" for features_used.
	DistinctProperty string
	// Window is the distinct-count window (default DefaultWindow); windows
	// start at multiples of Window since the Unix epoch, UTC.
	Window time.Duration
}

// Validate reports every problem of c at once, one per line, as
// "key.path: message" (config/ adds FILE:LINE:COL when it takes this over).
func (c *Config) Validate() error {
	var p []string
	if len(c.SharedSecrets) == 0 {
		p = append(p, "webhook.secrets: at least one shared secret is required (Segment signs with it)")
	}
	for i, s := range c.SharedSecrets {
		if s.IsZero() {
			p = append(p, fmt.Sprintf("webhook.secrets[%d]: empty", i))
		}
	}
	switch c.Account.By {
	case "", ByTrait:
		if c.Account.Trait == "" {
			p = append(p, "account.trait: required with by: trait (the group trait holding the CRM account ID)")
		}
		if c.Account.System != record.Salesforce && c.Account.System != record.HubSpot {
			p = append(p, fmt.Sprintf("account.system: %q, want salesforce or hubspot", c.Account.System))
		}
	case ByDomain:
	default:
		p = append(p, fmt.Sprintf("account.by: %q, want trait or domain", c.Account.By))
	}
	if len(c.Events) == 0 {
		p = append(p, "events: at least one event mapping is required")
	}
	seen := map[[2]string]bool{}
	for i, e := range c.Events {
		at := fmt.Sprintf("events[%d]", i)
		if e.Event == "" {
			p = append(p, at+".event: required")
		}
		if e.Metric == "" {
			p = append(p, at+".metric: required")
		}
		n := 0
		for _, set := range []bool{e.Value != "", e.DistinctUsers, e.DistinctProperty != ""} {
			if set {
				n++
			}
		}
		if n > 1 {
			p = append(p, at+": value, distinct_users and distinct_property are exclusive")
		}
		if e.Window < 0 || (e.Window > 0 && n == 0) || (e.Window > 0 && e.Value != "") {
			p = append(p, at+".window: only for distinct_users or distinct_property, and positive")
		}
		k := [2]string{e.Event, e.Metric}
		if seen[k] {
			p = append(p, fmt.Sprintf("%s: event %q already maps to metric %q", at, e.Event, e.Metric))
		}
		seen[k] = true
	}
	if c.MaxCalls < 0 {
		p = append(p, "max_calls: must be positive")
	}
	if len(p) > 0 {
		return fmt.Errorf("segment connector %q:\n%s", c.Name, strings.Join(p, "\n"))
	}
	return nil
}
