package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/healthsync/healthsync/sync/store"
)

// migrationFiles are the schema migrations, in goose's SQL format, built
// into the binary. Add 00002_*.sql to move to version 2; never edit one
// that has shipped.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// versionTable is goose's bookkeeping table, in the store's schema, named
// so it cannot be mistaken for another application's goose table.
const versionTable = "healthsync_schema_version"

// migrate brings the schema to this build's version. Replicas starting
// together take turns on a session advisory lock named after the schema,
// so exactly one runs each migration; the others find it applied. A schema
// newer than this build is refused before anything runs.
func migrate(ctx context.Context, pool *pgxpool.Pool, opts Options) (err error) {
	ctx, cancel := context.WithTimeout(ctx, opts.MigrateTimeout)
	defer cancel()
	migrations, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("reading embedded migrations: %w", err)
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("connecting: %w", err)
	}
	defer conn.Release()
	// Waiting for another replica's migrations is bounded by
	// MigrateTimeout (ctx), not by the statement timeout.
	if _, err := conn.Exec(ctx, `SET statement_timeout = 0`); err != nil {
		return fmt.Errorf("connecting: %w", err)
	}
	lock := "healthsync/migrate/" + opts.Schema
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(hashtextextended($1, 0))`, lock); err != nil {
		conn.Conn().Close(context.WithoutCancel(ctx))
		return fmt.Errorf("waiting for the migration lock: %w", err)
	}
	defer func() {
		// A session lock ends with its connection: close the connection
		// when the unlock cannot be confirmed, so the lock never leaks.
		// RESET goes back to the statement timeout the pool connects with.
		bg := context.WithoutCancel(ctx)
		_, uerr := conn.Exec(bg, `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, lock)
		if uerr == nil {
			_, uerr = conn.Exec(bg, `RESET statement_timeout`)
		}
		if uerr != nil {
			conn.Conn().Close(bg)
			err = errors.Join(err, fmt.Errorf("releasing the migration lock: %w", uerr))
		}
	}()
	if opts.Schema != "" {
		if _, err := conn.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{opts.Schema}.Sanitize()); err != nil {
			return fmt.Errorf("creating schema: %w", err)
		}
	}

	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations, goose.WithDisableGlobalRegistry(true), goose.WithTableName(versionTable))
	if err != nil {
		return fmt.Errorf("loading migrations: %w", err)
	}
	sources := p.ListSources()
	want := sources[len(sources)-1].Version
	have, err := schemaVersion(ctx, conn)
	if err != nil {
		return err
	}
	if have > want {
		return fmt.Errorf("database has schema version %d, this build knows up to %d: %w", have, want, store.ErrNewerSchema)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrating schema from version %d to %d: %w", have, want, err)
	}
	return nil
}

// schemaVersion is the highest applied migration, 0 for a new schema.
func schemaVersion(ctx context.Context, conn *pgxpool.Conn) (int64, error) {
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, versionTable).Scan(&exists); err != nil {
		return 0, fmt.Errorf("reading schema version: %w", err)
	}
	if !exists {
		return 0, nil
	}
	var v int64
	err := conn.QueryRow(ctx, `SELECT coalesce(max(version_id), 0) FROM `+versionTable+` WHERE is_applied`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("reading schema version: %w", err)
	}
	return v, nil
}
