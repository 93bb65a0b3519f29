package store_test

import (
	"github.com/healthsync/healthsync/sync/notify"
	"github.com/healthsync/healthsync/sync/store"
	"github.com/healthsync/healthsync/sync/webhook"
)

// The interfaces the receiver, its workers and the notifier declare are
// met by the store's, so they can be handed any backend. (webhook's
// SignalStore is not: its AddSignals returns only an error, and the daemon
// adapts a store to it.)
var (
	_ webhook.Queue     = store.Queue(nil)
	_ webhook.WorkQueue = store.Queue(nil)
	_ notify.Outbox     = store.Outbox(nil)
)
