package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/hubspot"
	"github.com/healthsync/healthsync/scoring"
	"github.com/healthsync/healthsync/sync/daemon"
	"github.com/healthsync/healthsync/sync/engine"
	"github.com/healthsync/healthsync/sync/notify"
	"github.com/healthsync/healthsync/sync/report"
)

func configFlags(e *env, name, usage string) fsWrap {
	fs := newFlags(e, name, usage)
	cfgPath := fs.String("config", os.Getenv("HEALTHSYNC_CONFIG"), "configuration file (default $HEALTHSYNC_CONFIG)")
	logFormat := fs.String("log-format", "", "log format: json or console (default: console on a terminal)")
	return fsWrap{FlagSet: fs, cfgPath: cfgPath, logFormat: logFormat, e: e}
}

// open parses args and opens the app the flags name; the caller closes it.
func (f fsWrap) open(args []string) (*app, error) {
	if err := parseFlags(f.FlagSet, args); err != nil {
		return nil, err
	}
	return openApp(*f.cfgPath, *f.logFormat, f.e.stderr)
}

func cmdRun(e *env) error {
	fs := configFlags(e, "run", "--config FILE")
	if err := parseFlags(fs.FlagSet, e.args); err != nil {
		return err
	}
	cfg, err := loadConfig(*fs.cfgPath)
	if err != nil {
		return err
	}
	return runDaemon(e, cfg, *fs.logFormat, nil)
}

// runDaemon runs the daemon until e.ctx ends. started, when set, is called
// once it serves, with a channel it closes when the work it started is done;
// the store is closed only after that.
func runDaemon(e *env, cfg *config.Config, logFormat string, started func(*daemon.Daemon, *app, chan<- struct{})) error {
	reg := prometheus.NewRegistry()
	var n *notify.Notifier
	a, err := openAppConfig(cfg, logFormat, e.stderr, func(a *app) engine.Publisher {
		n = notify.New(notify.Options{Config: cfg.Notify, Outbox: a.st, Logger: a.log, Metrics: reg})
		return n
	})
	if err != nil {
		return err
	}
	defer a.Close()
	var d *daemon.Daemon
	var done chan struct{}
	d = daemon.New(daemon.Options{Config: cfg, Store: a.st, Engine: a.eng, Webhooks: a.wired.webhooks, Notifier: n,
		Registry: reg, Logger: a.log, Started: func(string) {
			if started != nil {
				done = make(chan struct{})
				started(d, a, done)
			}
		}})
	err = d.Run(e.ctx)
	if done != nil {
		<-done // the caller's work ends with e.ctx; the store is still open
	}
	return err
}

func cmdSync(e *env) error {
	fs := configFlags(e, "sync", "--config FILE [--connector NAME] [--dry-run] [--full]")
	connector := fs.String("connector", "", "pull only this connector")
	dryRun := fs.Bool("dry-run", false, "pull, then print the plan without writing")
	full := fs.Bool("full", false, "force a full re-read instead of an incremental pull")
	asJSON := fs.Bool("json", false, "print the run report as JSON")
	a, err := fs.open(e.args)
	if err != nil {
		return err
	}
	defer a.Close()
	if *dryRun {
		problems, err := a.eng.Preflight(e.ctx)
		printPreflight(e.stdout, problems, err)
	}
	rep, err := a.eng.Sync(e.ctx, engine.SyncOptions{Connector: *connector, DryRun: *dryRun, Full: *full})
	if rep != nil {
		if *asJSON {
			printJSON(e.stdout, rep)
		} else {
			printSync(e.stdout, rep)
			if rep.Plan != nil && (*dryRun || rep.Plan.NeedsConfirm) {
				printPlan(e.stdout, rep.Plan)
			}
		}
	}
	if errors.Is(err, engine.ErrUnknownConnector) {
		return usageError{err}
	}
	if err == nil && rep != nil {
		// A run that could not do all its work is a runtime failure (exit
		// 1), so schedulers and scripts notice.
		failed := 0
		for _, p := range rep.Pulls {
			if !p.Complete {
				failed++
			}
		}
		switch {
		case failed > 0:
			err = fmt.Errorf("%d of %d pulls did not finish", failed, len(rep.Pulls))
		case rep.Write != nil && (rep.Write.Failed > 0 || rep.Write.TasksFailed > 0):
			err = fmt.Errorf("%d record writes and %d tasks failed (kept pending)", rep.Write.Failed, rep.Write.TasksFailed)
		}
	}
	return err
}

func cmdPlan(e *env) error {
	fs := configFlags(e, "plan", "--config FILE [--json]")
	asJSON := fs.Bool("json", false, "print the plan as JSON")
	a, err := fs.open(e.args)
	if err != nil {
		return err
	}
	defer a.Close()
	p, _, err := a.eng.PlanOnly(e.ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.stdout, p)
	}
	printPlan(e.stdout, p)
	return nil
}

func cmdApply(e *env) error {
	fs := configFlags(e, "apply", "--config FILE [--confirm]")
	confirm := fs.Bool("confirm", false, "execute a plan that exceeds the band-change ceiling")
	a, err := fs.open(e.args)
	if err != nil {
		return err
	}
	defer a.Close()
	wr, p, err := a.eng.Apply(e.ctx, *confirm)
	if err != nil {
		if errors.Is(err, engine.ErrNoPlan) {
			return usageError{err}
		}
		return err
	}
	fmt.Fprintf(e.stdout, "applied plan of %s: %d of %d record updates written, %d failed (%d permanent), %d tasks created, %d closed, %d API calls\n",
		p.AsOf.Format(time.RFC3339), wr.Written, wr.Planned, wr.Failed, wr.Permanent, wr.TasksCreated, wr.TasksClosed, wr.Calls)
	for _, s := range wr.Errors {
		fmt.Fprintf(e.stdout, "  error: %s\n", s)
	}
	return nil
}

func cmdRuns(e *env) error {
	fs := configFlags(e, "runs", "--config FILE [--limit N] [--json]")
	limit := fs.Int("limit", 20, "how many runs")
	asJSON := fs.Bool("json", false, "print as JSON")
	a, err := fs.open(e.args)
	if err != nil {
		return err
	}
	defer a.Close()
	runs, err := a.st.Runs(*limit)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.stdout, map[string]any{"runs": runs})
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "start\tduration\tkind\tconnector\tstatus\tpulled\tchanged\tdeleted\twrites planned/done/failed\ttasks\tAPI calls\tretries\t429s\tfirst error")
	for _, r := range runs {
		c := r.Counters
		first := ""
		if len(r.Errors) > 0 {
			first = r.Errors[0]
			if len(first) > 80 {
				first = first[:77] + "..."
			}
		}
		pulled := c["records_pulled"] + c["inserted"] + c["updated"] + c["unchanged"]
		changed := c["records_changed"] + c["inserted"] + c["updated"]
		deleted := c["records_deleted"] + c["deleted"]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d/%d/%d\t%d\t%d\t%d\t%d\t%s\n", r.Start.Local().Format("2006-01-02 15:04:05"),
			r.End.Sub(r.Start).Round(time.Millisecond), r.Kind, r.Connector, r.Status, pulled, changed, deleted,
			c["writes_planned"], c["writes_done"], c["writes_failed"], c["tasks_created"], c["api_calls"], c["retries"], c["throttled"], first)
	}
	return tw.Flush()
}

func cmdReport(e *env) error {
	fs := configFlags(e, "report", "--config FILE [--format table|json|csv|html] [--segment FIELD] [--account ID] [--from YYYY-MM --to YYYY-MM] [--as-of DATE]")
	format := fs.String("format", "table", "table, json, csv or html")
	segment := fs.String("segment", "", "add a segment dimension: a CRM field, owner or industry")
	account := fs.String("account", "", "limit the accounts list to one account (key or CRM ID)")
	from := fs.String("from", "", "first month, YYYY-MM (default: 12 complete months before --as-of)")
	to := fs.String("to", "", "last month, YYYY-MM (default: the last complete month)")
	asOf := fs.String("as-of", "", "day for current values, YYYY-MM-DD (default: now)")
	if err := parseFlags(fs.FlagSet, e.args); err != nil {
		return err
	}
	o := engine.ReportOptions{Segment: *segment, Account: *account}
	var err error
	if o.From, err = parseMonth(*from); err != nil {
		return usagef("--from: %v", err)
	}
	if o.To, err = parseMonth(*to); err != nil {
		return usagef("--to: %v", err)
	}
	if *asOf != "" {
		t, err := time.Parse("2006-01-02", *asOf)
		if err != nil {
			return usagef("--as-of: want YYYY-MM-DD")
		}
		o.AsOf = t.Add(24*time.Hour - time.Nanosecond)
	}
	a, err := openApp(*fs.cfgPath, *fs.logFormat, e.stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	rep, _, err := a.eng.Report(e.ctx, o)
	if err != nil {
		return err
	}
	switch *format {
	case "json":
		return report.WriteJSON(e.stdout, rep)
	case "csv":
		return report.WriteCSV(e.stdout, rep)
	case "html":
		return report.WriteHTML(e.stdout, rep)
	case "table":
		return report.WriteTable(e.stdout, rep, 0, 10)
	}
	return usagef("--format: want table, json, csv or html")
}

func parseMonth(s string) (scoring.Month, error) {
	if s == "" {
		return 0, nil
	}
	t, err := time.Parse("2006-01", s)
	if err != nil {
		return 0, fmt.Errorf("want YYYY-MM, got %q", s)
	}
	return scoring.MonthOf(t), nil
}

func cmdExplain(e *env) error {
	fs := configFlags(e, "explain", "--config FILE [--json] ACCOUNT")
	asJSON := fs.Bool("json", false, "print as JSON")
	if err := parseFlags(fs.FlagSet, e.args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want one ACCOUNT (a key like salesforce/001... or a CRM ID)")
	}
	a, err := openApp(*fs.cfgPath, *fs.logFormat, e.stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	ex, err := a.eng.Explain(e.ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.stdout, ex)
	}
	printExplain(e.stdout, ex)
	return nil
}

func cmdConfig(e *env) error {
	if len(e.args) == 0 {
		return usagef("want: config example | config validate FILE | config show FILE")
	}
	sub, rest := e.args[0], e.args[1:]
	fs := newFlags(e, "config "+sub, "")
	if err := parseFlags(fs, rest); err != nil {
		return err
	}
	switch sub {
	case "example":
		_, err := e.stdout.Write(config.Example())
		return err
	case "validate", "show":
		if fs.NArg() != 1 {
			return usagef("config %s FILE", sub)
		}
		cfg, err := config.Load(fs.Arg(0))
		if err != nil {
			var ce *config.Errors
			if errors.As(err, &ce) {
				// validate reports its finding with exit 1 (the issue's
				// contract); other commands exit 2 on a bad config.
				fmt.Fprintln(e.stderr, err.Error())
				return fmt.Errorf("%s: %d problem(s)", fs.Arg(0), len(ce.Problems))
			}
			return usageError{err}
		}
		if sub == "show" {
			_, err := e.stdout.Write(cfg.Redacted())
			return err
		}
		fmt.Fprintf(e.stdout, "%s: valid (%d connectors, %d task rules)\n", fs.Arg(0), len(cfg.Connectors), len(cfg.Tasks))
		return nil
	}
	return usagef("unknown config command %q", sub)
}

func cmdSetup(e *env) error {
	if len(e.args) == 0 || e.args[0] != "hubspot" {
		return usagef("want: setup hubspot --config FILE [--connector NAME]")
	}
	fs := configFlags(e, "setup hubspot", "--config FILE [--connector NAME]")
	connector := fs.String("connector", "", "the HubSpot connector (default: the only one)")
	a, err := fs.open(e.args[1:])
	if err != nil {
		return err
	}
	defer a.Close()
	var names []string
	for n := range a.wired.hubspot {
		names = append(names, n)
	}
	sort.Strings(names)
	if *connector == "" {
		if len(names) != 1 {
			return usagef("--connector: choose one of %s", strings.Join(names, ", "))
		}
		*connector = names[0]
	}
	c, ok := a.wired.hubspot[*connector]
	if !ok {
		return usagef("--connector %q is not a HubSpot connector", *connector)
	}
	specs := hubspot.DefaultProperties()
	mapping := a.cfg.WriteBack.HubSpot.Fields
	for i := range specs {
		// Honour renamed fields from write_back.hubspot.fields.
		for _, k := range config.WriteBackKeys {
			if "healthsync_"+k == specs[i].Name || (k == config.FieldBand && specs[i].Name == "healthsync_band") {
				if f := mapping[k]; f != "" {
					specs[i].Name = f
				}
			}
		}
	}
	rep, err := c.Setup(e.ctx, specs)
	if err != nil {
		return err
	}
	return printJSON(e.stdout, rep)
}

func cmdWebhooks(e *env) error {
	if len(e.args) == 0 {
		return usagef("want: webhooks dlq | webhooks replay ID")
	}
	sub := e.args[0]
	fs := configFlags(e, "webhooks "+sub, "--config FILE")
	a, err := fs.open(e.args[1:])
	if err != nil {
		return err
	}
	defer a.Close()
	switch sub {
	case "dlq":
		dl, err := a.st.DeadLetters()
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tconnector\tevent\ttype\tobject\tattempts\tdead at\tlast error")
		for _, q := range dl {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s/%s\t%d\t%s\t%s\n", q.Seq, q.Connector, q.Event.ID, q.Event.Type,
				q.Event.ObjectType, q.Event.ObjectID, q.Attempts, q.DeadAt.Format(time.RFC3339), q.LastError)
		}
		return tw.Flush()
	case "replay":
		if fs.NArg() != 1 {
			return usagef("webhooks replay ID")
		}
		id, err := strconv.ParseUint(fs.Arg(0), 10, 64)
		if err != nil {
			return usagef("ID must be a number from `healthsync webhooks dlq`")
		}
		seq, err := a.st.Replay(id)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "event %d queued again as %d; the daemon processes it when it next runs (while it runs, use POST /api/webhooks/replay/%d)\n", id, seq, id)
		return nil
	}
	return usagef("unknown webhooks command %q", sub)
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
