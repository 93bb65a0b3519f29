package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/sync/store"
	"github.com/healthsync/healthsync/sync/store/bolt"
	"github.com/healthsync/healthsync/sync/store/postgres"
)

// cmdMigrate applies the PostgreSQL schema migrations alone, under the same
// advisory lock replicas take at start, so an upgrade can migrate before
// the new replicas roll out. A bbolt store migrates its file when it opens.
func cmdMigrate(e *env) error {
	fs := configFlags(e, "migrate", "--config FILE")
	if err := parseFlags(fs.FlagSet, e.args); err != nil {
		return err
	}
	cfg, err := loadConfig(*fs.cfgPath)
	if err != nil {
		return err
	}
	if cfg.Store.Driver != config.DriverPostgres {
		return usagef("store.driver is %s: a bbolt file is migrated when healthsync opens it; migrate is for driver postgres", cfg.Store.Driver)
	}
	dsn := cfg.Store.DSN.Reveal()
	from, to, err := postgres.Migrate(e.ctx, dsn, postgresOptions(cfg))
	if err != nil {
		return fmt.Errorf("migrating the postgres store at %s: %w", postgres.Address(dsn), err)
	}
	if from == to {
		fmt.Fprintf(e.stdout, "postgres store at %s: schema version %d, up to date\n", postgres.Address(dsn), to)
		return nil
	}
	fmt.Fprintf(e.stdout, "postgres store at %s: schema version %d -> %d\n", postgres.Address(dsn), from, to)
	return nil
}

// cmdMigrateStore moves a bbolt install into an empty PostgreSQL database:
// every family of the store in one export (one read transaction) and one
// import (one database transaction), then a read-back that must match.
func cmdMigrateStore(e *env) error {
	fs := newFlags(e, "migrate-store", "--from FILE.db [--to DSN] [--schema NAME]")
	from := fs.String("from", "", "the bbolt file to move (the daemon using it must be stopped)")
	to := fs.String("to", os.Getenv("HEALTHSYNC_DATABASE_URL"), "the PostgreSQL connection string, postgres://... (default $HEALTHSYNC_DATABASE_URL, which keeps the password out of the process list)")
	schema := fs.String("schema", "", "the PostgreSQL schema, as store.schema (default the server's search_path)")
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}
	if *from == "" || *to == "" {
		return usagef("--from FILE.db and --to postgres://... (or $HEALTHSYNC_DATABASE_URL) are required")
	}
	if _, err := os.Stat(*from); err != nil {
		return usagef("--from: %v", err)
	}
	src, err := bolt.Open(*from, bolt.Options{})
	if err != nil {
		return fmt.Errorf("opening %s: %w", *from, err)
	}
	defer src.Close()
	dst, err := postgres.Open(e.ctx, *to, postgres.Options{Schema: *schema})
	if err != nil {
		return fmt.Errorf("opening the postgres store at %s: %w", postgres.Address(*to), err)
	}
	defer dst.Close()
	moved, err := store.Copy(dst, src)
	if errors.Is(err, store.ErrNotEmpty) {
		return fmt.Errorf("moving %s: the postgres store at %s already holds data; migrate-store fills an empty one: %w", *from, postgres.Address(*to), err)
	}
	if err != nil {
		return fmt.Errorf("moving %s: %w", *from, err)
	}
	back, err := dst.Export()
	if err != nil {
		return fmt.Errorf("reading the moved store back: %w", err)
	}
	if got, want := dumpCounts(back), dumpCounts(moved); got != want {
		return fmt.Errorf("reading the moved store back: %v, moved %v", got, want)
	}
	fmt.Fprintf(e.stdout, "moved %s to the postgres store at %s\n", *from, postgres.Address(*to))
	printCounts(e.stdout, dumpCounts(moved))
	return nil
}

// counts is how many entries of each family a Dump holds.
type counts struct {
	Meta, Connectors, Records, Cursors, Streams, Signals, Links, Scores, ScoreHistory,
	Written, Pending, Tasks, Queue, DeadLetters, Dedupe, Outbox, Runs int
}

func dumpCounts(d *store.Dump) counts {
	return counts{len(d.Meta), len(d.Connectors), len(d.Records), len(d.Cursors), len(d.Streams), len(d.Signals),
		len(d.Links), len(d.Scores), len(d.ScoreHistory), len(d.Written), len(d.Pending), len(d.Tasks),
		len(d.Queue), len(d.DeadLetters), len(d.Dedupe), len(d.Outbox), len(d.Runs)}
}

func printCounts(w io.Writer, c counts) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, r := range []struct {
		name string
		n    int
	}{{"records (tombstones included)", c.Records}, {"connectors", c.Connectors}, {"cursors", c.Cursors},
		{"streams", c.Streams}, {"signals", c.Signals}, {"links", c.Links}, {"current scores", c.Scores},
		{"score history", c.ScoreHistory}, {"written values", c.Written}, {"pending writes", c.Pending},
		{"tasks", c.Tasks}, {"queued events", c.Queue}, {"dead letters", c.DeadLetters},
		{"remembered event IDs", c.Dedupe}, {"outbox", c.Outbox}, {"runs", c.Runs}, {"meta", c.Meta}} {
		fmt.Fprintf(tw, "  %s\t%d\n", r.name, r.n)
	}
	tw.Flush()
}
