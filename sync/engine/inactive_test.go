package engine_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/engine"
)

// TestChurnedAccountsAndProspects: a customer that cancels, and an account
// that never was one, under each treatment (scoring.health.churned and
// prospects). Under freeze the churned account keeps in the CRM the score
// and band of its last live score, under clear they are emptied, under score
// it is scored like a customer; a prospect's health stays empty unless
// scored. Neither gets a task under freeze or clear, and the churned
// account's open task is closed with a note.
func TestChurnedAccountsAndProspects(t *testing.T) {
	cases := []struct {
		treatment string
		// frozen: the churned account's score and band after the churn
		// equal those before; cleared: they are empty.
		frozen, cleared  bool
		tasksForInactive bool
	}{
		{treatment: "freeze", frozen: true},
		{treatment: "clear", cleared: true},
		{treatment: "score", tasksForInactive: true},
	}
	for _, tc := range cases {
		t.Run(tc.treatment, func(t *testing.T) {
			e := newSFStripe(t)
			e.extraYAML = `
scoring:
  health: {churned: ` + tc.treatment + `, prospects: ` + tc.treatment + `}
tasks:
  - {name: check_in, when: "mrr >= 0", subject: "Check in: {{.account.name}}", period: once, close_when_cleared: true}
`
			prospect, err := e.sf.Insert("Account", map[string]any{"Name": "Prospect Co", "Website": "https://prospect.example.com"})
			if err != nil {
				t.Fatal(err)
			}
			e.st.Close()
			e.connect(t)
			rep := e.sync(t)
			taskAccounts := func(creates []engine.TaskCreate) []string {
				var out []string
				for _, c := range creates {
					out = append(out, strings.TrimPrefix(c.Account, "salesforce/"))
				}
				return out
			}
			want := []string{e.accts[0], e.accts[1], e.accts[2]}
			if tc.tasksForInactive {
				want = append(want, prospect)
			}
			if got := taskAccounts(rep.Plan.Creates); !sameSet(got, want) {
				t.Errorf("first sync: tasks for %v, want %v", got, want)
			}
			p := e.sf.Get("Account", prospect)
			if scored := p["Health_Score__c"] != nil || p["Health_Band__c"] != nil; scored != tc.tasksForInactive {
				t.Errorf("prospect: score %v band %v, want them written: %v", p["Health_Score__c"], p["Health_Band__c"], tc.tasksForInactive)
			}
			before := e.sf.Get("Account", e.accts[0])
			if before["Health_Score__c"] == nil || before["Health_Band__c"] == nil {
				t.Fatalf("live account not scored: %v", before)
			}

			// Account 0 cancels.
			e.now = e.now.Add(time.Hour)
			e.stripe.SetNow(e.now)
			if err := e.stripe.CancelSubscription(e.subs[0]); err != nil {
				t.Fatal(err)
			}
			rep = e.sync(t)
			after := e.sf.Get("Account", e.accts[0])
			if after["Lifecycle_Phase__c"] != "churned" || after["MRR__c"] != 0.0 {
				t.Errorf("churned account: phase %v MRR %v, want churned 0", after["Lifecycle_Phase__c"], after["MRR__c"])
			}
			got := [2]any{after["Health_Score__c"], after["Health_Band__c"]}
			switch {
			case tc.frozen && got != [2]any{before["Health_Score__c"], before["Health_Band__c"]}:
				t.Errorf("freeze: score and band %v, want %v", got, [2]any{before["Health_Score__c"], before["Health_Band__c"]})
			case tc.cleared && got != [2]any{nil, nil}:
				t.Errorf("clear: score and band %v, want empty", got)
			case !tc.frozen && !tc.cleared && (got[0] == nil || got[1] == nil):
				t.Errorf("score: score and band %v, want values", got)
			}
			var closes []engine.TaskClose
			for _, c := range rep.Plan.Closes {
				c.TaskID, c.DedupeKey = "", ""
				closes = append(closes, c)
			}
			var wantCloses []engine.TaskClose
			if !tc.tasksForInactive {
				wantCloses = []engine.TaskClose{{Connector: "sf", Account: "salesforce/" + e.accts[0], Rule: "check_in", Reason: "the account churned"}}
			}
			if !reflect.DeepEqual(closes, wantCloses) {
				t.Errorf("closes %+v, want %+v", closes, wantCloses)
			}
			for _, task := range e.sf.All("Task") {
				if task["WhatId"] != e.accts[0] {
					continue
				}
				closed := task["Status"] == string(record.TaskCompleted) || task["Status"] == "Completed"
				if closed != !tc.tasksForInactive {
					t.Errorf("churned account's task: status %v", task["Status"])
				}
				if closed && !strings.Contains(task["Description"].(string), "Closed by healthsync: the account churned.") {
					t.Errorf("closed task note: %q", task["Description"])
				}
			}
		})
	}
}

func sameSet(a, b []string) bool {
	m := map[string]int{}
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		m[x]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}
