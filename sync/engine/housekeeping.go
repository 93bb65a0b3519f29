package engine

import (
	"fmt"
	"time"
)

// Housekeeping bounds the store's growth: it keeps the last 2,000 runs,
// drops usage signals older than signals.retention (default 400 days: a
// year of backtest needs a year of signals before each date) and forgets
// expired webhook dedupe IDs. The daemon runs it after each
// reconcile at most once a day.
func (e *Engine) Housekeeping(now time.Time) error {
	if last, err := e.st.MetaTime("engine/housekeeping"); err == nil && now.Sub(last) < 24*time.Hour {
		return nil
	}
	if _, err := e.st.PruneRuns(2000); err != nil {
		return fmt.Errorf("pruning runs: %w", err)
	}
	if _, err := e.st.PruneSignals(now.Add(-e.cfg.Signals.Retention.D())); err != nil {
		return fmt.Errorf("pruning signals: %w", err)
	}
	if _, err := e.st.SweepDedupe(now); err != nil {
		return fmt.Errorf("sweeping webhook dedupe IDs: %w", err)
	}
	if err := e.st.SetMetaTime("engine/housekeeping", now); err != nil {
		return fmt.Errorf("recording housekeeping: %w", err)
	}
	return nil
}
