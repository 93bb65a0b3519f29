package bolt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/healthsync/healthsync/sync/store"

	"go.etcd.io/bbolt"
)

// queueCounts is the number of queued events per connector, what
// QueueDepthOf answers without reading the queue. It lives in memory: Open
// counts the queue bucket once (before the store is returned, so no
// transaction races the count), then each Enqueue, Ack, DeadLetter, Replay
// and Import moves it after its transaction has committed, so an event is
// counted once it is durably queued and uncounted once it is durably gone.
// bbolt admits one process per file, so no other writer can move the queue
// behind the count. Retry leaves an event queued and the count as it was.
//
// mu guards n; it is a leaf lock (nothing else is taken while holding it).
type queueCounts struct {
	mu sync.Mutex
	n  map[string]int
}

// countQueue counts the events in tx's queue bucket by connector.
func countQueue(tx *bbolt.Tx) (*queueCounts, error) {
	qc := &queueCounts{n: map[string]int{}}
	err := tx.Bucket(bucketQueue).ForEach(func(k, v []byte) error {
		qc.n[entryConnector(v)]++
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("counting queued events: %w", err)
	}
	return qc, nil
}

// add moves connector's count by delta.
func (qc *queueCounts) add(connector string, delta int) {
	qc.mu.Lock()
	defer qc.mu.Unlock()
	qc.n[connector] += delta
	if qc.n[connector] <= 0 {
		delete(qc.n, connector)
	}
}

// addQueued counts events[i] for every i not a duplicate (Enqueue's
// answer), once they are durably queued.
func (qc *queueCounts) addQueued(events []store.QueuedEvent, dup []bool) {
	for i := range events {
		if !dup[i] {
			qc.add(events[i].Connector, 1)
		}
	}
}

func (qc *queueCounts) get(connector string) int {
	qc.mu.Lock()
	defer qc.mu.Unlock()
	return qc.n[connector]
}

// entryConnector is the Connector of queue value v ("" when unreadable).
func entryConnector(v []byte) string {
	_, _, js, err := queueHeader(v)
	if err != nil {
		return ""
	}
	return queuedConnector(js)
}

// queuedConnector reads the Connector of a queued event's JSON. The
// encoder writes "connector" first (QueuedEvent's first encoded field), so
// the token reader stops after three tokens instead of decoding the whole
// event; any other layout falls back to a full decode. An entry it cannot
// read counts under "" (Claim reports such an entry as corrupt).
func queuedConnector(js []byte) string {
	dec := json.NewDecoder(bytes.NewReader(js))
	if t, err := dec.Token(); err == nil && t == json.Delim('{') {
		if k, err := dec.Token(); err == nil && k == "connector" {
			if v, err := dec.Token(); err == nil {
				if s, ok := v.(string); ok {
					return s
				}
			}
		}
	}
	var e struct {
		Connector string `json:"connector"`
	}
	if json.Unmarshal(js, &e) != nil {
		return ""
	}
	return e.Connector
}

// QueueDepthOf is the number of queued events of connector, in flight
// and covered copies included (dead letters are not queued).
func (s *Store) QueueDepthOf(connector string) (int, error) {
	if err := s.view(func(*bbolt.Tx) error { return nil }); err != nil {
		return 0, fmt.Errorf("reading queue depth of %s: %w", connector, err)
	}
	return s.queued.get(connector), nil
}
