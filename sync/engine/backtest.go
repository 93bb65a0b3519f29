package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/healthsync/healthsync/scoring"
	"github.com/healthsync/healthsync/scoring/backtest"
	"github.com/healthsync/healthsync/sync/report"
)

// History is one CRM account's full history as the store holds it: the
// scoring input with every retained signal and invoice, and the scores
// healthsync wrote.
type History struct {
	Input  scoring.AccountInput
	Scores []backtest.Snapshot
}

// Histories matches and gathers every CRM account's history for a
// backtest: signals since signalsSince, all invoices and subscriptions,
// deals, the months the store recorded, and the score history since
// scoresSince. It reads the store only.
func (e *Engine) Histories(ctx context.Context, asOf, signalsSince, scoresSince time.Time) ([]History, error) {
	rec, err := e.reconcileFull(ctx, asOf)
	if err != nil {
		return nil, fmt.Errorf("reconciling: %w", err)
	}
	w, err := e.load(asOf)
	if err != nil {
		return nil, fmt.Errorf("reading the store: %w", err)
	}
	if w.signals, err = e.st.AllSignals(signalsSince); err != nil {
		return nil, fmt.Errorf("reading signals: %w", err)
	}
	out := make([]History, 0, len(rec.Accounts))
	for i, s := range rec.Accounts {
		if err := waitCtx(ctx, "gathering histories"); err != nil {
			return nil, err
		}
		if i%e.chunkSize() == 0 { // the next chunk's records
			if err := e.readRecords(w, rec.Accounts[i:min(i+e.chunkSize(), len(rec.Accounts))]); err != nil {
				return nil, err
			}
		}
		key := s.Account.Key()
		in := scoring.AccountInput{Account: s.Account, Deals: w.deals[key], Currency: e.cfg.Reporting.Currency,
			FX: e.cfg.Reporting.FX, Signals: w.signals[key]}
		for _, ck := range s.Customers {
			in.Subscriptions = append(in.Subscriptions, w.subs[ck]...)
			in.Invoices = append(in.Invoices, w.invoices[ck]...)
			in.Signals = append(in.Signals, w.signals[ck]...)
		}
		if s.Previous != nil {
			d, err := decodeDetail(s.Previous.Detail)
			if err != nil {
				return nil, fmt.Errorf("reading the score snapshot of %s: %w", key, err)
			}
			in.Recorded = recordedMonths(d.Months, scoring.MonthIn(asOf, e.score.Location))
		}
		h := History{Input: in}
		snaps, err := e.st.ScoreHistory(key, scoresSince)
		if err != nil {
			return nil, fmt.Errorf("reading score history: %w", err)
		}
		for _, sn := range snaps {
			h.Scores = append(h.Scores, backtest.Snapshot{At: sn.At, Score: sn.Score, MRR: sn.MRR, Reasons: sn.Reasons})
		}
		out = append(out, h)
	}
	return out, nil
}

// backtestMetaKey is where `healthsync backtest` keeps its latest result
// for the report's KPI table and backtest section.
const backtestMetaKey = "backtest/last"

// SaveBacktest keeps a backtest result for the report.
func (e *Engine) SaveBacktest(r *backtest.Result) error {
	js, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("saving the backtest: %w", err)
	}
	if err := e.st.SetMeta(backtestMetaKey, js); err != nil {
		return fmt.Errorf("saving the backtest: %w", err)
	}
	return nil
}

// LastBacktest returns the latest saved backtest (nil when none ran).
func (e *Engine) LastBacktest() (*backtest.Result, error) {
	js, err := e.st.Meta(backtestMetaKey)
	if err == nil && js == nil {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the backtest: %w", err)
	}
	var r backtest.Result
	if err := json.Unmarshal(js, &r); err != nil {
		return nil, fmt.Errorf("reading the backtest: %w", err)
	}
	return &r, nil
}

// attachBacktest adds the latest backtest to the report: its section and
// the churn_signal_detection KPI with its source and period.
func (e *Engine) attachBacktest(r *report.Report) {
	bt, err := e.LastBacktest()
	if err != nil || bt == nil {
		return
	}
	r.Backtest = bt
	for i := range r.Targets {
		t := &r.Targets[i]
		if t.KPI != scoring.KPIChurnSignalDetection {
			continue
		}
		t.Source, t.From, t.To = bt.Source, bt.From, bt.To
		if bt.DetectionRate != nil {
			v := *bt.DetectionRate
			met := v >= t.Target-1e-9
			if t.Op == "<=" {
				met = v <= t.Target+1e-9
			}
			t.Value, t.Met, t.Reason = &v, &met, ""
		}
	}
}
