package scoring

import (
	"reflect"
	"testing"

	"github.com/healthsync/healthsync/connectors/record"
)

// TestInactiveAccounts pins the treatment of churned accounts and
// prospects: the health each treatment reports, no task intents, and every
// rule listed as cleared so open tasks close.
func TestInactiveAccounts(t *testing.T) {
	asOf := date(2026, 11, 20)
	rules, err := CompileRules([]TaskRule{{Name: "follow_up", When: "mrr >= 0", Subject: "Follow up", CloseWhenCleared: true},
		{Name: "review", When: "true", Subject: "Review"}})
	if err != nil {
		t.Fatal(err)
	}
	churned := activeSub("JPY", monthly(10000, 1, "JPY"))
	churned.Status, churned.CanceledAt, churned.EndedAt = record.StatusCanceled, date(2026, 9, 1), date(2026, 9, 1)
	last := &LastHealth{Score: 64, Band: BandCaution, Reasons: []string{"logins in 28 days: 2 (good 12 or more), -17 pts"}}
	type got struct {
		Inactive, Band string
		Score          float64
		Reasons        []string
		Tasks          int
		Cleared        []string
	}
	allCleared := []string{"follow_up", "review"}
	cases := []struct {
		name      string
		churned   string
		prospects string
		subs      []record.Subscription
		last      *LastHealth
		want      got
	}{
		{"churned, freeze", InactiveFreeze, InactiveClear, []record.Subscription{churned}, last,
			got{Inactive: InactiveChurned, Band: BandCaution, Score: 64, Reasons: last.Reasons, Cleared: allCleared}},
		{"churned, freeze, no earlier score", InactiveFreeze, InactiveClear, []record.Subscription{churned}, nil,
			got{Inactive: InactiveChurned, Cleared: allCleared}},
		{"churned, clear", InactiveClear, InactiveClear, []record.Subscription{churned}, last,
			got{Inactive: InactiveChurned, Cleared: allCleared}},
		{"prospect, clear", InactiveFreeze, InactiveClear, nil, last,
			got{Inactive: InactiveProspect, Cleared: allCleared}},
		{"prospect, freeze", InactiveFreeze, InactiveFreeze, nil, last,
			got{Inactive: InactiveProspect, Band: BandCaution, Score: 64, Reasons: last.Reasons, Cleared: allCleared}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := DefaultSettings()
			s.Health.Churned, s.Health.Prospects = tc.churned, tc.prospects
			r := ScoreAccount(AccountInput{Account: record.Account{Ref: record.Ref{System: "salesforce", ID: "001A"}},
				Subscriptions: tc.subs, Currency: "JPY", LastHealth: tc.last}, asOf, s, rules)
			g := got{Inactive: r.Health.Inactive, Band: r.Health.Band, Score: r.Health.Score, Reasons: r.Health.Reasons,
				Tasks: len(r.Tasks), Cleared: r.ClearedRules}
			if !reflect.DeepEqual(g, tc.want) {
				t.Errorf("got %+v, want %+v", g, tc.want)
			}
		})
	}
	// Under score, both are scored like customers and the rules apply.
	for _, subs := range [][]record.Subscription{{churned}, nil} {
		s := DefaultSettings()
		s.Health.Churned, s.Health.Prospects = InactiveScore, InactiveScore
		r := ScoreAccount(AccountInput{Account: record.Account{Ref: record.Ref{System: "salesforce", ID: "001A"}},
			Subscriptions: subs, Currency: "JPY", LastHealth: last}, asOf, s, rules)
		if r.Health.Inactive != "" || r.Health.Band == "" || len(r.Tasks) != 2 {
			t.Errorf("score (%d subscriptions): inactive %q band %q, %d tasks; want scored with 2 tasks", len(subs), r.Health.Inactive, r.Health.Band, len(r.Tasks))
		}
	}
}
