package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Meta returns the value stored under key; nil when none is.
func (s *Store) Meta(key string) ([]byte, error) {
	var v []byte
	err := s.call(func(ctx context.Context) error {
		err := s.pool.QueryRow(ctx, `SELECT value FROM meta WHERE key = $1`, key).Scan(&v)
		if errors.Is(err, pgx.ErrNoRows) {
			v = nil
			return nil
		}
		if err == nil && v == nil {
			v = []byte{} // an empty value is a value
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading meta %s: %w", key, err)
	}
	return v, nil
}

// SetMeta stores val under key; a nil val deletes the key.
func (s *Store) SetMeta(key string, val []byte) error {
	err := s.call(func(ctx context.Context) error {
		if val == nil {
			_, err := s.pool.Exec(ctx, `DELETE FROM meta WHERE key = $1`, key)
			return err
		}
		_, err := s.pool.Exec(ctx, `INSERT INTO meta (key, value) VALUES ($1, $2)
			ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value`, key, val)
		return err
	})
	if err != nil {
		return fmt.Errorf("setting meta %s: %w", key, err)
	}
	return nil
}

// MetaTime returns the time stored under key by SetMetaTime, in UTC to the
// nanosecond; the zero time when none is.
func (s *Store) MetaTime(key string) (time.Time, error) {
	v, err := s.Meta(key)
	if err != nil || len(v) == 0 {
		return time.Time{}, err
	}
	var t time.Time
	if err := t.UnmarshalText(v); err != nil {
		return time.Time{}, fmt.Errorf("reading meta time %s: %w", key, err)
	}
	return t.UTC(), nil
}

// SetMetaTime stores t under key (as RFC 3339 text, to the nanosecond).
func (s *Store) SetMetaTime(key string, t time.Time) error {
	v, err := t.UTC().MarshalText()
	if err != nil {
		return fmt.Errorf("setting meta time %s: %w", key, err)
	}
	return s.SetMeta(key, v)
}
