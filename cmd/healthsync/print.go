package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/scoring"
	"github.com/healthsync/healthsync/sync/engine"
)

// fsWrap is a command's flags with the --config and --log-format every
// app-opening command shares.
type fsWrap struct {
	*flag.FlagSet
	cfgPath, logFormat *string
	e                  *env
}

func printSync(w io.Writer, r *engine.SyncReport) {
	fmt.Fprintf(w, "sync %s\n", r.RunID)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "connector\tmode\tcomplete\tinserted\tupdated\tunchanged\tdeleted\tAPI calls\tretries\t429s\tgate")
	for _, p := range r.Pulls {
		mode := "incremental"
		if p.Full {
			mode = "full"
		}
		fmt.Fprintf(tw, "%s\t%s\t%v\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n", p.Connector, mode, p.Complete, p.Stats.Inserted,
			p.Stats.Updated, p.Stats.Unchanged, p.Stats.Deleted+p.Deleted, p.API.Calls, p.API.Retries, p.API.Throttled, p.Gate)
	}
	tw.Flush()
	if r.Plan != nil {
		fmt.Fprintf(w, "plan: %d record updates, %d tasks to create, %d to close, %d skipped fields/accounts\n",
			len(r.Plan.Writes), len(r.Plan.Creates), len(r.Plan.Closes), len(r.Plan.Skips))
	}
	if wr := r.Write; wr != nil {
		fmt.Fprintf(w, "write: %d record updates (%d earlier failures retried): %d written, %d failed (%d permanent), %d skipped; "+
			"%d tasks: %d created, %d failed, %d skipped; %d closed; %d API calls\n",
			wr.Planned, wr.Retried, wr.Written, wr.Failed, wr.Permanent, wr.Skipped,
			wr.TasksPlanned, wr.TasksCreated, wr.TasksFailed, wr.TasksSkipped, wr.TasksClosed, wr.Calls)
		for _, l := range wr.SkipLines() {
			fmt.Fprintf(w, "  %s\n", l)
		}
	}
	for _, d := range r.DataQuality {
		fmt.Fprintf(w, "  data quality: %s\n", d)
	}
	for _, e := range r.Errors {
		fmt.Fprintf(w, "  error: %s\n", e)
	}
}

func printPlan(w io.Writer, p *engine.Plan) {
	fmt.Fprintf(w, "Plan as of %s (computed from the store; no API call made)\n", p.AsOf.Format(time.RFC3339))
	for _, wr := range p.Writes {
		fmt.Fprintf(w, "~ %s %s %s (%s)\n", wr.Connector, wr.Object, wr.ID, wr.Name)
		for _, c := range wr.Changes {
			fmt.Fprintf(w, "    %-26s %v -> %v\n", c.Field, show(c.Old), show(c.New))
		}
	}
	for _, t := range p.Creates {
		fmt.Fprintf(w, "+ task on %s (%s): %q due %s [%s]\n", t.Account, t.Name, t.Intent.Subject, t.Intent.Due.Format("2006-01-02"), t.Intent.Rule)
	}
	for _, t := range p.Closes {
		fmt.Fprintf(w, "- close task %s on %s: rule %s no longer applies\n", t.TaskID, t.Account, t.Rule)
	}
	for _, s := range p.Skips {
		fmt.Fprintf(w, "! %s %s %s %s: %s\n", s.Connector, s.ID, s.Name, s.Field, s.Reason)
	}
	var calls []string
	for name, n := range p.Calls {
		calls = append(calls, fmt.Sprintf("%s %d", name, n))
	}
	fmt.Fprintf(w, "%d record updates, %d tasks to create, %d to close; estimated write calls: %s\n",
		len(p.Writes), len(p.Creates), len(p.Closes), strings.Join(calls, ", "))
	if p.NeedsConfirm {
		fmt.Fprintf(w, "NOT APPLIED: %s\n", p.ConfirmReason)
	}
}

func show(v any) string {
	switch x := v.(type) {
	case nil:
		return "(none)"
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	case string:
		if x == "" {
			return `""`
		}
		return x
	}
	return fmt.Sprint(v)
}

func printExplain(w io.Writer, ex *engine.Explanation) {
	r := ex.Result
	fmt.Fprintf(w, "%s (%s via %s)\n", ex.Name, ex.Account, ex.Connector)
	fmt.Fprintf(w, "health %.0f (%s), trend %+.0f, touch %s, phase %s, MRR %s\n", math.Round(r.Health.Score), r.Health.Band,
		math.Round(r.Health.Trend), r.Touch, r.Phase, money(r.MRR, r.Currency))
	if r.Health.Override {
		fmt.Fprintf(w, "score overridden in the CRM (computed %.0f)\n", r.Health.ComputedScore)
	}
	if ex.Gate != "" {
		fmt.Fprintf(w, "write-back blocked: %s\n", ex.Gate)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "measure\tvalue\tpoints\tweight\tcost")
	for _, m := range r.Health.Measures {
		v := fmt.Sprintf("%.2f", m.Value)
		if m.Missing {
			v = "missing"
		}
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%.0f\t%.1f\n", m.Name, v, m.Points, m.Weight, m.Lost)
	}
	tw.Flush()
	fmt.Fprintf(w, "reasons: %s\n", strings.Join(r.Health.Reasons, "; "))
	fmt.Fprintln(w, "MRR by month (ledger):")
	for _, m := range r.Ledger {
		if m.MRR == 0 && m.Delta == 0 {
			continue // before the start or after the end
		}
		fmt.Fprintf(w, "  %s %14s  %14s  %s: %s\n", m.Month, money(m.MRR, r.Currency), money(m.Delta, r.Currency), m.Kind, m.Why)
		for _, l := range m.Lines {
			fmt.Fprintf(w, "      %-12s %-28s %s = %s\n", l.Kind, l.Subscription+" "+l.Item, l.Detail, money(l.Converted, r.Currency))
		}
	}
	for _, l := range ex.Links {
		fmt.Fprintf(w, "link: %s (%s)\n", l.CustomerKey, l.Rule)
	}
	for _, p := range ex.Pending {
		fmt.Fprintf(w, "pending write: %v (attempts %d, %s)\n", p.Fields, p.Attempts, p.LastError)
	}
	for _, t := range ex.Tasks {
		fmt.Fprintf(w, "task: %s %s (%s)\n", t.TaskID, t.Rule, t.Status)
	}
}

func money(minor int64, currency string) string {
	return scoring.FormatMoney(minor, currency)
}

func printPreflight(w io.Writer, problems map[string][]record.FieldProblem, err error) {
	if err != nil {
		fmt.Fprintf(w, "preflight could not run: %v\n", err)
	}
	if len(problems) == 0 && err == nil {
		fmt.Fprintln(w, "preflight: every mapped CRM field exists and is writable")
		return
	}
	for conn, ps := range problems {
		for _, p := range ps {
			fmt.Fprintf(w, "preflight %s: %s.%s %s\n", conn, p.Object, p.Field, p.Problem)
		}
	}
}
