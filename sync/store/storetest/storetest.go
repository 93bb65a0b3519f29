// Package storetest is the conformance suite every store backend passes:
// Exercise runs, against a fresh store per case, the contract written on
// the interfaces of package store (River's riverdrivertest is the model).
//
// The suite controls time only through the arguments the interfaces take
// (Claim's now, Retry's at, explicit Due and Created fields). A value a
// backend takes from its own clock (a zero Due, DeadAt, a replay's Due) is
// checked to lie between the instants before and after the call, widened
// by clockSlack for a database server's clock, and then compared whole.
// All other times are whole seconds in UTC, which every backend keeps.
package storetest

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/healthsync/healthsync/sync/store"
)

// Exercise runs the whole suite. open returns a new, empty store for the
// test it is given and closes it in t.Cleanup (the suite may close it
// first). The store's clock must be the real one and its dedupe TTL at
// least a minute.
func Exercise(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	families := []struct {
		name string
		run  func(t *testing.T, open func(t *testing.T) store.Store)
	}{
		{"Records", testRecords},
		{"Cursors", testCursors},
		{"Links", testLinks},
		{"Signals", testSignals},
		{"Scores", testScores},
		{"WriteLedger", testWriteLedger},
		{"Tasks", testTasks},
		{"Queue", testQueue},
		{"Outbox", testOutbox},
		{"Runs", testRuns},
		{"Housekeeping", testHousekeeping},
		{"Meta", testMeta},
		{"SentValues", testSentValues},
		{"InterruptRuns", testInterruptRuns},
		{"NewestModified", testNewestModified},
		{"Transfer", testTransfer},
		{"Closed", testClosed},
	}
	for _, f := range families {
		t.Run(f.name, func(t *testing.T) { f.run(t, open) })
	}
}

// t0 is the suite's reference time: whole seconds, UTC.
var t0 = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

// at is t0 plus d.
func at(d time.Duration) time.Time { return t0.Add(d) }

// clockSlack widens the window a backend's clock reading is checked
// against, for a server whose clock is not the test's.
const clockSlack = time.Second

// window is the span of the test's clock around a call.
type window struct{ from, to time.Time }

// during measures the test's clock around f.
func during(f func()) window {
	from := time.Now()
	f()
	return window{from: from, to: time.Now()}
}

// check fails the test unless the backend's clock reading got lies in w.
func (w window) check(t *testing.T, name string, got time.Time) {
	t.Helper()
	if got.Before(w.from.Add(-clockSlack)) || got.After(w.to.Add(clockSlack)) {
		t.Errorf("%s = %v, want the store's clock, between %v and %v", name, got, w.from, w.to)
	}
	if got.Location() != time.UTC {
		t.Errorf("%s = %v, want UTC", name, got)
	}
}

// equal fails the test unless got and want are deeply equal.
func equal[T any](t *testing.T, name string, got, want T) {
	t.Helper()
	if reflect.DeepEqual(got, want) {
		return
	}
	g, w := fmt.Sprintf("%+v", got), fmt.Sprintf("%+v", want)
	if g == w { // they differ where %+v does not show it (nil and empty)
		g, w = fmt.Sprintf("%#v", got), fmt.Sprintf("%#v", want)
	}
	t.Errorf("%s:\n got %s\nwant %s", name, g, w)
}

// empty fails the test unless got has no elements (nil or empty).
func empty[S ~[]E, E any](t *testing.T, name string, got S) {
	t.Helper()
	if len(got) != 0 {
		t.Errorf("%s = %+v, want none", name, got)
	}
}

// must(f())(t) returns f's value, failing the test at once on f's error.
func must[T any](v T, err error) func(t *testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

// ok fails the test at once on err.
func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
