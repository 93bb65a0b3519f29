package storetest

import (
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/store"
)

// testLinks: SetLinks replaces the set, keeps the Created of links that
// stay, and Links orders by account then customer key.
func testLinks(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	empty(t, "links of a new store", must(s.Links())(t))
	l1 := store.Link{AccountKey: "salesforce/001A", CustomerKey: "stripe/cus_1", Rule: "metadata", Created: t0}
	l2 := store.Link{AccountKey: "salesforce/001B", CustomerKey: "stripe/cus_2", Rule: "domain", Created: t0}
	l3 := store.Link{AccountKey: "salesforce/001", CustomerKey: "stripe/cus_3", Rule: "domain", Created: t0}
	ok(t, s.SetLinks([]store.Link{l2, l1, l3}))
	equal(t, "links", must(s.Links())(t), []store.Link{l3, l1, l2})

	// l2 goes, l1 stays (its Created kept, its rule replaced), l4 is new
	// with a given Created, l5 new without one.
	l1b := l1
	l1b.Rule, l1b.Created = "manual", at(time.Hour)
	l4 := store.Link{AccountKey: "salesforce/001A", CustomerKey: "chargebee/c9", Rule: "manual", Created: at(2 * time.Hour)}
	l5 := store.Link{AccountKey: "hubspot/77", CustomerKey: "stripe/cus_5", Rule: "email_domain"}
	w := during(func() { ok(t, s.SetLinks([]store.Link{l1b, l4, l5})) })
	got := must(s.Links())(t)
	if len(got) != 3 {
		t.Fatalf("links %+v, want 3", got)
	}
	w.check(t, "Created of a new link", got[0].Created)
	l1b.Created = t0
	l5.Created = got[0].Created
	equal(t, "links after replacing", got, []store.Link{l5, l4, l1b})

	ok(t, s.SetLinks(nil))
	empty(t, "links after clearing", must(s.Links())(t))
}

// testSignals: signals are stored once per account, metric and time, read
// since a time, and rejected without an account or metric (ported from the
// bbolt tests).
func testSignals(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	a := record.Ref{System: record.Salesforce, ID: "001A"}
	b := record.Ref{System: "external", ID: "acme/eu"}
	day := func(d int) time.Time { return t0.AddDate(0, 0, d) }
	sig := func(r record.Ref, m string, d int, v float64) record.Signal {
		return record.Signal{Account: r, Metric: m, Time: day(d), Value: v}
	}
	in := []record.Signal{
		sig(a, "logins", 0, 5), sig(a, "logins", 2, 7), sig(a, "logins", 1, 6),
		sig(a, "active_users", 0, 3), sig(a, "active_users", 3, 4),
		sig(b, "nps", 1, 9),
	}
	equal(t, "added", must(s.AddSignals(in))(t), 6)
	// Posting again (one value corrected) adds nothing new.
	equal(t, "re-added", must(s.AddSignals([]record.Signal{sig(a, "logins", 2, 8), sig(b, "nps", 1, 9)}))(t), 0)
	tests := []struct {
		name    string
		account string
		since   time.Time
		want    []record.Signal
	}{
		{"all of an account", a.Key(), time.Time{}, []record.Signal{
			sig(a, "active_users", 0, 3), sig(a, "active_users", 3, 4),
			sig(a, "logins", 0, 5), sig(a, "logins", 1, 6), sig(a, "logins", 2, 8)}},
		{"since skips older points of every metric", a.Key(), day(1), []record.Signal{
			sig(a, "active_users", 3, 4), sig(a, "logins", 1, 6), sig(a, "logins", 2, 8)}},
		{"external key with a slash", b.Key(), time.Time{}, []record.Signal{sig(b, "nps", 1, 9)}},
		{"unknown account", "hubspot/1", time.Time{}, nil},
	}
	for _, tc := range tests {
		got := must(s.Signals(tc.account, tc.since))(t)
		if len(tc.want) == 0 {
			empty(t, tc.name, got)
			continue
		}
		equal(t, tc.name, got, tc.want)
	}
	equal(t, "all signals since day 2", must(s.AllSignals(day(2)))(t),
		map[string][]record.Signal{a.Key(): {sig(a, "active_users", 3, 4), sig(a, "logins", 2, 8)}})
	equal(t, "all signals later", must(s.AllSignals(day(9)))(t), map[string][]record.Signal{})

	bad := []struct {
		name string
		sig  record.Signal
	}{
		{"no metric", record.Signal{Account: a, Time: t0}},
		{"no account ID", record.Signal{Account: record.Ref{System: record.Salesforce}, Metric: "logins", Time: t0}},
		{"no account system", record.Signal{Account: record.Ref{ID: "001A"}, Metric: "logins", Time: t0}},
	}
	for _, c := range bad {
		if _, err := s.AddSignals([]record.Signal{sig(a, "logins", 5, 1), c.sig}); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
	empty(t, "signals after rejected batches", must(s.Signals(a.Key(), day(5)))(t))
}

// testScores: history keyed by time, the current score is the latest, and
// the scores as they stood at a time (ported from the bbolt tests).
func testScores(t *testing.T, open func(t *testing.T) store.Store) {
	s := open(t)
	snap := func(acct string, h int, score float64) store.ScoreSnapshot {
		return store.ScoreSnapshot{AccountKey: acct, At: at(time.Duration(h) * time.Hour), Score: score, Band: "healthy",
			Lifecycle: "adoption", MRR: int64(score * 100), Components: map[string]float64{"usage": score / 2},
			Reasons: []string{"usage up"}, Detail: []byte(`{"k":1}`)}
	}
	ok(t, s.PutScores([]store.ScoreSnapshot{snap("salesforce/A", 0, 70), snap("salesforce/B", 0, 40)}))
	ok(t, s.PutScores([]store.ScoreSnapshot{snap("salesforce/A", 2, 80)}))
	// A back-filled older snapshot goes to history but does not replace current.
	ok(t, s.PutScores([]store.ScoreSnapshot{snap("salesforce/A", 1, 75)}))
	// Putting one again with the same time replaces it: idempotent.
	ok(t, s.PutScores([]store.ScoreSnapshot{snap("salesforce/B", 0, 40)}))
	// At is stored in UTC.
	jst := snap("salesforce/D", 0, 50)
	jst.At = jst.At.In(time.FixedZone("JST", 9*3600))
	ok(t, s.PutScores([]store.ScoreSnapshot{jst}))
	equal(t, "history of D", must(s.ScoreHistory("salesforce/D", time.Time{}))(t), []store.ScoreSnapshot{snap("salesforce/D", 0, 50)})
	if err := s.PutScores([]store.ScoreSnapshot{snap("salesforce/C", 0, 1), snap("", 0, 1)}); err == nil {
		t.Error("snapshot without account key accepted")
	}

	type current struct {
		snap  store.ScoreSnapshot
		found bool
	}
	cur, found, err := s.Score("salesforce/A")
	ok(t, err)
	equal(t, "current A", current{cur, found}, current{snap("salesforce/A", 2, 80), true})
	cur, found, err = s.Score("salesforce/C")
	ok(t, err)
	equal(t, "current of an unknown account", current{cur, found}, current{})
	equal(t, "scores", must(s.Scores())(t), []store.ScoreSnapshot{snap("salesforce/A", 2, 80), snap("salesforce/B", 0, 40), snap("salesforce/D", 0, 50)})

	hist := []struct {
		name  string
		acct  string
		since time.Time
		want  []store.ScoreSnapshot
	}{
		{"history since 1h", "salesforce/A", at(time.Hour), []store.ScoreSnapshot{snap("salesforce/A", 1, 75), snap("salesforce/A", 2, 80)}},
		{"whole history", "salesforce/A", time.Time{}, []store.ScoreSnapshot{snap("salesforce/A", 0, 70), snap("salesforce/A", 1, 75), snap("salesforce/A", 2, 80)}},
		{"history of B", "salesforce/B", time.Time{}, []store.ScoreSnapshot{snap("salesforce/B", 0, 40)}},
		{"history after the last", "salesforce/A", at(3 * time.Hour), nil},
	}
	for _, h := range hist {
		got := must(s.ScoreHistory(h.acct, h.since))(t)
		if h.want == nil {
			empty(t, h.name, got)
			continue
		}
		equal(t, h.name, got, h.want)
	}
	// ScoreHistories reads several accounts' histories at once.
	equal(t, "histories since 1h", must(s.ScoreHistories([]string{"salesforce/A", "salesforce/B", "salesforce/Z"}, at(time.Hour)))(t),
		map[string][]store.ScoreSnapshot{"salesforce/A": {snap("salesforce/A", 1, 75), snap("salesforce/A", 2, 80)}})
	equal(t, "whole histories", must(s.ScoreHistories([]string{"salesforce/B", "salesforce/A"}, time.Time{}))(t),
		map[string][]store.ScoreSnapshot{"salesforce/A": {snap("salesforce/A", 0, 70), snap("salesforce/A", 1, 75), snap("salesforce/A", 2, 80)},
			"salesforce/B": {snap("salesforce/B", 0, 40)}})
	equal(t, "histories of no account", must(s.ScoreHistories(nil, time.Time{}))(t), map[string][]store.ScoreSnapshot{})
	equal(t, "scores at 1h30", must(s.ScoresAt(at(90*time.Minute)))(t),
		[]store.ScoreSnapshot{snap("salesforce/A", 1, 75), snap("salesforce/B", 0, 40), snap("salesforce/D", 0, 50)})
	equal(t, "scores at 2h", must(s.ScoresAt(at(2*time.Hour)))(t),
		[]store.ScoreSnapshot{snap("salesforce/A", 2, 80), snap("salesforce/B", 0, 40), snap("salesforce/D", 0, 50)})
	empty(t, "scores before any history", must(s.ScoresAt(at(-time.Hour)))(t))
}
