package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"iter"
	"net/http"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/connectors/segment"
	"github.com/healthsync/healthsync/connectors/sqlsource"
	"github.com/healthsync/healthsync/connectors/zendesk"
	"github.com/healthsync/healthsync/sync/engine"
	"github.com/healthsync/healthsync/sync/store"
	"github.com/healthsync/healthsync/sync/webhook"
)

// The three signals sources (issue 17): Zendesk (pulled, and re-read on its
// webhook), SQL (pulled) and Segment (pushed to /webhooks/segment).
var (
	_ engine.Source       = (*zendesk.Source)(nil)
	_ engine.Fetcher      = (*zendesk.Source)(nil)
	_ engine.SignalLinker = (*zendesk.Source)(nil)
	_ webhook.Verifier    = (*zendesk.Verifier)(nil)
	_ engine.Source       = (*sqlsource.Client)(nil)
	_ webhook.Verifier    = (*segmentHook)(nil)
	_ segment.State       = (*segment.MetaState)(nil)
)

func buildZendesk(cc config.Connector, log zerolog.Logger) (*engine.Connector, *webhook.Source, error) {
	zc, err := zendesk.FromConnector(cc)
	if err != nil {
		return nil, nil, err
	}
	c, err := zendesk.New(zc, zendesk.Options{Logger: log})
	if err != nil {
		return nil, nil, err
	}
	src := zendesk.NewSource(c)
	conn := &engine.Connector{Source: src, Fetcher: src, Stats: c.Stats}
	if len(cc.Webhook.Secrets) == 0 {
		return conn, nil, nil
	}
	return conn, &webhook.Source{Verifier: zendesk.NewVerifier(cc.Webhook), ContentTypes: []string{"application/json"}}, nil
}

func buildSQL(cc config.Connector, log zerolog.Logger) (*engine.Connector, *webhook.Source, error) {
	c, err := sqlsource.New(sqlsource.FromConnector(cc), sqlsource.Options{Logger: log})
	if err != nil {
		return nil, nil, err
	}
	return &engine.Connector{Source: c}, nil, nil
}

// buildSegment makes the push receiver; its pull yields nothing. The
// receiver needs the store and the engine, which exist after wiring: bind
// hands them over.
func buildSegment(cc config.Connector, log zerolog.Logger) (*engine.Connector, *webhook.Source, error) {
	cfg := segment.FromConnector(cc)
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	h := &segmentHook{name: cc.Name, cfg: cfg, verifier: segment.NewVerifier(cfg), log: log.With().Str("connector", cc.Name).Logger()}
	return &engine.Connector{Source: noPull{}}, &webhook.Source{Verifier: h, ContentTypes: []string{"application/json"}}, nil
}

// noPull is the Source of a push-only connector.
type noPull struct{}

func (noPull) Pull(context.Context, record.PullRequest) iter.Seq2[*record.Batch, error] {
	return func(func(*record.Batch, error) bool) {}
}

// binder is a webhook verifier that needs the open store and the engine.
type binder interface {
	bind(st store.Store, eng *engine.Engine) error
}

// bind gives the receivers that need them the store and the engine; it
// is called once both are open, before the daemon serves.
func (w *wired) bind(st store.Store, eng *engine.Engine) error {
	for _, s := range w.webhooks {
		if b, ok := s.Verifier.(binder); ok {
			if err := b.bind(st, eng); err != nil {
				return err
			}
		}
	}
	return nil
}

// segmentHook receives Segment's Webhooks destination: it verifies the
// X-Signature, maps the calls through the store-kept State (links and
// distinct sets), has the engine resolve and store the signals, and returns
// one re-score event per account for the queue. Nothing is stored for a
// request that fails verification. mapper and eng are set once by bind
// (guarded by mu).
type segmentHook struct {
	name     string
	cfg      segment.Config
	verifier *segment.Verifier
	log      zerolog.Logger

	mu     sync.RWMutex
	mapper *segment.Mapper
	eng    *engine.Engine
}

func (h *segmentHook) bind(st store.Store, eng *engine.Engine) error {
	m, err := segment.NewMapper(h.cfg, segment.NewMetaState(st, h.name))
	if err != nil {
		return err
	}
	h.mu.Lock()
	h.mapper, h.eng = m, eng
	h.mu.Unlock()
	return nil
}

// Verify implements webhook.Verifier.
func (h *segmentHook) Verify(r *http.Request, body []byte, now time.Time) ([]record.Event, error) {
	calls, err := h.verifier.Verify(r, body, now)
	if err != nil {
		return nil, err
	}
	h.mu.RLock()
	m, eng := h.mapper, h.eng
	h.mu.RUnlock()
	if m == nil {
		return nil, fmt.Errorf("segment receiver %s: not bound to a store: %w", h.name, webhook.ErrUnavailable)
	}
	res, err := m.Map(calls)
	if err != nil {
		return nil, fmt.Errorf("mapping segment calls: %w: %w", webhook.ErrUnavailable, err)
	}
	events, n, err := eng.IngestSignals(h.name, engine.RequestID(body), res.Signals)
	if err != nil {
		return nil, fmt.Errorf("storing segment signals: %w: %w", webhook.ErrUnavailable, err)
	}
	if len(res.Unmapped) > 0 || res.Unresolved+res.Unlinked+res.BadValues+n.Unresolved > 0 {
		h.log.Warn().Interface("unmapped", res.Unmapped).Int("unresolved", res.Unresolved+n.Unresolved).Int("unlinked", res.Unlinked).
			Int("bad_values", res.BadValues).Msg("segment calls not stored")
	}
	return events, nil
}

// ptr is &v, for the wire table's config rows.
func ptr[T any](v T) *T { return &v }

// segmentSignature is X-Signature as Segment computes it (docs "Webhooks
// Destination" > Authentication): the hex HMAC-SHA1 of the body under the
// shared secret. The demo and the load test sign with it.
func segmentSignature(secret string, body []byte) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// firstPager is a Source whose first batch comes only after a whole export
// (Zendesk's help desk): `check` reads its first page this way instead.
type firstPager interface {
	FirstPage(ctx context.Context) (records int, err error)
}
