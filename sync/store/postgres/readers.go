package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/store"
)

// The CRM and billing readers: lists are the live records in source-ID
// order, lookups return tombstones too.

// Accounts returns connector's live accounts in source-ID order.
func (s *Store) Accounts(connector string) ([]record.Account, error) {
	return list[record.Account](s, connector, store.TypeAccount)
}

// Deals returns connector's live deals in source-ID order.
func (s *Store) Deals(connector string) ([]record.Deal, error) {
	return list[record.Deal](s, connector, store.TypeDeal)
}

// Tasks returns the CRM tasks pulled by connector, in source-ID order.
func (s *Store) Tasks(connector string) ([]record.Task, error) {
	return list[record.Task](s, connector, store.TypeTask)
}

// Customers returns connector's live customers in source-ID order.
func (s *Store) Customers(connector string) ([]record.Customer, error) {
	return list[record.Customer](s, connector, store.TypeCustomer)
}

// Subscriptions returns connector's live subscriptions in source-ID order.
func (s *Store) Subscriptions(connector string) ([]record.Subscription, error) {
	return list[record.Subscription](s, connector, store.TypeSubscription)
}

// Invoices returns connector's live invoices in source-ID order.
func (s *Store) Invoices(connector string) ([]record.Invoice, error) {
	return list[record.Invoice](s, connector, store.TypeInvoice)
}

// Account returns one stored account, a tombstone included.
func (s *Store) Account(connector, id string) (record.Account, bool, error) {
	return lookup[record.Account](s, connector, store.TypeAccount, id)
}

// Deal returns one stored deal, a tombstone included.
func (s *Store) Deal(connector, id string) (record.Deal, bool, error) {
	return lookup[record.Deal](s, connector, store.TypeDeal, id)
}

// Customer returns one stored customer, a tombstone included.
func (s *Store) Customer(connector, id string) (record.Customer, bool, error) {
	return lookup[record.Customer](s, connector, store.TypeCustomer, id)
}

// Subscription returns one stored subscription, a tombstone included.
func (s *Store) Subscription(connector, id string) (record.Subscription, bool, error) {
	return lookup[record.Subscription](s, connector, store.TypeSubscription, id)
}

// Invoice returns one stored invoice, a tombstone included.
func (s *Store) Invoice(connector, id string) (record.Invoice, bool, error) {
	return lookup[record.Invoice](s, connector, store.TypeInvoice, id)
}

// list decodes the live records of one type of connector, by source ID.
func list[T any](s *Store, connector string, typ store.RecordType) ([]T, error) {
	return queryDocs[T](s, fmt.Sprintf("reading %ss of %s", typ, connector),
		`SELECT doc FROM records WHERE connector = $1 AND type = $2 AND NOT deleted ORDER BY id`, connector, string(typ))
}

// lookup decodes one record; ok is false when none is stored under id.
func lookup[T any](s *Store, connector string, typ store.RecordType, id string) (T, bool, error) {
	out, err := queryDocs[T](s, fmt.Sprintf("reading %s %s of %s", typ, id, connector),
		`SELECT doc FROM records WHERE connector = $1 AND type = $2 AND id = $3`, connector, string(typ), id)
	if err != nil || len(out) == 0 {
		var zero T
		return zero, false, err
	}
	return out[0], true, nil
}

// queryDocs runs a query of one JSON column and decodes each row as a T;
// step names the call in its error.
func queryDocs[T any](s *Store, step, sql string, args ...any) ([]T, error) {
	var out []T
	err := s.call(func(ctx context.Context) error {
		var err error
		out, err = pgx.CollectRows(rowsOf(s.pool.Query(ctx, sql, args...)), decodeDoc[T])
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", step, err)
	}
	return out, nil
}

// decodeDoc scans a row's one JSON column into a T.
func decodeDoc[T any](r pgx.CollectableRow) (T, error) {
	var v T
	var doc []byte
	if err := r.Scan(&doc); err != nil {
		return v, err
	}
	if err := json.Unmarshal(doc, &v); err != nil {
		return v, fmt.Errorf("%w: %v", store.ErrCorrupt, err)
	}
	return v, nil
}

// Cursors returns every stored cursor of connector by stream.
func (s *Store) Cursors(connector string) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := s.call(func(ctx context.Context) error {
		rows, err := s.pool.Query(ctx, `SELECT stream, cursor FROM cursors WHERE connector = $1`, connector)
		if err != nil {
			return err
		}
		var stream string
		var cur []byte
		_, err = pgx.ForEachRow(rows, []any{&stream, &cur}, func() error {
			out[stream] = append([]byte{}, cur...)
			return nil
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading cursors of %s: %w", connector, err)
	}
	return out, nil
}

// SetCursor replaces one stream's cursor; nil deletes it.
func (s *Store) SetCursor(connector, stream string, cursor []byte) error {
	err := s.tx(func(ctx context.Context, tx pgx.Tx) error {
		if cursor == nil {
			_, err := tx.Exec(ctx, `DELETE FROM cursors WHERE connector = $1 AND stream = $2`, connector, stream)
			return err
		}
		return putCursor(ctx, tx, connector, stream, cursor)
	})
	if err != nil {
		return fmt.Errorf("setting cursor %s of %s: %w", stream, connector, err)
	}
	return nil
}

func putCursor(ctx context.Context, tx pgx.Tx, connector, stream string, cursor []byte) error {
	_, err := tx.Exec(ctx, `INSERT INTO cursors (connector, stream, cursor) VALUES ($1, $2, $3)
		ON CONFLICT (connector, stream) DO UPDATE SET cursor = EXCLUDED.cursor`, connector, stream, cursor)
	return err
}

// ResetCursors deletes every cursor of connector.
func (s *Store) ResetCursors(connector string) error {
	err := s.call(func(ctx context.Context) error {
		_, err := s.pool.Exec(ctx, `DELETE FROM cursors WHERE connector = $1`, connector)
		return err
	})
	if err != nil {
		return fmt.Errorf("resetting cursors of %s: %w", connector, err)
	}
	return nil
}
