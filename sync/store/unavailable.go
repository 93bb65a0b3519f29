package store

import "errors"

// ErrUnavailable reports that a store's database could not be reached or
// dropped the connection (a PostgreSQL server that is down, restarting or
// out of reach). It is transient: the store reconnects by itself when the
// database returns. Nothing a call that failed with it set out to write was
// acknowledged: a receiver answers 503 (vendors retry) and readiness is
// false while it lasts.
var ErrUnavailable = errors.New("store is unavailable")
