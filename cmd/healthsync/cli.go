package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/rs/zerolog"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

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
		{"demo", "the whole product on this machine against vendor fakes", cmdDemo},
		{"loadtest", "webhook receiver load test over loopback against the demo world", cmdLoadtest},
		{"healthcheck", "probe a running daemon's /healthz (for containers)", cmdHealthcheck},
		{"version", "print the version", cmdVersion},
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(&env{ctx: ctx, stdout: stdout, stderr: stderr, args: args[1:]})
		if err == nil || errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintf(stderr, "healthsync %s: %v\n", c.name, err)
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

// newFlags builds a FlagSet whose errors are usage errors.
func newFlags(e *env, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet("healthsync "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: healthsync %s %s\n\nFlags:\n", name, usage)
		fs.PrintDefaults()
	}
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
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
	var out io.Writer = w
	if format == "console" {
		out = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05"}
	}
	return zerolog.New(out).Level(lvl).With().Timestamp().Logger(), nil
}

func isTerminal(w io.Writer) bool {
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
	fmt.Fprintf(e.stdout, "healthsync %s\n", version)
	return nil
}
