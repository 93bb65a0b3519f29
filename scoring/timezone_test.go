package scoring

import (
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
)

// TestMonthsInTheBusinessTimeZone pins issue 19 item 5: month boundaries
// follow Settings.Location. A subscription that starts or ends an hour
// either side of midnight on a month's first day in Tokyo moves to the
// neighbouring month in UTC.
func TestMonthsInTheBusinessTimeZone(t *testing.T) {
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	at := func(m time.Month, d, h int) time.Time { return time.Date(2026, m, d, h, 0, 0, 0, tokyo) }
	cases := []struct {
		name       string
		start, end time.Time // end zero: still active
		loc        *time.Location
		newIn      string // month of the "new" movement
		churnIn    string // month of the churn, "" for none
	}{
		{"starts 23:00 Oct 31 Tokyo, Tokyo months", at(10, 31, 23), time.Time{}, tokyo, "2026-10", ""},
		{"starts 01:00 Nov 1 Tokyo, Tokyo months", at(11, 1, 1), time.Time{}, tokyo, "2026-11", ""},
		{"starts 08:00 Nov 1 Tokyo, UTC months", at(11, 1, 8), time.Time{}, nil, "2026-10", ""},
		{"ends 23:00 Nov 30 Tokyo, Tokyo months", at(9, 10, 12), at(11, 30, 23), tokyo, "2026-09", "2026-11"},
		{"ends 01:00 Dec 1 Tokyo, Tokyo months", at(9, 10, 12), at(12, 1, 1), tokyo, "2026-09", "2026-12"},
		{"ends 01:00 Dec 1 Tokyo, UTC months", at(9, 10, 12), at(12, 1, 1), nil, "2026-09", "2026-11"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sub := activeSub("JPY", monthly(10000, 1, "JPY"))
			sub.StartDate, sub.CurrentPeriodStart, sub.CurrentPeriodEnd = c.start, c.start, c.start.AddDate(0, 1, 0)
			if !c.end.IsZero() {
				sub.Status, sub.EndedAt, sub.CanceledAt = record.StatusCanceled, c.end, c.end
			}
			s := shortHistory(6)
			s.Location = c.loc
			in := AccountInput{Account: record.Account{Ref: record.Ref{System: record.Salesforce, ID: "001A"}},
				Subscriptions: []record.Subscription{sub}, Currency: "JPY"}
			res := ScoreAccount(in, at(12, 6, 9), s, nil)
			got := map[MovementKind]string{}
			for _, m := range res.Months {
				if m.Kind == MoveNew || m.Kind == MoveChurn {
					got[m.Kind] = m.Month.String()
				}
			}
			want := map[MovementKind]string{MoveNew: c.newIn}
			if c.churnIn != "" {
				want[MoveChurn] = c.churnIn
			}
			if got[MoveNew] != want[MoveNew] || got[MoveChurn] != want[MoveChurn] {
				t.Errorf("movements in %v, want %v (months %+v)", got, want, res.Months)
			}
		})
	}
}

// TestAsOfDayInTheBusinessTimeZone: 00:30 on 1 December in Tokyo is still
// 30 November in UTC; the current month, a task's due date (a calendar
// day, as midnight UTC) and its dedupe period follow the zone.
func TestAsOfDayInTheBusinessTimeZone(t *testing.T) {
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	asOf := time.Date(2026, 11, 30, 15, 30, 0, 0, time.UTC) // 2026-12-01 00:30 JST
	cases := []struct {
		loc       *time.Location
		month     string
		due       time.Time
		periodKey string
	}{
		{nil, "2026-11", time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), "2026-11"},
		{tokyo, "2026-12", time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), "2026-12"},
	}
	for _, c := range cases {
		s := shortHistory(3)
		s.Location = c.loc
		res := ScoreAccount(AccountInput{Account: record.Account{Ref: record.Ref{System: record.Salesforce, ID: "001A"}}, Currency: "JPY"}, asOf, s, nil)
		if got := res.Months[len(res.Months)-1].Month.String(); got != c.month {
			t.Errorf("%v: current month %s, want %s", c.loc, got, c.month)
		}
		if got := dayStart(res.AsOf); !got.Equal(c.due) {
			t.Errorf("%v: due day starts %v, want %v", c.loc, got, c.due)
		}
		if got := PeriodKey(PeriodMonth, res.AsOf); got != c.periodKey {
			t.Errorf("%v: period key %s, want %s", c.loc, got, c.periodKey)
		}
	}
}
