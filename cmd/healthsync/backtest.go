package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"github.com/healthsync/healthsync/sync/daemon"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/scoring"
	"github.com/healthsync/healthsync/scoring/backtest"
	"github.com/healthsync/healthsync/sync/report"
)

// backtestFlags are the flags backtest and calibrate share.
type backtestFlags struct {
	from, to, lead, horizon, every, flag, asOf *string
	drop                                       *float64
}

func addBacktestFlags(fs *flag.FlagSet) backtestFlags {
	return backtestFlags{
		from:    fs.String("from", "", "first month evaluated, YYYY-MM (default: 11 months before --to)"),
		to:      fs.String("to", "", "last month evaluated, YYYY-MM (default: the current month)"),
		lead:    fs.String("lead", "30d", "a churner counts as detected only when flagged at least this long before its churn"),
		horizon: fs.String("horizon", "180d", "and at most this long before"),
		every:   fs.String("every", "7d", "time between evaluation dates"),
		flag:    fs.String("flag", "at_risk", "flagged means this band or worse: at_risk or caution"),
		asOf:    fs.String("as-of", "", "today, YYYY-MM-DD (default: now); the period ends here at the latest"),
		drop:    fs.Float64("revenue-drop", 0, "also count a contraction of at least this share of MRR as churn (e.g. 0.5)"),
	}
}

// backtestPlan is the parsed flags: the evaluation dates and options.
type backtestPlan struct {
	dates []time.Time
	end   time.Time // the last day churn is looked for
	opts  backtest.Options
	drop  float64
}

func (f backtestFlags) plan(now time.Time) (backtestPlan, error) {
	var p backtestPlan
	if *f.asOf != "" {
		t, err := time.Parse(time.DateOnly, *f.asOf)
		if err != nil {
			return p, usagef("--as-of: want YYYY-MM-DD")
		}
		now = t.Add(24*time.Hour - time.Nanosecond)
	}
	now = now.UTC()
	to := scoring.MonthOf(now)
	var err error
	if *f.to != "" {
		if to, err = daemon.ParseMonth(*f.to); err != nil {
			return p, usagef("--to: %v", err)
		}
	}
	from := to - 11
	if *f.from != "" {
		if from, err = daemon.ParseMonth(*f.from); err != nil {
			return p, usagef("--from: %v", err)
		}
	}
	if from > to {
		return p, usagef("--from %s is after --to %s", from, to)
	}
	days := func(name, v string) (int, error) {
		d, err := config.ParseDuration(v)
		if err != nil || d <= 0 || d%(24*time.Hour) != 0 {
			return 0, usagef("--%s: want whole days such as 30d, not %q", name, v)
		}
		return int(d / (24 * time.Hour)), nil
	}
	if p.opts.LeadDays, err = days("lead", *f.lead); err != nil {
		return p, err
	}
	if p.opts.HorizonDays, err = days("horizon", *f.horizon); err != nil {
		return p, err
	}
	every, err := days("every", *f.every)
	if err != nil {
		return p, err
	}
	if p.opts.HorizonDays < p.opts.LeadDays {
		return p, usagef("--horizon (%dd) must not be shorter than --lead (%dd)", p.opts.HorizonDays, p.opts.LeadDays)
	}
	if *f.flag != scoring.BandAtRisk && *f.flag != scoring.BandCaution {
		return p, usagef("--flag: want at_risk or caution, not %q", *f.flag)
	}
	p.opts.Flag = *f.flag
	if *f.drop < 0 || *f.drop >= 1 {
		return p, usagef("--revenue-drop: want a share between 0 and 1, not %g", *f.drop)
	}
	p.drop = *f.drop
	last := to.End().Add(-24 * time.Hour)
	p.end = to.End().Add(-time.Nanosecond)
	if now.Before(p.end) {
		p.end, last = now, now.Truncate(24*time.Hour)
	}
	p.dates = backtest.Dates(from.Start(), last, time.Duration(every)*24*time.Hour)
	if len(p.dates) == 0 {
		return p, usagef("the period %s to %s has not started yet", from, to)
	}
	return p, nil
}

// backtestMemoryLimit is the soft memory limit the backtest commands set
// unless GOMEMLIMIT is: a year of signals for 10,000 accounts is a
// gigabyte of live data, and the garbage collector would otherwise let the
// heap grow to twice that (see BenchmarkBacktest).
const backtestMemoryLimit = 1792 << 20

// openBacktest parses the flags (check validates the command's own),
// plans the dates, opens the app and sets the memory limit; the caller
// closes the app.
func openBacktest(e *env, fs fsWrap, bf backtestFlags, check func() error) (*app, backtestPlan, error) {
	if err := parseFlags(fs.FlagSet, e.args); err != nil {
		return nil, backtestPlan{}, err
	}
	if err := check(); err != nil {
		return nil, backtestPlan{}, err
	}
	p, err := bf.plan(time.Now())
	if err != nil {
		return nil, p, err
	}
	a, err := openApp(*fs.cfgPath, *fs.logFormat, e.stderr)
	if err != nil {
		return nil, p, err
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(backtestMemoryLimit)
	}
	return a, p, nil
}

// optPct formats an optional rate as a percentage ("n/a" when unknown).
func optPct(p *float64) string {
	if p == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.0f%%", *p*100)
}

// replayed is a backtest's timelines with what produced them.
type replayed struct {
	ts       []backtest.Timeline
	names    []string
	warnings []string
}

// replay reads the store and computes the timelines: recomputed from the
// history, or (live) the scores healthsync wrote.
func replay(ctx context.Context, a *app, p backtestPlan, live bool) (*replayed, error) {
	s := a.cfg.Scoring
	s.ApplyDefaults()
	first := p.dates[0]
	hs, err := a.eng.Histories(ctx, p.end, first.AddDate(-1, 0, 0), first.AddDate(-1, 0, 0))
	if err != nil {
		return nil, err
	}
	r := &replayed{warnings: backtestWarnings(&s, live)}
	for _, m := range s.Health.Measures {
		r.names = append(r.names, m.Name)
	}
	if live {
		r.ts = make([]backtest.Timeline, len(hs))
		for i, h := range hs {
			churn := backtest.ChurnDate(h.Input, first, p.end, s, p.drop)
			r.ts[i] = backtest.LiveTimeline(h.Input.Account.Key(), h.Input.Account.Name, h.Scores, p.dates, churn)
		}
		return r, nil
	}
	inputs := make([]scoring.AccountInput, len(hs))
	for i := range hs {
		inputs[i] = hs[i].Input
	}
	r.ts = backtest.Replay(inputs, p.dates, p.end, s, p.drop, 0)
	return r, nil
}

// backtestWarnings names what the replay cannot see: CRM fields (their
// past values are unknown).
func backtestWarnings(s *scoring.Settings, live bool) []string {
	if live {
		return nil
	}
	var out []string
	for _, m := range s.Health.Measures {
		if m.Field != "" {
			out = append(out, fmt.Sprintf("measure %s reads the CRM field %s, whose past values are unknown: left out (missing-data policy %s)",
				m.Name, m.Field, s.Health.Missing))
		}
	}
	if s.Health.OverrideField != "" {
		out = append(out, "the score override field "+s.Health.OverrideField+" is not replayed: its past values are unknown")
	}
	if s.Lifecycle.RenewalDateField != "" {
		out = append(out, "the renewal date field "+s.Lifecycle.RenewalDateField+" is not replayed: days_to_renewal comes from the subscriptions")
	}
	return out
}

func runBacktest(ctx context.Context, a *app, p backtestPlan, live bool) (*backtest.Result, error) {
	r, err := replay(ctx, a, p, live)
	if err != nil {
		return nil, err
	}
	opts := p.opts
	opts.Source = "backtest"
	if live {
		opts.Source = "live"
	}
	s := a.cfg.Scoring
	s.ApplyDefaults()
	res := backtest.Evaluate(r.ts, p.dates, r.names, s.Health.Bands, opts)
	res.Warnings = append(r.warnings, res.Warnings...)
	if res.Warnings == nil {
		res.Warnings = []string{}
	}
	return &res, nil
}

func cmdBacktest(e *env) error {
	fs := configFlags(e, "backtest", "--config FILE [--from YYYY-MM] [--to YYYY-MM] [--lead 30d] [--horizon 180d] [--flag at_risk|caution] [--every 7d] [--revenue-drop 0.5] [--live] [--format table|json|html]")
	bf := addBacktestFlags(fs.FlagSet)
	format := fs.String("format", "table", "table, json or html")
	live := fs.Bool("live", false, "use the scores healthsync wrote to the CRM instead of recomputing them")
	a, p, err := openBacktest(e, fs, bf, func() error {
		if *format != "table" && *format != "json" && *format != "html" {
			return usagef("--format: want table, json or html")
		}
		return nil
	})
	if err != nil {
		return err
	}
	defer a.Close()
	res, err := runBacktest(e.ctx, a, p, *live)
	if err != nil {
		return err
	}
	if err := a.eng.SaveBacktest(res); err != nil {
		return err
	}
	switch *format {
	case "json":
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	case "html":
		return report.WriteBacktestHTML(e.stdout, res)
	}
	printBacktest(e.stdout, res, 0)
	return nil
}

// printBacktest prints the figures and the churners (all, or the first
// maxAccounts when > 0).
func printBacktest(w io.Writer, r *backtest.Result, maxAccounts int) {
	pct := optPct
	num := func(p *float64, f string) string {
		if p == nil {
			return "n/a"
		}
		return fmt.Sprintf(f, *p)
	}
	fmt.Fprintf(w, "Backtest (%s) %s to %s, every %dd: flagged = %s or worse (score < %g), lead %dd, horizon %dd\n",
		r.Source, r.From, r.To, r.EveryDays, r.Flag, r.Threshold, r.LeadDays, r.HorizonDays)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "customers\t%d\n", r.Customers)
	fmt.Fprintf(tw, "churned\t%d (and %d with too little history)\n", r.Churned, r.TooLittleHistory)
	fmt.Fprintf(tw, "detected\t%d: detection rate %s (target 80%%)\n", r.Detected, pct(r.DetectionRate))
	fmt.Fprintf(tw, "median lead time\t%s days\n", num(r.MedianLeadDays, "%.0f"))
	fmt.Fprintf(tw, "flagged\t%d, of which %d churned within the horizon: precision %s\n", r.Flagged, r.FlaggedChurned, pct(r.Precision))
	fmt.Fprintf(tw, "false alarms\t%s of the accounts that did not churn\n", pct(r.FalseAlarmRate))
	fmt.Fprintf(tw, "AUC\t%s\n", num(r.AUC, "%.2f"))
	tw.Flush()
	if len(r.Measures) > 0 && r.Measures[0].Churners != nil {
		fmt.Fprintf(w, "\nMeasures %dd before the outcome (mean points)\n", r.LeadDays)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "measure\tchurners\trest\tlift")
		for _, m := range r.Measures {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.Name, num(m.Churners, "%.1f"), num(m.Rest, "%.1f"), num(m.Lift, "%+.1f"))
		}
		tw.Flush()
	}
	if len(r.Accounts) > 0 {
		fmt.Fprintf(w, "\nChurners\n")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "account\tchurned\tfirst flagged\tlead\tdetected\tscore\treasons")
		for i, c := range r.Accounts {
			if maxAccounts > 0 && i == maxAccounts {
				fmt.Fprintf(tw, "... %d more\n", len(r.Accounts)-i)
				break
			}
			ff, lead, det := "-", "-", "no"
			if c.FirstFlaggedOn != nil {
				ff, lead = *c.FirstFlaggedOn, fmt.Sprintf("%dd", *c.LeadDays)
			}
			if c.Detected {
				det = "yes"
			} else if c.TooLittleHistory {
				det = "too little history"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.Name, c.ChurnedOn, ff, lead, det, num(c.Score, "%.0f"), strings.Join(c.Reasons, "; "))
		}
		tw.Flush()
	}
	for _, wn := range r.Warnings {
		fmt.Fprintf(w, "warning: %s\n", wn)
	}
}

func cmdCalibrate(e *env) error {
	fs := configFlags(e, "calibrate", "--config FILE [--from YYYY-MM] [--to YYYY-MM] [--lead 30d] [--horizon 180d] [--flag at_risk|caution] [--every 7d] [--target 0.8]")
	bf := addBacktestFlags(fs.FlagSet)
	target := fs.Float64("target", 0, "detection rate to reach (default: the churn_signal_detection target, else 0.80)")
	a, p, err := openBacktest(e, fs, bf, func() error {
		if *target < 0 || *target > 1 {
			return usagef("--target: want a fraction between 0 and 1, not %g", *target)
		}
		return nil
	})
	if err != nil {
		return err
	}
	defer a.Close()
	s := a.cfg.Scoring
	s.ApplyDefaults()
	if *target == 0 {
		*target = 0.80
		for _, t := range s.Targets {
			if t.Metric == scoring.KPIChurnSignalDetection && t.Op == ">=" {
				*target = t.Value
			}
		}
	}
	r, err := replay(e.ctx, a, p, false)
	if err != nil {
		return err
	}
	c := backtest.Calibrate(r.ts, p.dates, s.Health, backtest.CalibrateOptions{Options: p.opts, Target: *target})
	c.Warnings = append(r.warnings, c.Warnings...)
	printCalibration(e.stdout, &c)
	return nil
}

// printCalibration prints the validation side by side and the suggested
// section as YAML. It never edits the config.
func printCalibration(w io.Writer, c *backtest.Calibration) {
	pct := optPct
	fmt.Fprintf(w, "# Calibration: fitted on %s..%s (%d churners), validated on %s..%s (%d churners); target detection %.0f%%\n",
		c.FitFrom, c.FitTo, c.FitChurners, c.TestFrom, c.TestTo, c.TestChurners, c.Target*100)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tcurrent model\tsuggested")
	fmt.Fprintf(tw, "# detection (newer half)\t%s\t%s\n", pct(c.Before.DetectionRate), pct(c.After.DetectionRate))
	fmt.Fprintf(tw, "# precision (newer half)\t%s\t%s\n", pct(c.Before.Precision), pct(c.After.Precision))
	fmt.Fprintf(tw, "# flagged (newer half)\t%d\t%d\n", c.Before.Flagged, c.After.Flagged)
	tw.Flush()
	for _, wn := range c.Warnings {
		fmt.Fprintf(w, "# warning: %s\n", wn)
	}
	fmt.Fprintf(w, "# Suggested section (healthsync never edits the config; copy what you accept):\n%s", c.YAML())
}

// demoBacktest runs the backtest of the last 12 months and a calibration
// on the demo's store, prints both briefly, and keeps the backtest for the
// report (its section and the churn_signal_detection KPI).
func demoBacktest(ctx context.Context, w io.Writer, a *app, now time.Time) error {
	from, to, lead, horizon, every, flag, asOf, drop := "", "", "30d", "180d", "7d", "at_risk", "", 0.0
	bf := backtestFlags{from: &from, to: &to, lead: &lead, horizon: &horizon, every: &every, flag: &flag, asOf: &asOf, drop: &drop}
	p, err := bf.plan(now)
	if err != nil {
		return err
	}
	r, err := replay(ctx, a, p, false)
	if err != nil {
		return fmt.Errorf("backtest: %w", err)
	}
	s := a.cfg.Scoring
	s.ApplyDefaults()
	res := backtest.Evaluate(r.ts, p.dates, r.names, s.Health.Bands, p.opts)
	res.Warnings = append(r.warnings, res.Warnings...)
	if err := a.eng.SaveBacktest(&res); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nBacktest: does the score predict churn? (healthsync backtest)\n")
	printBacktest(w, &res, 8)
	c := backtest.Calibrate(r.ts, p.dates, s.Health, backtest.CalibrateOptions{Options: p.opts, Target: 0.80})
	fmt.Fprintf(w, "\nCalibration suggestion (healthsync calibrate; fitted on %s..%s, validated on %s..%s)\n", c.FitFrom, c.FitTo, c.TestFrom, c.TestTo)
	fmt.Fprintf(w, "  newer half, current model: detection %s, precision %s; suggested: detection %s, precision %s\n",
		optPct(c.Before.DetectionRate), optPct(c.Before.Precision), optPct(c.After.DetectionRate), optPct(c.After.Precision))
	fmt.Fprintf(w, "  bands: healthy %g -> %g, caution %g -> %g\n", c.Old.Healthy, c.New.Healthy, c.Old.Caution, c.New.Caution)
	for _, wc := range c.Weights {
		if wc.Old != wc.New {
			fmt.Fprintf(w, "  %s weight %g -> %g: %s\n", wc.Name, wc.Old, wc.New, wc.Why)
		}
	}
	for _, wn := range c.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", wn)
	}
	return nil
}
