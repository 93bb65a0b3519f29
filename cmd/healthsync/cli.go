package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/rs/zerolog"
)

// The build sets these with -ldflags "-X main.version=... -X main.commit=...
// -X main.date=..." (see the Dockerfile); a plain `go build` in a git checkout
// falls back to the commit and time Go records in the binary.
var (
	version = "dev"
	commit  = ""
	date    = ""
)

// Exit codes.
const (
	exitOK      = 0
	exitFailure = 1 // runtime failure
	exitUsage   = 2 // usage or configuration error
)

// usageError marks errors that exit with code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// env is what every command receives.
type env struct {
	ctx    context.Context
	stdout io.Writer
	stderr io.Writer
	args   []string
}

type command struct {
	name    string
	summary string
	run     func(e *env) error
}

func commands() []command {
	return []command{
		{"run", "run the daemon: schedules, webhook receiver, API, metrics", cmdRun},
		{"sync", "run one pull, reconcile and write pass now", cmdSync},
		{"plan", "show the write plan computed from the store, with no API call", cmdPlan},
		{"apply", "execute the saved write plan", cmdApply},
		{"runs", "list run history", cmdRuns},
		{"report", "portfolio KPIs, MRR movements, segments, at-risk accounts", cmdReport},
		{"explain", "one account's score, measures, MRR ledger and links", cmdExplain},
		{"backtest", "does the score predict churn? detection, lead time, precision over past dates", cmdBacktest},
		{"calibrate", "fit measure weights and band thresholds to the history; prints a suggested scoring.health", cmdCalibrate},
		{"config", "config example | validate FILE | show FILE", cmdConfig},
		{"setup", "setup hubspot: create healthsync's custom company properties", cmdSetup},
		{"webhooks", "webhooks dlq | replay ID: dead-lettered webhook events", cmdWebhooks},
		{"store", "store check [--usage] [--config FILE | PATH]: check the store file for damage; --usage: bytes per bucket", cmdStore},
		{"demo", "the whole product on this machine against vendor fakes", cmdDemo},
		{"loadtest", "webhook receiver load test over loopback against the demo world", cmdLoadtest},
		{"scalecurve", "full and idle sync at several world sizes: time, API calls, peak RSS", cmdScalecurve},
		{"fakes", "serve the scale world's Salesforce and Stripe fakes; prints their URLs as JSON", cmdFakes},
		{"soak", "the daemon under webhook load, vendor faults and kill -9 restarts, checked against a clean sync", cmdSoak},
		{"check", "authenticate to every connector, read one page, run the CRM preflight", cmdCheck},
		{"backup", "write a consistent copy of the store to a file (also while the daemon runs)", cmdBackup},
		{"migrate", "apply the PostgreSQL store's schema migrations alone (before rolling out replicas)", cmdMigrate},
		{"migrate-store", "move a bbolt store into an empty PostgreSQL database", cmdMigrateStore},
		{"healthcheck", "probe a running daemon's /healthz (for containers)", cmdHealthcheck},
		{"version", "print the version, commit and build date", cmdVersion},
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	// Several loggers (one per daemon in `loadtest --postgres`, the
	// scheduler's, the workers') and the output may write at once: one
	// lock per stream, whatever the writer is.
	stdout, stderr = lockWriter(stdout), lockWriter(stderr)
	if len(args) == 0 {
		printUsage(stderr)
		return exitUsage
	}
	if isHelpArg(args[0]) || args[0] == "help" {
		if len(args) > 1 && args[0] == "help" {
			return run(ctx, []string{args[1], "--help"}, stdout, stderr) // help COMMAND
		}
		printUsage(stdout)
		return exitOK
	}
	if args[0] == "--version" || args[0] == "-version" || args[0] == "-v" {
		args = []string{"version"}
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(&env{ctx: ctx, stdout: stdout, stderr: stderr, args: args[1:]})
		if err == nil || errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintf(stderr, "healthsync %s: %s\n", c.name, shortenURLs(err.Error()))
		var ue usageError
		if errors.As(err, &ue) {
			return exitUsage
		}
		return exitFailure
	}
	fmt.Fprintf(stderr, "healthsync: unknown command %q\n\n", args[0])
	printUsage(stderr)
	return exitUsage
}

func printUsage(w io.Writer) {
	fmt.Fprintf(w, "healthsync keeps customer-success data true inside the CRM.\n\nUsage:\n  healthsync COMMAND [flags]\n\nCommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-12s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'healthsync COMMAND --help' for a command's flags.\n")
}

// newFlags builds a FlagSet whose errors are usage errors. usage names the
// command's flags and arguments.
func newFlags(e *env, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet("healthsync "+name, flag.ContinueOnError)
	fs.SetOutput(&usageWriter{stdout: e.stdout, stderr: e.stderr})
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "%s\n", strings.TrimSpace("Usage: healthsync "+name+" "+usage))
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprintf(w, "\nFlags:\n")
			fs.PrintDefaults()
		}
	}
	return fs
}

// usageWriter is a FlagSet's output: stdout once help was asked for,
// stderr for mistakes.
type usageWriter struct {
	stdout, stderr io.Writer
	help           bool
}

func (u *usageWriter) Write(p []byte) (int, error) {
	if u.help {
		return u.stdout.Write(p)
	}
	return u.stderr.Write(p)
}

// isHelpArg reports whether a is a request for help.
func isHelpArg(a string) bool { return a == "-h" || a == "--help" || a == "-help" }

// parseFlags parses args. Help asked for (-h, --help before any "--") prints
// the usage on stdout and returns flag.ErrHelp (exit 0); a mistake prints it
// on stderr (exit 2).
func parseFlags(fs *flag.FlagSet, args []string) error {
	for _, a := range args {
		if a == "--" {
			break
		}
		if isHelpArg(a) {
			if uw, ok := fs.Output().(*usageWriter); ok {
				uw.help = true
			}
			fs.Usage()
			return flag.ErrHelp
		}
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	return nil
}

// newLogger builds the process logger: JSON by default, console when stderr
// is a terminal or format is "console".
func newLogger(w io.Writer, level, format string) (zerolog.Logger, error) {
	lvl := zerolog.InfoLevel
	if level != "" {
		l, err := zerolog.ParseLevel(strings.ToLower(level))
		if err != nil {
			return zerolog.Nop(), usagef("log level %q: %v", level, err)
		}
		lvl = l
	}
	if format == "" && isTerminal(w) {
		format = "console"
	}
	// Pulls, workers and the scheduler log from several goroutines: one
	// line is written at a time whatever w is.
	var out io.Writer = zerolog.SyncWriter(w)
	if format == "console" {
		out = zerolog.ConsoleWriter{Out: out, TimeFormat: "15:04:05"}
	}
	return zerolog.New(out).Level(lvl).With().Timestamp().Logger(), nil
}

func isTerminal(w io.Writer) bool {
	if l, ok := w.(*lockedWriter); ok {
		w = l.w
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func cmdVersion(e *env) error {
	fs := newFlags(e, "version", "")
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("version takes no arguments")
	}
	fmt.Fprintln(e.stdout, versionLine(version, commit, date, buildSettings()))
	return nil
}

// versionLine is `healthsync version`'s output: the version, the commit
// and the build date set by the build, or else the ones Go recorded
// (vcs.revision, vcs.time, vcs.modified) from the git checkout.
func versionLine(version, commit, date string, settings map[string]string) string {
	if commit == "" {
		commit = settings["vcs.revision"]
		if commit != "" && settings["vcs.modified"] == "true" {
			commit += "-dirty"
		}
	}
	if date == "" {
		date = settings["vcs.time"]
	}
	if commit == "" {
		commit = "unknown"
	}
	if date == "" {
		date = "unknown"
	}
	return fmt.Sprintf("healthsync %s (commit %s, built %s, %s)", version, commit, date, runtime.Version())
}

// buildSettings are the settings Go recorded in the binary.
func buildSettings() map[string]string {
	m := map[string]string{}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			m[s.Key] = s.Value
		}
	}
	return m
}

// lockedWriter serialises writes to w; lockWriter wraps w once.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func lockWriter(w io.Writer) io.Writer {
	if _, ok := w.(*lockedWriter); ok || w == nil {
		return w
	}
	return &lockedWriter{w: w}
}
