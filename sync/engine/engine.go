package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/httpclient"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/scoring"
	"github.com/healthsync/healthsync/sync/store"
)

// Connector is one configured vendor connection as the engine sees it: the
// functions and the capabilities the vendor package supplies. CRM
// connectors have a Writer.
type Connector struct {
	Config config.Connector
	// Caps is what the connector's kind does (role, write batch, metadata
	// key prefixes, payment-failure events), from its vendor package.
	Caps      record.Capabilities
	Source    Source
	Fetcher   Fetcher     // nil: events for it trigger a pull instead
	Writer    Writer      // CRM only
	Tasks     TaskWriter  // CRM only
	Preflight Preflighter // CRM only, optional
	// Stats reads the connector's HTTP counters.
	Stats func() httpclient.Stats
}

// Name is the connector's configured name.
func (c *Connector) Name() string { return c.Config.Name }

// IsCRM reports whether the connector is a CRM (accounts, write-back).
func (c *Connector) IsCRM() bool { return c.Caps.IsCRM() }

func (c *Connector) stats() httpclient.Stats {
	if c.Stats == nil {
		return httpclient.Stats{}
	}
	return c.Stats()
}

// observer is a Source whose record versions are ordered by when they were
// observed (Stripe objects carry no updated time); ObserveAfter makes its
// later observation times strictly after t.
type observer interface {
	ObserveAfter(t time.Time)
}

// Publisher receives the engine's outbound notification events
// (band_changed, payment_failed, ...); the notify package implements it.
type Publisher interface {
	Publish(events []Notice) error
}

// Notice is an outbound event about one account.
type Notice struct {
	Type    string         `json:"type"`
	Account string         `json:"account"` // account key
	Name    string         `json:"name"`
	Time    time.Time      `json:"time"`
	Data    map[string]any `json:"data"`
}

// Options configure an Engine.
type Options struct {
	Config     *config.Config
	Store      store.Store
	Connectors []*Connector
	Publisher  Publisher // optional
	Logger     zerolog.Logger
	Now        func() time.Time
}

// Engine runs pulls, reconciles and write-back.
//
// # Concurrency
//
// One Engine serves several goroutines at once: the scheduler's passes
// (Sync, Pull), the webhook workers (ProcessBatch, Process) and the daemon's API and CLI
// commands (Report, Explain, PlanOnly, Apply, Histories). The contract:
//
//   - No vendor network call is made while holding the state lock mu.
//     Under mu the engine reads and writes the local store only.
//   - A public entry point takes mu at most once, in one function, with
//     defer. The functions that need mu held are unexported and named
//     ...Locked (reconcileFullLocked, makePlanLocked, enqueueLocked, ...).
//   - A goroutine holds at most one of mu, wmu and a pullMu at a time;
//     pullsMu, dmu and recordIndex.tasksMu are leaves: nothing else is
//     taken while holding them.
//
// Which lock guards what:
//
//   - mu, the state lock: unusable, the record index (swapping idxp and the
//     maps it points to, task times aside), and each stage step
//     reconcile -> plan -> enqueue, which must not interleave with another
//     against the store's links, scores and pending writes.
//   - wmu, the writer lock: one CRM write batch or one connector's task
//     creation at a time. It is held across the vendor call on purpose:
//     exactly-once task creation checks the store, creates (reading back by
//     marker inside CreateTasks after an unknown outcome) and records under
//     it, so two passes never create the same task. It guards no engine
//     field.
//   - pullMu[name]: one pull of a connector at a time (network I/O under
//     it; a writer lock for that connector's records and cursors).
//     pullsMu guards the pullMu and burstPulled maps.
//   - recordIndex.tasksMu: the index's task times, written by the write
//     pass (under wmu) and read by reconcile (under mu), and its open CRM
//     tasks, written by pulls (under a pullMu) and read by plans.
//   - dmu: the dirty set (dirty.go), marked by pulls (under a pullMu) and
//     consumed by a sync (its reconcile under mu, its completion after
//     the write pass).
//   - idxp is atomic because the write pass loads it without mu to record
//     task times; it is stored only under mu.
//
// Write passes run outside mu and may overlap (a sync's and a webhook's,
// or two webhooks' for one account fed by two billing customers). Each
// drains the pending writes it found due before taking wmu, so both may
// send the same values: idempotent field updates costing a call, counted
// as written by each. Tasks stay exactly-once: createTaskBatch re-checks
// the store under wmu.
//
// Fields set by New and never written after (cfg, st, conns, byName, pub,
// log, now, rules, score, hooks) are read by any goroutine without a lock.
type Engine struct {
	cfg    *config.Config
	st     store.Store
	conns  []*Connector
	byName map[string]*Connector
	pub    Publisher
	log    zerolog.Logger
	now    func() time.Time
	rules  *scoring.CompiledRules
	score  scoring.Settings
	// idxp locates one account's records for targeted re-scores (see the
	// contract above and recordIndex).
	idxp atomic.Pointer[recordIndex]
	// chunk is the accounts a full reconcile scores per chunk (0:
	// defaultChunk, chunks.go); tests set it.
	chunk int

	// mu is the state lock (see the contract above).
	mu sync.Mutex
	// wmu is the CRM writer lock (see the contract above).
	wmu sync.Mutex
	// pullMu holds one lock per connector, serialising its pulls; pulls of
	// different connectors run concurrently. Guarded by pullsMu.
	pullMu  map[string]*sync.Mutex
	pullsMu sync.Mutex
	// burstPulled is, per billing connector, the start of the last
	// complete pull a burst of webhook events ran (events queued before
	// it are covered; see pullBursts). Guarded by pullsMu.
	burstPulled map[string]time.Time
	// burstMu serialises burst pulls (burst.go).
	burstMu sync.Mutex
	// unusable holds the mapped CRM fields the last preflight found
	// missing or read-only, by connector: plans leave them out (guarded by
	// mu; the check itself is network I/O and runs before mu is taken).
	unusable unusableFields
	// dmu guards dirty and dirtyChanged: the dirty set pulls mark and a
	// sync's reconcile consumes (dirty.go). A leaf: nothing else is taken
	// while holding it.
	dmu          sync.Mutex
	dirty        *dirtyState
	dirtyChanged bool

	// push is the push path's cached account lookup (signals_source.go).
	push pushResolver

	// hooks stop a pass at an exact point, as a crash would (tests only;
	// set before the engine is used, read without a lock).
	hooks testHooks
}

// testHooks are the crash points tests set through export_test.go. A hook
// that returns an error ends the step there, leaving the store as a killed
// process would.
type testHooks struct {
	// afterCRMWrite runs after the CRM accepted a record batch, before it
	// is recorded.
	afterCRMWrite func(connector string) error
	// afterTaskCreate runs after the CRM created tasks, before they are
	// recorded.
	afterTaskCreate func(connector string) error
}

// New builds an Engine. Task rules are compiled here (config validation
// already type-checked them).
func New(o Options) (*Engine, error) {
	if o.Config == nil || o.Store == nil {
		return nil, errors.New("engine: config and store are required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	e := &Engine{cfg: o.Config, st: o.Store, conns: o.Connectors, byName: map[string]*Connector{},
		pub: o.Publisher, log: o.Logger, now: o.Now, pullMu: map[string]*sync.Mutex{}}
	for _, c := range o.Connectors {
		if _, dup := e.byName[c.Name()]; dup {
			return nil, fmt.Errorf("engine: connector %q configured twice", c.Name())
		}
		e.byName[c.Name()] = c
	}
	e.score = o.Config.Scoring
	e.score.ApplyDefaults()
	e.score.Location = o.Config.Reporting.Location()
	rules, err := scoring.CompileRules(o.Config.Tasks)
	if err != nil {
		return nil, fmt.Errorf("engine: compiling task rules: %w", err)
	}
	e.rules = rules
	// A source ordering versions by observation time continues after the
	// newest version stored, so a new process's reads win over the last
	// process's, within the same second too.
	for _, c := range o.Connectors {
		ob, ok := c.Source.(observer)
		if !ok {
			continue
		}
		newest, err := o.Store.NewestModified(c.Name())
		if err != nil {
			return nil, fmt.Errorf("engine: %w", err)
		}
		ob.ObserveAfter(newest)
	}
	if err := e.restoreSources(); err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	// A run still open in the store belongs to a process that stopped
	// before it ended (one process per store file).
	if n, err := o.Store.InterruptRuns(); err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	} else if n > 0 {
		o.Logger.Warn().Int("runs", n).Msg("runs of a stopped process marked interrupted")
	}
	return e, nil
}

// Connectors returns the configured connectors.
func (e *Engine) Connectors() []*Connector { return e.conns }

// Connector returns the connector called name.
func (e *Engine) Connector(name string) (*Connector, bool) {
	c, ok := e.byName[name]
	return c, ok
}

// ErrUnknownConnector is returned for a --connector name not configured.
var ErrUnknownConnector = errors.New("no connector of that name")

// lockPull takes the pull lock of the connector called name and returns
// its unlock.
func (e *Engine) lockPull(name string) func() {
	m := e.pullLock(name)
	m.Lock()
	return m.Unlock
}

// pullLock returns the pull lock of the connector called name, made on
// first use.
func (e *Engine) pullLock(name string) *sync.Mutex {
	e.pullsMu.Lock()
	defer e.pullsMu.Unlock()
	m := e.pullMu[name]
	if m == nil {
		m = &sync.Mutex{}
		e.pullMu[name] = m
	}
	return m
}

func newRunID(now time.Time, kind, connector string) string {
	id := now.UTC().Format("20060102T150405.000Z") + "-" + kind
	if connector != "" {
		id += "-" + connector
	}
	return strings.ReplaceAll(id, ".", "")
}

// firstErrors keeps at most 5 error strings.
type firstErrors []string

func (f *firstErrors) add(err error) {
	if err != nil && len(*f) < 5 {
		*f = append(*f, err.Error())
	}
}

func (e *Engine) putRun(r store.Run) {
	if err := e.st.PutRun(r); err != nil {
		e.log.Error().Err(err).Str("run", r.ID).Msg("recording run failed")
	}
}

// waitCtx reports ctx's error, wrapped with the step.
func waitCtx(ctx context.Context, step string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", step, err)
	}
	return nil
}

// index is the current record index (nil before the first full reconcile).
func (e *Engine) index() *recordIndex { return e.idxp.Load() }

// Location is the business's time zone (reporting.timezone): months, as-of
// days and task due dates are read in it.
func (e *Engine) Location() *time.Location {
	if e.score.Location == nil {
		return time.UTC
	}
	return e.score.Location
}
