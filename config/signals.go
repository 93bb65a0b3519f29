package config

import "time"

// Signals is how product usage signals are kept.
type Signals struct {
	// Retention is how long signals are kept (default 400d). Scores read
	// at most the last 180 days, but `healthsync backtest` replays the score
	// on past dates and needs the signals of the year before each one: a
	// 12-month backtest wants 365 days plus the longest measure window.
	// Housekeeping deletes only signals older than this.
	Retention Duration `yaml:"retention" json:"retention"`
}

// DefaultSignalRetention is the default of signals.retention.
const DefaultSignalRetention = 400 * 24 * time.Hour

func (s *Signals) applyDefaults() { setDur(&s.Retention, DefaultSignalRetention) }

func (s Signals) validate(k *checker) {
	if s.Retention < Duration(24*time.Hour) {
		k.add("signals.retention", "must be at least 1d, not %s", s.Retention)
	}
}
