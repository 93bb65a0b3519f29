package daemon

import (
	"context"
	"time"
)

// pinger is a store that can tell whether its database answers now: the
// PostgreSQL store, whose database may go away while the process runs. A
// bbolt store is an open file and has no Ping.
type pinger interface {
	Ping(ctx context.Context) error
}

// pingTimeout bounds the store check of one /readyz request, well inside a
// Kubernetes probe's default 1s timeout.
const pingTimeout = 800 * time.Millisecond

// storeAnswers returns a check that is true while st answers a ping, so a
// load balancer stops sending webhooks to a replica that lost its database
// (the receiver answers those 503 anyway: nothing uncommitted is
// acknowledged). It is always true for a store without Ping.
func storeAnswers(st any) func() bool {
	p, ok := st.(pinger)
	if !ok {
		return func() bool { return true }
	}
	return func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
		defer cancel()
		return p.Ping(ctx) == nil
	}
}
