package engine_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/connectors/stripe/stripetest"
	"github.com/healthsync/healthsync/sync/engine"
	"github.com/healthsync/healthsync/sync/store"
)

// rescored is what a sync re-scored: the account keys, sorted, and why.
type rescored struct {
	Accounts []string
	Reason   string
}

func rescoredBy(rep *engine.SyncReport) rescored {
	r := rescored{Reason: rep.RescoreReason, Accounts: []string{}}
	for _, s := range rep.Reconcile.Accounts {
		r.Accounts = append(r.Accounts, s.Account.Key())
	}
	slices.Sort(r.Accounts)
	if rep.Rescored != len(r.Accounts) {
		r.Reason += " (count differs)"
	}
	return r
}

// TestSyncRescoresOnlyWhatChanged runs syncs one after another against the
// fakes: the first scores everything; one whose pull re-reads only the
// accounts healthsync itself just wrote scores nothing; a changed
// subscription, a person's edit of a written field or a new signal scores
// that account; a new day or a changed configuration scores everything.
func TestSyncRescoresOnlyWhatChanged(t *testing.T) {
	e := newSFStripe(t)
	acct := func(i int) string { return "salesforce/" + e.accts[i] }
	all := []string{acct(0), acct(1), acct(2)}
	slices.Sort(all)
	steps := []struct {
		name   string
		change func(t *testing.T)
		want   rescored
		// check inspects the report further.
		check func(t *testing.T, rep *engine.SyncReport)
	}{
		{"first sync", nil, rescored{all, "first sync"}, nil},
		{"own writes only", nil, rescored{[]string{}, "nothing changed"}, func(t *testing.T, rep *engine.SyncReport) {
			// The pull did read the three accounts again: healthsync's
			// writes moved their SystemModstamp and fields.
			for _, p := range rep.Pulls {
				if p.Connector == "sf" && p.Stats.Updated != 3 {
					t.Errorf("salesforce pull updated %d accounts, want 3 (re-read after healthsync's writes)", p.Stats.Updated)
				}
			}
			if !rep.Plan.Empty() {
				t.Errorf("plan of an idle sync: %+v", rep.Plan)
			}
		}},
		{"idle again", nil, rescored{[]string{}, "nothing changed"}, nil},
		{"subscription quantity", func(t *testing.T) {
			if err := e.stripe.UpdateSubscription(e.subs[1], func(s *stripetest.Subscription) { s.Items[0].Quantity = 7 }); err != nil {
				t.Fatal(err)
			}
		}, rescored{[]string{acct(1)}, "records changed"}, nil},
		{"person edits a written field", func(t *testing.T) {
			if err := e.sf.Update("Account", e.accts[2], map[string]any{"Health_Band__c": "red"}); err != nil {
				t.Fatal(err)
			}
		}, rescored{[]string{acct(2)}, "records changed"}, func(t *testing.T, rep *engine.SyncReport) {
			if len(rep.Plan.Skips) != 1 || rep.Plan.Skips[0].Field != "Health_Band__c" {
				t.Errorf("skips %+v, want the edited band", rep.Plan.Skips)
			}
		}},
		{"signal", func(t *testing.T) {
			if _, err := e.st.AddSignals(signalsFor(e.accts[:1], e.now, 0, 3, 8, 1)); err != nil {
				t.Fatal(err)
			}
		}, rescored{[]string{acct(0)}, "records changed"}, nil},
		{"new day", func(t *testing.T) {
			e.now = e.now.Add(24 * time.Hour)
			e.stripe.SetNow(e.now)
		}, rescored{all, "new day (2026-11-21)"}, nil},
		{"same day after", func(t *testing.T) {
			e.now = e.now.Add(time.Hour)
			e.stripe.SetNow(e.now)
		}, rescored{[]string{}, "nothing changed"}, nil},
		{"configuration change", func(t *testing.T) {
			e.extraYAML = "\ntasks:\n  - {name: check_in, when: \"mrr > 0\", subject: \"Check in\", period: once}\n"
			e.st.Close()
			e.connect(t)
		}, rescored{all, "configuration or write-back gates changed"}, nil},
	}
	for _, s := range steps {
		rep := e.syncStep(t, s.name, s.change, s.want)
		if s.check != nil {
			s.check(t, rep)
		}
	}
}

// syncStep moves the clock a minute, makes change (when not nil), syncs
// and checks what the sync re-scored, in its report and its run record.
func (e *sfStripe) syncStep(t *testing.T, name string, change func(t *testing.T), want rescored) *engine.SyncReport {
	t.Helper()
	e.now = e.now.Add(time.Minute)
	if change != nil {
		change(t)
	}
	rep := e.sync(t)
	if got := rescoredBy(rep); !slices.Equal(got.Accounts, want.Accounts) || got.Reason != want.Reason {
		t.Errorf("%s: re-scored %+v, want %+v", name, got, want)
	}
	runs, err := e.st.Runs(1)
	if err != nil {
		t.Fatal(err)
	}
	line := fmt.Sprintf("re-scored %d accounts: %s", len(want.Accounts), want.Reason)
	if n := runs[0].Counters["accounts_rescored"]; n != int64(len(want.Accounts)) || !slices.Contains(runs[0].Notes, line) {
		t.Errorf("%s: run counter accounts_rescored %d, notes %q, want %d and %q", name, n, runs[0].Notes, len(want.Accounts), line)
	}
	return rep
}

// newLogged is newSFStripe with the engine's store reads logged.
func newLogged(t *testing.T) (*sfStripe, *readLog) {
	e := newSFStripe(t)
	log := &readLog{}
	e.wrap = func(s store.Store) store.Store { log.Store = s; return log }
	e.st.Close()
	e.connect(t)
	return e, log
}

// readLog records the store reads whose cost grows with the portfolio.
type readLog struct {
	store.Store
	callLog
}

// callLog is the calls a recording store wrapper saw, in order.
type callLog struct {
	mu    sync.Mutex
	calls []string
}

func (l *callLog) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, s)
}

// take returns the calls recorded since the last take.
func (l *callLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.calls
	l.calls = nil
	return c
}

func (r *readLog) AllWritten(connector string) (map[store.WriteKey]map[string]store.WrittenValue, error) {
	r.add("AllWritten " + connector)
	return r.Store.AllWritten(connector)
}

func (r *readLog) LastWritten(connector, object, id string) (map[string]store.WrittenValue, error) {
	r.add("LastWritten " + connector + " " + id)
	return r.Store.LastWritten(connector, object, id)
}

func (r *readLog) WrittenOf(connector, object string, ids []string) (map[store.WriteKey]map[string]store.WrittenValue, error) {
	r.add(fmt.Sprintf("WrittenOf %s %s %v", connector, object, ids))
	return r.Store.WrittenOf(connector, object, ids)
}

func (r *readLog) ScoreHistory(key string, since time.Time) ([]store.ScoreSnapshot, error) {
	r.add("ScoreHistory " + key)
	return r.Store.ScoreHistory(key, since)
}

func (r *readLog) ScoreHistories(keys []string, since time.Time) (map[string][]store.ScoreSnapshot, error) {
	r.add(fmt.Sprintf("ScoreHistories %v", keys))
	return r.Store.ScoreHistories(keys, since)
}

func (r *readLog) Scores() ([]store.ScoreSnapshot, error) {
	r.add("Scores")
	return r.Store.Scores()
}

func (r *readLog) Tasks(connector string) ([]record.Task, error) {
	r.add("Tasks " + connector)
	return r.Store.Tasks(connector)
}

func (r *readLog) OpenTasks() ([]store.CreatedTask, error) {
	r.add("OpenTasks")
	return r.Store.OpenTasks()
}

func (r *readLog) OpenTasksByPrefix(prefixes []string) ([]store.CreatedTask, error) {
	r.add(fmt.Sprintf("OpenTasksByPrefix %v", prefixes))
	return r.Store.OpenTasksByPrefix(prefixes)
}

func (r *readLog) TaskByKey(key string) (store.CreatedTask, bool, error) {
	r.add("TaskByKey " + key)
	return r.Store.TaskByKey(key)
}

func (r *readLog) AllSignals(since time.Time) (map[string][]record.Signal, error) {
	r.add("AllSignals")
	return r.Store.AllSignals(since)
}

func (r *readLog) Accounts(connector string) ([]record.Account, error) {
	r.add("Accounts " + connector)
	return r.Store.Accounts(connector)
}

// TestTargetedSyncReadsOnlyItsAccounts: a sync after one subscription
// changed reads the written values, score history and open tasks of that
// account alone, each in one read, and no other account's records or
// tasks (its CRM tasks come from the record index).
func TestTargetedSyncReadsOnlyItsAccounts(t *testing.T) {
	e, log := newLogged(t)
	e.sync(t)
	e.now = e.now.Add(time.Minute)
	e.sync(t) // re-reads healthsync's own writes
	log.take()
	e.now = e.now.Add(time.Minute)
	if err := e.stripe.UpdateSubscription(e.subs[1], func(s *stripetest.Subscription) { s.Items[0].Quantity = 7 }); err != nil {
		t.Fatal(err)
	}
	e.sync(t)
	key := "salesforce/" + e.accts[1]
	want := []string{
		"AllSignals", // compared with the last sync's, in one pass
		"ScoreHistories [" + key + "]",
		"WrittenOf sf Account [" + e.accts[1] + "]",
		fmt.Sprintf("OpenTasksByPrefix [at_risk_follow_up/%s/ onboarding_stalled/%s/ payment_failed/%s/]", key, key, key),
		"TaskByKey review_6_months/" + key + "/once", // the account's task intent
	}
	if got := log.take(); !slices.Equal(got, want) {
		t.Errorf("reads %q, want %q", got, want)
	}
}

// TestIdleSyncReadsNothingWhole: pulling back healthsync's own writes and
// tasks reads no task for adoption; once they have been pulled back, an
// idle sync reads no account's records, written values, history or tasks:
// only the signals (one pass) to compare them.
func TestIdleSyncReadsNothingWhole(t *testing.T) {
	e, log := newLogged(t)
	e.sync(t) // scores, writes, creates tasks
	e.now = e.now.Add(time.Minute)
	log.take()
	// The pull reads the writes and the tasks back: the tasks are
	// healthsync's, recorded by this process, and need no adoption check.
	if _, err := e.eng.Pull(context.Background(), "sf", false); err != nil {
		t.Fatal(err)
	}
	if got := log.take(); containsPrefix(got, "TaskByKey ") {
		t.Errorf("the pull of healthsync's own new tasks checked them for adoption: %q", got)
	}
	e.sync(t)
	log.take()
	e.now = e.now.Add(time.Minute)
	rep := e.sync(t)
	if got, want := log.take(), []string{"AllSignals"}; !slices.Equal(got, want) {
		t.Errorf("reads of an idle sync %q, want %q", got, want)
	}
	if rep.Rescored != 0 || !rep.Plan.Empty() {
		t.Errorf("idle sync re-scored %d, plan %+v", rep.Rescored, rep.Plan)
	}
}

func containsPrefix(s []string, prefix string) bool {
	return slices.ContainsFunc(s, func(x string) bool { return strings.HasPrefix(x, prefix) })
}

// TestDirtySetSurvivesRestart: the dirty marks, fingerprints and as-of day
// are kept in the store: a new process re-scores only what changed while
// it was down, from the links the last sync stored (no re-match).
func TestDirtySetSurvivesRestart(t *testing.T) {
	e := newSFStripe(t)
	e.sync(t)
	e.now = e.now.Add(time.Minute)
	e.sync(t)
	restart := func() {
		e.st.Close()
		e.connect(t)
	}
	steps := []struct {
		name   string
		change func(t *testing.T)
		want   rescored
	}{
		{"restart, nothing changed", func(t *testing.T) { restart() }, rescored{[]string{}, "nothing changed"}},
		{"a pulled change, then a restart", func(t *testing.T) {
			if err := e.stripe.UpdateSubscription(e.subs[2], func(s *stripetest.Subscription) { s.Items[0].Quantity = 9 }); err != nil {
				t.Fatal(err)
			}
			if _, err := e.eng.Pull(context.Background(), "billing", false); err != nil {
				t.Fatal(err)
			}
			restart()
		}, rescored{[]string{"salesforce/" + e.accts[2]}, "records changed"}},
		{"idle after", nil, rescored{[]string{}, "nothing changed"}},
	}
	for _, s := range steps {
		e.syncStep(t, s.name, s.change, s.want)
	}
}

// TestPullOfOneAccountReadsItsWrittenValues: a pull that brings one
// changed account reads, in a new process, the written values of that
// account alone to tell a person's edit from healthsync's own write, not
// the whole ledger; the process that read or wrote them keeps them and
// reads nothing.
func TestPullOfOneAccountReadsItsWrittenValues(t *testing.T) {
	e, log := newLogged(t)
	e.sync(t)
	e.now = e.now.Add(time.Minute)
	e.sync(t)                           // pulls healthsync's writes back
	e.now = e.now.Add(15 * time.Minute) // past the cursor's settle window
	e.sync(t)
	for _, restart := range []bool{false, true} {
		e.now = e.now.Add(15 * time.Minute)
		if err := e.sf.Update("Account", e.accts[2], map[string]any{"Industry": fmt.Sprintf("Retail %v", restart)}); err != nil {
			t.Fatal(err)
		}
		var want []string
		if restart {
			e.st.Close()
			e.connect(t)
			want = []string{"WrittenOf sf Account [" + e.accts[2] + "]"}
		}
		log.take()
		if _, err := e.eng.Pull(context.Background(), "sf", false); err != nil {
			t.Fatal(err)
		}
		if got := log.take(); !slices.Equal(got, want) {
			t.Errorf("restart %v: reads of the pull %q, want %q", restart, got, want)
		}
	}
}

// TestOwnWritesPulledBackReadNoLedger: the sync after a write-back pulls
// back every account healthsync wrote without reading their written
// values from the store (the engine keeps what it wrote), and re-scores
// nothing; a person's edit made in the same second as healthsync's write,
// of a written field or of another one, is still a change. With the
// mirror bounded below the accounts written, the records it does not hold
// are read from the ledger, with the same outcome.
func TestOwnWritesPulledBackReadNoLedger(t *testing.T) {
	t.Run("mirror of everything", func(t *testing.T) { ownWritesPulledBack(t, false) })
	t.Run("mirror of one record", func(t *testing.T) {
		engine.SetLedgerMirrorMax(t, 1)
		ownWritesPulledBack(t, true)
	})
}

func ownWritesPulledBack(t *testing.T, bounded bool) {
	for _, edit := range []struct {
		name   string
		fields map[string]any
		want   rescored
	}{
		{"own writes only", nil, rescored{[]string{}, "nothing changed"}},
		{"a written field edited in the same second", map[string]any{"Health_Band__c": "red"}, rescored{[]string{"1"}, "records changed"}},
		{"another field edited in the same second", map[string]any{"Industry": "Retail"}, rescored{[]string{"1"}, "records changed"}},
		{"a written field set to what healthsync wrote", map[string]any{"Touch_Model__c": "same"}, rescored{[]string{}, "nothing changed"}},
	} {
		t.Run(edit.name, func(t *testing.T) {
			e, log := newLogged(t)
			e.sync(t) // scores and writes every account
			if edit.fields != nil {
				f := edit.fields
				if f["Touch_Model__c"] == "same" {
					f = map[string]any{"Touch_Model__c": e.sf.Get("Account", e.accts[1])["Touch_Model__c"]}
				}
				if err := e.sf.Update("Account", e.accts[1], f); err != nil { // the clock has not moved
					t.Fatal(err)
				}
			}
			log.take()
			e.now = e.now.Add(time.Minute)
			pull, err := e.eng.Pull(context.Background(), "sf", false)
			if err != nil {
				t.Fatal(err)
			}
			if pull.Stats.Updated != 3 {
				t.Errorf("salesforce pull updated %d accounts, want 3 (re-read after healthsync's writes)", pull.Stats.Updated)
			}
			got := log.take()
			if !bounded && (containsPrefix(got, "WrittenOf ") || containsPrefix(got, "AllWritten ")) {
				t.Errorf("the pull-back read the write ledger: %q", got)
			}
			if bounded && (!containsPrefix(got, "WrittenOf ") || engine.LedgerMirrorSize(e.eng, "sf") > 1) {
				t.Errorf("bounded mirror: %d records held, reads %q; want at most 1 and the others read", engine.LedgerMirrorSize(e.eng, "sf"), got)
			}
			rep := e.sync(t)
			want := edit.want
			for i, k := range want.Accounts {
				if k == "1" {
					want.Accounts[i] = "salesforce/" + e.accts[1]
				}
			}
			if got := rescoredBy(rep); !slices.Equal(got.Accounts, want.Accounts) || got.Reason != want.Reason {
				t.Errorf("re-scored %+v, want %+v", got, want)
			}
		})
	}
}

// TestTargetedSyncBandCeilingIsPortfolioShare: write_back.
// max_band_change_share is a share of the portfolio. A sync that re-scores
// one account whose band changes (one of three, under a 50% ceiling) runs
// without confirmation, though that one is all it re-scored.
func TestTargetedSyncBandCeilingIsPortfolioShare(t *testing.T) {
	e := newSFStripe(t)
	e.cfg.WriteBack.MaxBandChangeShare = 0.5
	e.sync(t)
	e.now = e.now.Add(time.Minute)
	e.sync(t)
	e.now = e.now.Add(time.Minute)
	if _, err := e.st.AddSignals(signalsFor(e.accts[:1], e.now, 0, 0, 0, 20)); err != nil {
		t.Fatal(err)
	}
	rep := e.sync(t)
	type outcome struct {
		Rescored, BandChanges, BandBase int
		NeedsConfirm                    bool
	}
	got := outcome{rep.Rescored, rep.Plan.BandChanges, rep.Plan.BandBase, rep.Plan.NeedsConfirm}
	if want := (outcome{1, 1, 3, false}); got != want {
		t.Errorf("got %+v, want %+v (%s)", got, want, rep.Plan.ConfirmReason)
	}
}
