package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
)

// Signals sources (connectors whose Caps.Role is record.RoleSignals:
// Segment, SQL, Zendesk) feed usage signals, not records. A pulled batch's
// Signals, a webhook re-read's Signals and a push source's signals all go
// through storeSignals: each signal's account is resolved to the key the
// scorer reads (a CRM account, a billing customer or an "external" key),
// stored with AddSignals (before the batch's cursor is committed, so the
// cursor never passes a signal that was not stored), and the resolved
// accounts are the ones re-scored.

// SignalLinker is a signals source whose signals name its own records (a
// Zendesk organization, "zendesk/<id>"): LinkKeys gives the CRM account ID
// and the domains such a record is matched to a CRM account by; ok is false
// for a record it does not know.
type SignalLinker interface {
	LinkKeys(ref record.Ref) (accountID string, domains []string, ok bool)
}

// SystemDomain is the Ref.System of a signal that names its account by
// company domain ("domain/acme.com", Segment's account.by: domain): it is
// resolved to the one CRM account whose website or domain it is.
const SystemDomain = "domain"

// restorer is a Source that keeps derived state in its cursors (Zendesk's
// help desk); the engine hands it the stored cursors at start.
type restorer interface {
	Restore(cursors map[string][]byte) error
}

// restoreSources gives each restorer its stored cursors (from New).
func (e *Engine) restoreSources() error {
	for _, c := range e.conns {
		r, ok := c.Source.(restorer)
		if !ok {
			continue
		}
		cur, err := e.st.Cursors(c.Name())
		if err != nil {
			return err
		}
		if err := r.Restore(cur); err != nil {
			return fmt.Errorf("restoring %s: %w", c.Name(), err)
		}
	}
	return nil
}

// accountResolver maps the account refs of signals to the account keys
// the scorer reads. CRM accounts are read from the store once, when the
// first ref needs them; mu guards that load (byID and byDom are only read
// after it), so push requests share one resolver concurrently.
type accountResolver struct {
	e      *Engine
	direct map[string]bool // systems stored as they are; read-only

	mu     sync.Mutex
	loaded bool
	byID   map[string][]string // CRM account ID (and its 15-character form) -> keys
	byDom  map[string][]string // domain -> CRM account keys
}

func (e *Engine) newResolver() *accountResolver {
	r := &accountResolver{e: e, direct: map[string]bool{"external": true}}
	for _, c := range e.conns {
		if c.Caps.Role == record.RoleCRM || c.Caps.Role == record.RoleBilling {
			r.direct[c.Caps.System] = true
		}
	}
	return r
}

func (r *accountResolver) load() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.loaded {
		return nil
	}
	r.byID, r.byDom = map[string][]string{}, map[string][]string{}
	for _, c := range r.e.conns {
		if !c.IsCRM() {
			continue
		}
		as, err := r.e.st.Accounts(c.Name())
		if err != nil {
			return fmt.Errorf("reading accounts: %w", err)
		}
		for _, a := range as {
			if a.Deleted {
				continue
			}
			r.byID[a.ID] = appendUnique(r.byID[a.ID], a.Key())
			if len(a.ID) == 18 {
				r.byID[a.ID[:15]] = appendUnique(r.byID[a.ID[:15]], a.Key())
			}
			for _, d := range accountDomains(a) {
				r.byDom[d] = appendUnique(r.byDom[d], a.Key())
			}
		}
	}
	r.loaded = true
	return nil
}

// resolve returns the account key a signal of connector c names, or ""
// when no single account is known by it.
func (r *accountResolver) resolve(c *Connector, ref record.Ref) (string, error) {
	if r.direct[ref.System] {
		return ref.Key(), nil
	}
	var id string
	var domains []string
	switch l, ok := c.Source.(SignalLinker); {
	case ref.System == SystemDomain:
		domains = []string{ref.ID}
	case ok:
		var known bool
		if id, domains, known = l.LinkKeys(ref); !known {
			return "", nil
		}
	default:
		return "", nil
	}
	if err := r.load(); err != nil {
		return "", err
	}
	one := func(keys []string) string {
		if len(keys) == 1 {
			return keys[0]
		}
		return ""
	}
	if k := one(r.byID[strings.TrimSpace(id)]); id != "" && k != "" {
		return k, nil
	}
	for _, d := range domains {
		if k := one(r.byDom[Domain(d)]); k != "" {
			return k, nil
		}
	}
	return "", nil
}

// SignalCounts is what storing a set of signals did.
type SignalCounts struct {
	Stored int `json:"stored"`
	// Unresolved counts signals whose account is not (or not uniquely)
	// known: a Zendesk organization without a matching external_id or
	// domain, a Segment domain no CRM account has. They are not stored.
	Unresolved int `json:"unresolved,omitempty"`
	// RowsFailed counts the source rows refused alone (a SQL row with a
	// NULL or a non-numeric value); RowErrors are the first of them.
	RowsFailed int      `json:"rows_failed,omitempty"`
	RowErrors  []string `json:"row_errors,omitempty"`
}

// rowReporter is a signals source whose rows can fail alone (SQL):
// RowErrors gives the last pull's refused rows.
type rowReporter interface {
	RowErrors() (failed int, first []string)
}

// noteRowErrors puts a row-failing source's refused rows in the pull
// report and the run's errors.
func noteRowErrors(c *Connector, rep *PullReport, errs *firstErrors) {
	rr, ok := c.Source.(rowReporter)
	if !ok {
		return
	}
	n, first := rr.RowErrors()
	if n == 0 {
		return
	}
	if rep.Signals == nil {
		rep.Signals = &SignalCounts{}
	}
	rep.Signals.RowsFailed, rep.Signals.RowErrors = n, first
	for _, e := range first {
		errs.add(errors.New(e))
	}
}

// storeSignals resolves and stores sigs of connector c and returns the
// affected account keys, sorted.
func (e *Engine) storeSignals(c *Connector, r *accountResolver, sigs []record.Signal, n *SignalCounts) ([]string, error) {
	out := make([]record.Signal, 0, len(sigs))
	affected := map[string]bool{}
	for _, sg := range sigs {
		key, err := r.resolve(c, sg.Account)
		if err != nil {
			return nil, err
		}
		if key == "" {
			n.Unresolved++
			continue
		}
		sys, id, _ := strings.Cut(key, "/")
		sg.Account = record.Ref{System: sys, ID: id}
		out = append(out, sg)
		affected[key] = true
	}
	if len(out) > 0 {
		if _, err := e.st.AddSignals(out); err != nil {
			return nil, fmt.Errorf("storing signals: %w", err)
		}
	}
	n.Stored += len(out)
	keys := make([]string, 0, len(affected))
	for k := range affected {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys, nil
}

// pushResolverTTL is how long the push path reuses its account lookup
// before reading the CRM accounts again.
const pushResolverTTL = time.Minute

// pushResolver caches an accountResolver for the push path; mu guards the
// pointer and its time, never a store call.
type pushResolver struct {
	mu  sync.Mutex
	r   *accountResolver
	got time.Time
}

// IngestSignals stores the signals a push source (Segment) received
// through connector and returns one re-score event per affected account,
// for the webhook queue. Event IDs derive from requestID (a hash of the
// request), so a redelivered request is a duplicate there.
func (e *Engine) IngestSignals(connector, requestID string, sigs []record.Signal) ([]record.Event, SignalCounts, error) {
	var n SignalCounts
	c, ok := e.byName[connector]
	if !ok {
		return nil, n, fmt.Errorf("%w: %q", ErrUnknownConnector, connector)
	}
	now := e.now()
	e.push.mu.Lock()
	if e.push.r == nil || now.Sub(e.push.got) > pushResolverTTL {
		e.push.r, e.push.got = e.newResolver(), now
	}
	r := e.push.r
	e.push.mu.Unlock()
	keys, err := e.storeSignals(c, r, sigs, &n)
	if err != nil {
		return nil, n, err
	}
	events := make([]record.Event, 0, len(keys))
	for _, k := range keys {
		events = append(events, record.Event{System: c.Caps.System, ID: requestID + ":" + k, Type: "signals.received",
			ObjectType: "account", ObjectID: k, Occurred: now})
	}
	return events, n, nil
}

// RequestID is a short stable ID of a request body, for IngestSignals.
func RequestID(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:8])
}

// signalAccounts is affectedAccounts for a signals connector: a re-read
// object's signals (a Zendesk ticket's organization) are stored and their
// accounts re-scored; a push source's event names its account.
func (e *Engine) signalAccounts(c *Connector, ev record.Event, b *record.Batch) ([]string, error) {
	if b != nil && len(b.Signals) > 0 {
		var n SignalCounts
		return e.storeSignals(c, e.newResolver(), b.Signals, &n)
	}
	if ev.ObjectType == "account" && ev.ObjectID != "" {
		return []string{ev.ObjectID}, nil
	}
	return nil, nil
}

// signalsLast splits pull targets into the signals sources and the rest:
// a signals source resolves its accounts against the CRM accounts, so it
// is pulled once the CRMs' pulls are committed (Sync's first run would
// otherwise find no account to store its signals under).
func signalsLast(targets []*Connector) (others, signals []*Connector) {
	for _, c := range targets {
		if c.Caps.Role == record.RoleSignals {
			signals = append(signals, c)
		} else {
			others = append(others, c)
		}
	}
	return others, signals
}
