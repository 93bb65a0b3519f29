package sqlsource

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	// The PostgreSQL driver for database/sql, registered as "pgx".
	_ "github.com/jackc/pgx/v5/stdlib"
)

// kind is what a column type can hold, as far as the source cares.
type kind int

const (
	kindText   kind = iota + 1 // account, metric; a text value is parsed per row
	kindInt                    // account (numeric IDs), value
	kindNumber                 // value
	kindTime                   // time
)

// Dialect is what one database needs to serve as a signal source. Adding a
// database is adding a Dialect to dialects (with its database/sql driver
// imported) and a test suite against a real server; nothing else changes.
type Dialect struct {
	// Name is the config value of `driver`.
	Name string
	// DriverName is the database/sql driver to open.
	DriverName string
	// Placeholder renders the n-th (1-based) occurrence of :since.
	Placeholder func(n int) string
	// Shared is true when every occurrence names one parameter (PostgreSQL
	// $1), so the query takes since once; otherwise once per occurrence.
	Shared bool
	// Begin opens the read-only transaction the pull runs in and bounds
	// each of its statements by timeout.
	Begin func(ctx context.Context, db *sql.DB, timeout time.Duration) (*sql.Tx, error)
	// Types maps database/sql DatabaseTypeName values to kinds; a column
	// of another type is refused.
	Types map[string]kind
	// Quote quotes an identifier.
	Quote func(id string) string
}

// Postgres reads PostgreSQL through pgx's database/sql driver
// (github.com/jackc/pgx/v5/stdlib). The pull runs in one REPEATABLE READ
// READ ONLY transaction, so the column check and the rows see one snapshot
// and the query cannot write; SET LOCAL statement_timeout bounds each
// statement (PostgreSQL docs, "Client Connection Defaults":
// statement_timeout "Abort any statement that takes more than the
// specified amount of time"; SET LOCAL lasts until the transaction ends).
var Postgres = Dialect{
	Name:        "postgres",
	DriverName:  "pgx",
	Placeholder: func(int) string { return "$1" },
	Shared:      true,
	Begin: func(ctx context.Context, db *sql.DB, timeout time.Duration) (*sql.Tx, error) {
		tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead})
		if err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("SET LOCAL statement_timeout = %d", timeout.Milliseconds())); err != nil {
			tx.Rollback()
			return nil, fmt.Errorf("setting statement_timeout: %w", err)
		}
		return tx, nil
	},
	Types: map[string]kind{
		"TEXT": kindText, "VARCHAR": kindText, "BPCHAR": kindText, "NAME": kindText, "UUID": kindText,
		"INT2": kindInt, "INT4": kindInt, "INT8": kindInt,
		"FLOAT4": kindNumber, "FLOAT8": kindNumber, "NUMERIC": kindNumber,
		"TIMESTAMPTZ": kindTime, "TIMESTAMP": kindTime, "DATE": kindTime,
	},
	Quote: func(id string) string { return `"` + id + `"` },
}

// dialects are the supported `driver` values.
var dialects = map[string]Dialect{Postgres.Name: Postgres}
