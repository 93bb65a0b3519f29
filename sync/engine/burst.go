package engine

import (
	"context"

	"github.com/healthsync/healthsync/sync/store"
)

// A burst of webhook events becomes a pull (issue 14: "when one billing
// connector has more queued events than a threshold, the workers run that
// connector's incremental pull"). The threshold is compared with the
// connector's whole queue (store.QueueDepthOf: claimed, covered and waiting
// events alike), not with one claimed batch, so a burst of 1,000 events
// claimed by four workers in batches of 50 still switches, and
// webhooks.pull_threshold need not stay below webhooks.batch_size.
//
// One pull covers every event of the connector queued before it started
// (pullBursts, burstPulled): the workers that claim those events later read
// their objects from the store and fetch nothing, and their accounts are
// re-scored and written as any batch's. While a burst keeps arriving, a
// batch holding events queued after the last pull started runs another
// (incremental, so it reads only the changes since that pull) as long as
// the queue stays above the threshold.
//
// burstMu serialises the decision and the pull: workers that find the same
// burst at once wait for the first one's pull, then find their events
// covered by it instead of pulling again. It is taken before a pullMu (in
// Pull) and never while holding mu or wmu.

// pullBurst runs connector name's incremental pull when its queue holds
// more events than webhooks.pull_threshold (0 never pulls) and evs holds
// events of it no completed pull covers. It reports whether evs's events
// of name are covered by a completed pull when it returns; false leaves
// them to be fetched one by one.
func (e *Engine) pullBurst(ctx context.Context, name string, evs []store.QueuedEvent) bool {
	threshold := e.cfg.Webhooks.PullThreshold
	if threshold <= 0 {
		return false
	}
	queued, err := e.st.QueueDepthOf(name)
	if err != nil {
		e.log.Warn().Err(err).Str("connector", name).Msg("reading queue depth, fetching each object")
		return false
	}
	if queued <= threshold {
		return false
	}
	e.burstMu.Lock()
	defer e.burstMu.Unlock()
	if e.coveredByPull(name, evs) {
		return true // another worker's pull, run while this one waited
	}
	start := e.now()
	rep, err := e.Pull(ctx, name, false)
	if err != nil || !rep.Complete {
		e.log.Warn().Err(err).Str("connector", name).Int("queued", queued).Msg("burst pull incomplete, fetching each object")
		return false
	}
	e.log.Info().Str("connector", name).Int("queued", queued).Int64("calls", rep.API.Calls).Msg("event burst served by an incremental pull")
	e.setPulledAt(name, start)
	return true
}

// coveredByPull reports whether every event of connector name in evs was
// queued before the last completed burst pull of name started.
func (e *Engine) coveredByPull(name string, evs []store.QueuedEvent) bool {
	at := e.pulledAt(name)
	for _, ev := range evs {
		if ev.Connector == name && !ev.Enqueued.Before(at) {
			return false
		}
	}
	return true
}
