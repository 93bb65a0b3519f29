package backtest

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/scoring"
)

func date(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// loginsModel is a one-measure model whose scores are easy to compute by
// hand: logins summed over 28 days, 12 or more give 100 points, 0 give 0;
// at_risk below 50, so an account is flagged with fewer than 6 logins.
func loginsModel() scoring.Settings {
	s := scoring.Settings{Health: scoring.HealthSettings{Measures: []scoring.Measure{
		{Name: "logins", Signal: "logins", Aggregation: scoring.AggSum, WindowDays: 28, Good: 12, Poor: 0, Weight: 1},
	}}}
	s.ApplyDefaults()
	return s
}

// account builds a monthly 10,000 JPY customer started on start (ended on
// ended when set) with one login a day at 09:00 on every day from
// loginsFrom to loginsTo inclusive except the days in gaps.
func account(id, start, ended string, logins ...[2]string) scoring.AccountInput {
	in := scoring.AccountInput{Account: record.Account{Ref: record.Ref{System: record.Salesforce, ID: id}, Name: "Account " + id},
		Currency: "JPY"}
	if start != "" {
		sub := record.Subscription{Ref: record.Ref{System: record.Stripe, ID: "sub_" + id}, Status: record.StatusActive, Currency: "JPY",
			StartDate: date(start), CurrentPeriodStart: date("2026-06-01"), CurrentPeriodEnd: date("2026-07-01"),
			Items: []record.Item{{ID: "si_" + id, Currency: "JPY", UnitAmount: 10000, Quantity: 1, Interval: "month", IntervalCount: 1, Recurring: true}}}
		if ended != "" {
			e := date(ended)
			sub.Status, sub.EndedAt, sub.CanceledAt = record.StatusCanceled, e, e.AddDate(0, 0, -14)
			sub.CurrentPeriodStart, sub.CurrentPeriodEnd = time.Date(e.Year(), e.Month(), 1, 0, 0, 0, 0, time.UTC), e
		}
		in.Subscriptions = []record.Subscription{sub}
	}
	for _, span := range logins {
		for d := date(span[0]); !d.After(date(span[1])); d = d.AddDate(0, 0, 1) {
			in.Signals = append(in.Signals, record.Signal{Account: in.Account.Ref, Metric: "logins", Time: d.Add(9 * time.Hour), Value: 1})
		}
	}
	return in
}

func f(v float64) *float64 { return &v }
func s(v string) *string   { return &v }
func n(v int) *int         { return &v }

// handWorld: weekly dates from 2026-01-01 (Thursdays) to 2026-06-25, lead
// 14 days, horizon 56 days, flag at_risk (score < 50: fewer than 6 logins
// in the 28 days before the date).
//
//	A churns 04-15, logins stop after 02-28: on 03-26 the window (02-26, 03-26)
//	  holds 3 logins, score 25: flagged, inside [02-18, 04-01]: detected, lead 20.
//	B churns 05-20 with daily logins to the end: never flagged, missed.
//	C churns 05-25, logins stop after 04-19: first flagged 05-14 (4 logins,
//	  33.3), after 05-11 = churn - lead: too late, missed, but the flag was
//	  followed by the churn (flagged_churned).
//	D never churns, no logins in February: flagged 02-26 and 03-05: a false alarm.
//	E never churns, daily logins: never flagged.
//	F starts 04-25, churns 05-10: no paying date in [03-15, 04-26]: too
//	  little history; flagged 04-30 (5 logins, 41.7) before its churn.
//	G has no subscription: not a customer.
//
// Customers A-F = 6; churned A, B, C = 3; detected A = 1 (1/3); flagged
// A, C, D, F = 4, of which A, C, F churned within the horizon: precision 3/4;
// the rest D, E: false alarms 1/2. AUC on the scores lead days before the
// outcome: A 25, B 100, C 91.7 (churn - 14 days) against D 100, E 100 (on
// 06-11): pairs A<D, A<E, C<D, C<E, and B ties twice (half each) = 5/6.
// Logins points: churners (25 + 100 + 91.67) / 3 = 72.2, rest 100, lift 27.8.
func handWorld() ([]scoring.AccountInput, []time.Time, time.Time) {
	in := []scoring.AccountInput{
		account("A", "2025-06-01", "2026-04-15", [2]string{"2025-12-01", "2026-02-28"}),
		account("B", "2025-06-01", "2026-05-20", [2]string{"2025-12-01", "2026-05-19"}),
		account("C", "2025-06-01", "2026-05-25", [2]string{"2025-12-01", "2026-04-19"}),
		account("D", "2025-06-01", "", [2]string{"2025-12-01", "2026-01-31"}, [2]string{"2026-03-01", "2026-06-29"}),
		account("E", "2025-06-01", "", [2]string{"2025-12-01", "2026-06-29"}),
		account("F", "2026-04-25", "2026-05-10", [2]string{"2026-04-25", "2026-05-09"}),
		account("G", "", "", [2]string{"2026-01-01", "2026-06-29"}),
	}
	return in, Dates(date("2026-01-01"), date("2026-06-25"), 7*day), date("2026-06-30")
}

func TestHandBuiltHistory(t *testing.T) {
	in, dates, end := handWorld()
	st := loginsModel()
	ts := Replay(in, dates, end, st, 0, 2)
	got := Evaluate(ts, dates, []string{"logins"}, st.Health.Bands, Options{LeadDays: 14, HorizonDays: 56})

	zero := f(0)
	byLead := []LeadPoint{{0, f(0.6667)}, {7, f(0.6667)}, {14, f(0.3333)}, {21, zero}, {28, zero}, {35, zero},
		{42, zero}, {49, zero}, {56, zero}}
	want := Result{Source: "backtest", From: "2026-01-01", To: "2026-06-25", EveryDays: 7, LeadDays: 14, HorizonDays: 56,
		Flag: "at_risk", Threshold: 50, Customers: 6, Churned: 3, TooLittleHistory: 1, Detected: 1,
		DetectionRate: f(0.3333), MedianLeadDays: f(20), Flagged: 4, FlaggedChurned: 3, Precision: f(0.75),
		FalseAlarmRate: f(0.5), AUC: f(0.8333),
		Measures: []MeasureLift{{Name: "logins", Churners: f(72.2), Rest: f(100), Lift: f(27.8)}},
		Accounts: []ChurnerResult{
			{ID: "salesforce/A", Name: "Account A", ChurnedOn: "2026-04-15", FirstFlaggedOn: s("2026-03-26"), LeadDays: n(20),
				Detected: true, Score: f(25), Reasons: []string{"logins: 3 (good 12 or more), -75 pts"}},
			{ID: "salesforce/F", Name: "Account F", ChurnedOn: "2026-05-10", Reasons: []string{}, TooLittleHistory: true},
			{ID: "salesforce/B", Name: "Account B", ChurnedOn: "2026-05-20", Score: f(100), Reasons: []string{}},
			{ID: "salesforce/C", Name: "Account C", ChurnedOn: "2026-05-25", Score: f(91.7), Reasons: []string{"logins: 11 (good 12 or more), -8 pts"}},
		},
		ByLead: byLead, Warnings: []string{tooFew(3)},
	}
	got.Tradeoff = nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("backtest:\n got %s\nwant %s", dump(got), dump(want))
	}
}

func dump(r Result) string {
	b, _ := json.Marshal(r)
	return string(b)
}

// TestNoLookAhead: anything that happened at or after a date — signals, a
// failed invoice, a cancellation, an end, a new subscription, a deal closed —
// leaves that date's score and points unchanged.
func TestNoLookAhead(t *testing.T) {
	cut := date("2026-03-05")
	st := scoring.DefaultSettings()
	base, _, _ := handWorld()
	before := base[4] // E: daily logins, active
	before.Signals = append(before.Signals, record.Signal{Account: before.Account.Ref, Metric: "tickets_open", Time: date("2026-02-10"), Value: 1})
	before.Deals = []record.Deal{{Ref: record.Ref{System: record.Salesforce, ID: "op1"}, AccountID: "E", Name: "renewal",
		IsClosed: true, CloseDate: cut.AddDate(0, 1, 0)}}
	after := before
	after.Signals = append(append([]record.Signal(nil), before.Signals...),
		record.Signal{Account: before.Account.Ref, Metric: "tickets_open", Time: cut, Value: 9},
		record.Signal{Account: before.Account.Ref, Metric: "nps", Time: cut.Add(time.Hour), Value: -80},
		record.Signal{Account: before.Account.Ref, Metric: "active_users", Time: cut.AddDate(0, 0, 3), Value: 1})
	sub := before.Subscriptions[0]
	sub.Status, sub.CanceledAt, sub.EndedAt = record.StatusCanceled, cut, cut.AddDate(0, 0, 20)
	sub.CurrentPeriodStart, sub.CurrentPeriodEnd = date("2026-03-01"), cut.AddDate(0, 0, 20)
	late := sub
	late.ID, late.StartDate, late.EndedAt, late.CanceledAt, late.Status = "sub_late", cut.AddDate(0, 0, 1), time.Time{}, time.Time{}, record.StatusActive
	after.Subscriptions = []record.Subscription{sub, late}
	after.Invoices = []record.Invoice{{Ref: record.Ref{System: record.Stripe, ID: "in_late"}, SubscriptionID: sub.ID, Status: record.InvoiceOpen,
		PaymentFailed: true, Currency: "JPY", Created: cut, DueDate: cut.AddDate(0, 0, 1)}}

	dates := Dates(date("2026-01-01"), cut, 7*day)
	want := Replay([]scoring.AccountInput{before}, dates, cut, st, 0, 1)[0]
	got := Replay([]scoring.AccountInput{after}, dates, cut, st, 0, 1)[0]
	if fmt.Sprint(got.Scores, got.Points) != fmt.Sprint(want.Scores, want.Points) { // NaN-safe
		t.Errorf("scores changed by later data:\n got %v %v\nwant %v %v", got.Scores, got.Points, want.Scores, want.Points)
	}
	// The later data is really there: on the day after, the score moves.
	later := Dates(cut.AddDate(0, 0, 4), cut.AddDate(0, 0, 4), day)
	a := Replay([]scoring.AccountInput{before}, later, cut, st, 0, 1)[0].Scores
	b := Replay([]scoring.AccountInput{after}, later, cut, st, 0, 1)[0].Scores
	if a[0] == b[0] {
		t.Errorf("score after the cut = %v both ways; the test data does not reach the score", a)
	}
}

func TestAsOfRollsBackSubscription(t *testing.T) {
	in := account("A", "2025-06-01", "2026-05-31")
	in.Subscriptions[0].CanceledAt = date("2026-05-10")
	in.Subscriptions[0].CurrentPeriodStart, in.Subscriptions[0].CurrentPeriodEnd = date("2026-05-01"), date("2026-06-01")
	got := AsOf(in, date("2026-04-15")).Subscriptions[0]
	want := in.Subscriptions[0]
	want.Status, want.CanceledAt, want.EndedAt = record.StatusActive, time.Time{}, time.Time{}
	want.CurrentPeriodStart, want.CurrentPeriodEnd = date("2026-04-01"), date("2026-05-01")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("AsOf subscription:\n got %+v\nwant %+v", got, want)
	}
}

func TestChurnDate(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   scoring.AccountInput
		drop float64
		want string
	}{
		{name: "logo churn on the end date", in: account("A", "2025-06-01", "2026-04-15"), want: "2026-04-15"},
		{name: "no churn", in: account("E", "2025-06-01", ""), want: ""},
		{name: "churn before the period", in: account("A", "2025-06-01", "2025-12-10"), want: ""},
		{name: "contraction counts with --revenue-drop", in: downgrade(), drop: 0.5, want: "2026-03-10"},
		{name: "contraction alone is no logo churn", in: downgrade(), want: ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ChurnDate(tc.in, date("2026-01-01"), date("2026-06-30"), loginsModel(), tc.drop)
			if g := fmtDate(got); g != tc.want {
				t.Errorf("ChurnDate = %q, want %q", g, tc.want)
			}
		})
	}
}

// downgrade: 10 seats to 4 on 2026-03-10 (a 60% contraction).
func downgrade() scoring.AccountInput {
	in := account("D", "2025-06-01", "")
	old := in.Subscriptions[0]
	old.ID, old.Status, old.EndedAt = "sub_old", record.StatusCanceled, date("2026-03-10")
	old.Items[0].Quantity = 10
	old.CurrentPeriodStart, old.CurrentPeriodEnd = date("2026-03-01"), date("2026-03-10")
	cur := in.Subscriptions[0]
	cur.StartDate = date("2026-03-10")
	cur.Items = []record.Item{{ID: "si_new", Currency: "JPY", UnitAmount: 10000, Quantity: 4, Interval: "month", IntervalCount: 1, Recurring: true}}
	in.Subscriptions = []record.Subscription{old, cur}
	return in
}

func fmtDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.DateOnly)
}

func TestLiveTimeline(t *testing.T) {
	dates := Dates(date("2026-01-01"), date("2026-01-22"), 7*day)
	snaps := []Snapshot{
		{At: date("2026-01-07"), Score: 80, MRR: 100, Reasons: []string{"a"}},
		{At: date("2026-01-01"), Score: 90, MRR: 100},
		{At: date("2026-01-20"), Score: 30, MRR: 0},
	}
	tl := LiveTimeline("k", "n", snaps, dates, time.Time{})
	want := []float64{90, 80, 80, math.NaN()}
	for k := range want {
		if !(tl.Scores[k] == want[k] || math.IsNaN(tl.Scores[k]) && math.IsNaN(want[k])) {
			t.Fatalf("live scores = %v, want %v", tl.Scores, want)
		}
	}
	if got := tl.reasons(2); !reflect.DeepEqual(got, []string{"a"}) {
		t.Errorf("reasons on 01-15 = %v", got)
	}
}

// TestReplayMatchesAsOf: the replay's trimmed signal windows give exactly
// the score ScoreAccount gives on everything known at the date (AsOf), for
// synthetic accounts with a year of five metrics, churners among them.
func TestReplayMatchesAsOf(t *testing.T) {
	asOf := date("2026-11-30")
	r := rand.New(rand.NewPCG(1, 2))
	st := scoring.DefaultSettings()
	dates := Dates(asOf.AddDate(0, -6, 0), asOf, 11*day)
	for i := range 24 {
		in := synthAccount(r, i, asOf)
		tl := Replay([]scoring.AccountInput{in}, dates, asOf, st, 0, 1)[0]
		for k, d := range dates {
			res := scoring.ScoreAccount(AsOf(in, d), d, st, nil)
			want := res.Health.Score
			if res.MRR <= 0 {
				want = math.NaN()
			}
			if fmt.Sprint(tl.Scores[k]) != fmt.Sprint(want) {
				t.Fatalf("account %d on %s: replay %v, AsOf %v", i, d.Format(time.DateOnly), tl.Scores[k], want)
			}
		}
	}
}
