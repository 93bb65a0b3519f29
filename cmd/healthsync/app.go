package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/rs/zerolog"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/sync/engine"
	"github.com/healthsync/healthsync/sync/notify"
	"github.com/healthsync/healthsync/sync/store"
	"github.com/healthsync/healthsync/sync/store/bolt"
	"github.com/healthsync/healthsync/sync/store/postgres"
)

// app is a loaded configuration with its logger, store, connectors and
// engine: what every command but `config` and `version` needs.
type app struct {
	cfg   *config.Config
	log   zerolog.Logger
	st    store.Store
	wired *wired
	eng   *engine.Engine
}

// loadConfig reads and validates the file; problems exit with code 2.
func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		return nil, usagef("--config FILE is required")
	}
	cfg, err := config.Load(path)
	if err != nil {
		var ce *config.Errors
		if errors.As(err, &ce) {
			return nil, usageError{err}
		}
		return nil, usageError{err}
	}
	return cfg, nil
}

// openApp loads everything. logFormat overrides the config's log.format.
func openApp(path, logFormat string, stderr io.Writer) (*app, error) {
	cfg, err := loadConfig(path)
	if err != nil {
		return nil, err
	}
	return openAppConfig(cfg, logFormat, stderr, nil)
}

// openAppConfig opens the store and builds the engine; pub, when set, makes
// the engine's notification publisher once the store is open.
func openAppConfig(cfg *config.Config, logFormat string, stderr io.Writer, pub func(*app) engine.Publisher) (*app, error) {
	format := cfg.Log.Format
	if logFormat != "" {
		format = logFormat
	}
	log, err := newLogger(stderr, cfg.Log.Level, format)
	if err != nil {
		return nil, err
	}
	w, err := wire(cfg, log)
	if err != nil {
		return nil, usageError{err}
	}
	st, err := openStore(context.Background(), cfg)
	if err != nil {
		return nil, err
	}
	a := &app{cfg: cfg, log: log, st: st, wired: w}
	// Every command that can change scores queues its notifications in the
	// store's outbox; the daemon delivers them.
	var p engine.Publisher = notify.New(notify.Options{Config: cfg.Notify, Outbox: st, Logger: log})
	if pub != nil {
		p = pub(a)
	}
	eng, err := engine.New(engine.Options{Config: cfg, Store: st, Connectors: w.connectors, Publisher: p, Logger: log})
	if err != nil {
		st.Close()
		return nil, err
	}
	a.eng = eng
	if err := w.bind(st, eng); err != nil {
		st.Close()
		return nil, err
	}
	return a, nil
}

// openStore opens the store cfg.Store names: the bbolt file, or the
// PostgreSQL database (migrated to this build's schema under a lock, so
// replicas starting together do not race). The DSN never reaches an error.
func openStore(ctx context.Context, cfg *config.Config) (store.Store, error) {
	sc := cfg.Store
	if sc.Driver != config.DriverPostgres {
		return bolt.Open(sc.Path, bolt.Options{DedupeTTL: cfg.Webhooks.DedupeTTL.D(), CommitDelay: sc.CommitDelay.D(), LogGather: sc.LogGather.D()})
	}
	st, err := postgres.Open(ctx, sc.DSN.Reveal(), postgresOptions(cfg))
	if err != nil {
		return nil, fmt.Errorf("opening the postgres store at %s: %w", postgres.Address(sc.DSN.Reveal()), err)
	}
	return st, nil
}

// postgresOptions are the PostgreSQL store's options from the config.
func postgresOptions(cfg *config.Config) postgres.Options {
	sc := cfg.Store
	return postgres.Options{Schema: sc.Schema, MaxConns: int32(sc.MaxConns), StatementTimeout: sc.StatementTimeout.D(),
		Lease: sc.Lease.D(), DedupeTTL: cfg.Webhooks.DedupeTTL.D()}
}

func (a *app) Close() error {
	if err := a.st.Close(); err != nil {
		return fmt.Errorf("closing store: %w", err)
	}
	return nil
}
