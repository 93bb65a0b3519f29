package engine

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/scoring"
	"github.com/healthsync/healthsync/sync/store"
)

// planEngine is an Engine with one Salesforce connector "sf" and the
// default write-back settings (min_score_change 3, max_band_change_share
// 0.2): enough for buildPlan, which reads nothing.
func planEngine(t *testing.T) *Engine {
	t.Helper()
	const yaml = `
store: {path: plan.db}
reporting: {currency: JPY}
connectors:
  - name: sf
    kind: salesforce
    login_url: https://login.example.com
    schedule: "@every 15m"
    auth: {flow: client_credentials, client_id: cid, client_secret: csecret}
`
	cfg, err := config.Parse("plan.yaml", []byte(yaml), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	e := &Engine{cfg: cfg, byName: map[string]*Connector{"sf": {Config: cfg.Connectors[0]}}, score: cfg.Scoring}
	e.score.ApplyDefaults()
	return e
}

// TestBuildPlan plans one account against the state a store would hold and
// compares the whole plan.
func TestBuildPlan(t *testing.T) {
	asOf := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	wroteAt := asOf.Add(-24 * time.Hour)
	const id, key = "001A", "salesforce/001A"
	account := func() *Scored {
		return &Scored{Connector: "sf", Kind: config.KindSalesforce,
			Account: record.Account{Ref: record.Ref{System: record.Salesforce, ID: id, Modified: wroteAt}, Name: "Acme", OwnerID: "005OWNER",
				Fields: map[string]any{}},
			Result: scoring.AccountResult{Currency: "JPY", MRR: 10000, ARR: 120000, Touch: "tech", Phase: "adopt",
				Health: scoring.Health{Score: 72.4, Band: "healthy", Reasons: []string{"logins low"}}}}
	}
	// The values healthsync wants on the account, by field, in write order.
	wantValues := []FieldChange{
		{Key: config.FieldHealthScore, Field: "Health_Score__c", New: 72.0},
		{Key: config.FieldBand, Field: "Health_Band__c", New: "healthy"},
		{Key: config.FieldTrend, Field: "Health_Trend__c", New: 0.0},
		{Key: config.FieldReasons, Field: "Health_Reasons__c", New: "logins low"},
		{Key: config.FieldTouchModel, Field: "Touch_Model__c", New: "tech"},
		{Key: config.FieldPhase, Field: "Lifecycle_Phase__c", New: "adopt"},
		{Key: config.FieldMRR, Field: "MRR__c", New: 10000.0},
		{Key: config.FieldARR, Field: "ARR__c", New: 120000.0},
	}
	updatedAt := FieldChange{Key: config.FieldUpdatedAt, Field: "Healthsync_Updated_At__c", New: asOf}
	// written returns the values of wantValues as written at wroteAt, with
	// the given fields changed.
	written := func(change map[string]any) map[string]store.WrittenValue {
		out := map[string]store.WrittenValue{}
		for _, c := range wantValues {
			out[c.Field] = store.WrittenValue{Value: c.New, At: wroteAt}
		}
		for f, v := range change {
			out[f] = store.WrittenValue{Value: v, At: wroteAt}
		}
		return out
	}
	state := func(last map[string]store.WrittenValue) *planState {
		ps := &planState{written: map[string]map[store.WriteKey]map[string]store.WrittenValue{"sf": {}},
			pending: map[string]map[store.WriteKey]store.PendingWrite{"sf": {}}, crmTasks: map[string]record.Task{},
			recorded: map[string]bool{}, openByAccount: map[string][]store.CreatedTask{}}
		if last != nil {
			ps.written["sf"][store.WriteKey{Object: "Account", ID: id}] = last
		}
		return ps
	}
	emptyPlan := func() *Plan {
		return &Plan{AsOf: asOf, Calls: map[string]int{}, Writes: []RecordWrite{}, Creates: []TaskCreate{}, Closes: []TaskClose{}}
	}
	write := func(changes ...FieldChange) RecordWrite {
		return RecordWrite{Connector: "sf", Object: "Account", ID: id, Account: key, Name: "Acme", Changes: changes}
	}
	blocked := func(reason string) *Plan {
		p := emptyPlan()
		p.Skips = []Skip{{Connector: "sf", ID: id, Name: "Acme", Reason: "blocked: " + reason}}
		p.Drops = []PendingDrop{{Connector: "sf", Object: "Account", ID: id}}
		return p
	}
	intent := func(rule string) scoring.TaskIntent {
		return scoring.TaskIntent{Rule: rule, DedupeKey: rule + "/" + key + "/2026-12", AccountID: id, Subject: rule}
	}

	for _, tc := range []struct {
		name     string
		scored   func(s *Scored)
		rec      func(r *Reconciled)
		state    *planState
		unusable unusableFields
		want     func() *Plan
	}{
		{name: "a new account gets every field", state: state(nil), want: func() *Plan {
			p := emptyPlan()
			p.Writes = []RecordWrite{write(append(append([]FieldChange(nil), wantValues...), updatedAt)...)}
			p.Calls = map[string]int{"sf": 1}
			return p
		}},
		{name: "a score that moved less than min_score_change is not written", state: state(written(map[string]any{"Health_Score__c": 70.0})),
			want: func() *Plan {
				p := emptyPlan()
				p.BandBase = 1
				return p
			}},
		{name: "a band change writes the score and counts against the ceiling",
			state: state(written(map[string]any{"Health_Score__c": 70.0, "Health_Band__c": "caution"})),
			want: func() *Plan {
				p := emptyPlan()
				p.Writes = []RecordWrite{write(
					FieldChange{Key: config.FieldHealthScore, Field: "Health_Score__c", Old: 70.0, New: 72.0},
					FieldChange{Key: config.FieldBand, Field: "Health_Band__c", Old: "caution", New: "healthy"},
					FieldChange{Key: config.FieldUpdatedAt, Field: "Healthsync_Updated_At__c", New: asOf})}
				p.BandChanges, p.BandBase = 1, 1
				p.NeedsConfirm = true
				p.ConfirmReason = "1 of 1 accounts (100%) would change band, above the 20% ceiling: review with `healthsync plan`, then run `healthsync apply --confirm`"
				p.Calls = map[string]int{"sf": 1}
				return p
			}},
		{name: "the match-rate gate blocks every account", state: state(nil),
			rec:  func(r *Reconciled) { r.Gates["*"] = "match rate 10% is below 50%" },
			want: func() *Plan { return blocked("match rate 10% is below 50%") }},
		{name: "a connector gate blocks its accounts", state: state(nil),
			rec:  func(r *Reconciled) { r.Gates["sf"] = "sf: pull did not finish" },
			want: func() *Plan { return blocked("sf: pull did not finish") }},
		{name: "a billing gate blocks the accounts it feeds", state: state(nil),
			rec:  func(r *Reconciled) { r.AccountGates[key] = "billing: no complete pull yet" },
			want: func() *Plan { return blocked("billing: no complete pull yet") }},
		{name: "a person's edit is left alone and its pending value dropped",
			scored: func(s *Scored) {
				s.Account.Fields["MRR__c"] = 9500.0
				s.Account.Modified = wroteAt.Add(time.Hour)
			},
			state: state(written(map[string]any{"MRR__c": 9000.0})),
			want: func() *Plan {
				p := emptyPlan()
				p.BandBase = 1
				p.Skips = []Skip{{Connector: "sf", ID: id, Name: "Acme", Field: "MRR__c",
					Reason: "edited in the CRM since healthsync wrote it (9000 -> 9500); not overwritten"}}
				p.Drops = []PendingDrop{{Connector: "sf", Object: "Account", ID: id, Fields: []string{"MRR__c"}}}
				return p
			}},
		{name: "an unusable field is reported once and never written", state: state(nil),
			unusable: unusableFields{"sf": {"ARR__c": "is read-only"}},
			want: func() *Plan {
				p := emptyPlan()
				p.Skips = []Skip{{Connector: "sf", Field: "ARR__c", Reason: "mapped field is read-only in the CRM (preflight): not written to any record"}}
				p.Drops = []PendingDrop{{Connector: "sf", Object: "Account", ID: id, Fields: []string{"ARR__c"}}}
				p.Writes = []RecordWrite{write(append(append([]FieldChange(nil), wantValues[:7]...), updatedAt)...)}
				p.Calls = map[string]int{"sf": 1}
				return p
			}},
		{name: "tasks: only new ones are created, cleared ones close",
			scored: func(s *Scored) {
				s.Result.Tasks = []scoring.TaskIntent{intent("new"), intent("recorded"), intent("in_crm")}
				s.Result.ClearedRules = []string{"old"}
			},
			state: func() *planState {
				ps := state(written(nil))
				ps.recorded[intent("recorded").DedupeKey] = true
				ps.crmTasks[intent("in_crm").DedupeKey] = record.Task{DedupeKey: intent("in_crm").DedupeKey}
				ps.openByAccount[key] = []store.CreatedTask{
					{DedupeKey: "old/" + key + "/2026-11", Connector: "sf", TaskID: "00T1", AccountKey: key, Rule: "old"},
					{DedupeKey: "kept/" + key + "/2026-11", Connector: "sf", TaskID: "00T2", AccountKey: key, Rule: "kept"}}
				return ps
			}(),
			want: func() *Plan {
				p := emptyPlan()
				p.BandBase = 1
				in := intent("new")
				in.OwnerID = "005OWNER"
				p.Creates = []TaskCreate{{Connector: "sf", Account: key, Name: "Acme", Intent: in}}
				p.Closes = []TaskClose{{Connector: "sf", Account: key, TaskID: "00T1", DedupeKey: "old/" + key + "/2026-11", Rule: "old"}}
				p.Calls = map[string]int{"sf": 1}
				return p
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := planEngine(t)
			s := account()
			if tc.scored != nil {
				tc.scored(s)
			}
			rec := newReconciled(asOf)
			rec.Accounts = []*Scored{s}
			if tc.rec != nil {
				tc.rec(rec)
			}
			got := e.buildPlan(rec, tc.state, tc.unusable)
			if want := tc.want(); !reflect.DeepEqual(got, want) {
				t.Errorf("plan:\n got %s\nwant %s", planString(got), planString(want))
			}
		})
	}
}

func planString(p *Plan) string {
	return fmt.Sprintf("%+v", *p)
}
