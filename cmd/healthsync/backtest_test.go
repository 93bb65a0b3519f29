package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/scoring"
	"github.com/healthsync/healthsync/sync/report"
	"github.com/healthsync/healthsync/sync/store"
	"github.com/healthsync/healthsync/sync/store/bolt"
)

// The vendors are never called: backtest and calibrate read the store.
const backtestConfig = `
store: {path: %q}
reporting: {currency: JPY}
connectors:
  - {name: salesforce, kind: salesforce, login_url: "http://127.0.0.1:1",
     auth: {flow: client_credentials, client_id: cid, client_secret: csecret}, schedule: "@every 1h"}
  - {name: stripe, kind: stripe, base_url: "http://127.0.0.1:1", auth: {api_key: sk_test_x}, schedule: "@every 1h"}
scoring:
  health:
    measures:
      - {name: logins, signal: logins, aggregation: sum, window_days: 28, good: 12, poor: 0, weight: 1}
`

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// backtestStore writes the config and a store holding four Salesforce
// accounts linked to Stripe customers (monthly 10,000 JPY since 2025-06),
// with one login a day over the given spans:
//
//	A  churns 2026-04-15, logins stop after 02-28: flagged from 03-26, detected 20 days ahead
//	B  churns 2026-05-20 with daily logins: missed
//	D  no logins in February: flagged 02-26 and 03-05, never churns (a false alarm)
//	E  daily logins, never churns
//
// With lead 14d and horizon 56d: 2 churners, 1 detected (0.5), median
// lead 20; flagged A and D: precision 0.5; false alarms 1 of D, E: 0.5;
// AUC: A (25) below D and E (100), B (100) ties both: 3/4.
func backtestStore(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "healthsync.yaml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(backtestConfig, filepath.Join(dir, "h.db"))), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	st, err := bolt.Open(cfg.Store.Path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	type acct struct {
		id, ended string
		spans     [][2]string
	}
	var accts []record.Account
	var custs []record.Customer
	var subs []record.Subscription
	var sigs []record.Signal
	for _, a := range []acct{
		{"A", "2026-04-15", [][2]string{{"2025-12-01", "2026-02-28"}}},
		{"B", "2026-05-20", [][2]string{{"2025-12-01", "2026-05-19"}}},
		{"D", "", [][2]string{{"2025-12-01", "2026-01-31"}, {"2026-03-01", "2026-06-29"}}},
		{"E", "", [][2]string{{"2025-12-01", "2026-06-29"}}},
	} {
		ref := record.Ref{System: record.Salesforce, ID: "001" + a.id}
		accts = append(accts, record.Account{Ref: ref, Name: "Account " + a.id})
		custs = append(custs, record.Customer{Ref: record.Ref{System: record.Stripe, ID: "cus_" + a.id}, Name: "Account " + a.id,
			Currency: "jpy", Metadata: map[string]string{"salesforce_account_id": ref.ID}})
		sub := record.Subscription{Ref: record.Ref{System: record.Stripe, ID: "sub_" + a.id}, CustomerID: "cus_" + a.id,
			Status: record.StatusActive, Currency: "JPY", StartDate: day("2025-06-01"),
			CurrentPeriodStart: day("2026-06-01"), CurrentPeriodEnd: day("2026-07-01"),
			Items: []record.Item{{ID: "si_" + a.id, Currency: "JPY", UnitAmount: 10000, Quantity: 1, Interval: "month", IntervalCount: 1, Recurring: true}}}
		if a.ended != "" {
			e := day(a.ended)
			sub.Status, sub.EndedAt, sub.CanceledAt = record.StatusCanceled, e, e.AddDate(0, 0, -14)
			sub.CurrentPeriodStart, sub.CurrentPeriodEnd = time.Date(e.Year(), e.Month(), 1, 0, 0, 0, 0, time.UTC), e
		}
		subs = append(subs, sub)
		for _, sp := range a.spans {
			for d := day(sp[0]); !d.After(day(sp[1])); d = d.AddDate(0, 0, 1) {
				sigs = append(sigs, record.Signal{Account: ref, Metric: "logins", Time: d.Add(9 * time.Hour), Value: 1})
			}
		}
	}
	for conn, b := range map[string]*record.Batch{
		"salesforce": {Stream: "Account", Accounts: accts},
		"stripe":     {Stream: "subscriptions", Customers: custs, Subscriptions: subs},
	} {
		if _, err := st.CommitBatch(conn, b); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.AddSignals(sigs); err != nil {
		t.Fatal(err)
	}
	return cfgPath
}

var backtestArgs = []string{"--from", "2026-01", "--to", "2026-06", "--as-of", "2026-06-30", "--lead", "14d", "--horizon", "56d"}

// TestBacktestJSONContract pins the JSON keys the README documents and
// the figures of the hand-built store.
func TestBacktestJSONContract(t *testing.T) {
	cfg := backtestStore(t)
	code, out, errs := runCLI(t, append([]string{"backtest", "--config", cfg, "--format", "json"}, backtestArgs...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatal(err)
	}
	wantKeys := []string{"accounts", "auc", "by_lead", "churned", "customers", "detected", "detection_rate", "every_days",
		"false_alarm_rate", "flag", "flagged", "flagged_churned", "from", "horizon_days", "lead_days", "measures",
		"median_lead_days", "precision", "source", "threshold", "to", "too_little_history", "tradeoff", "warnings"}
	if got := keys(raw); !reflect.DeepEqual(got, wantKeys) {
		t.Errorf("keys:\n got %v\nwant %v", got, wantKeys)
	}
	if len(raw["accounts"].([]any)) == 0 {
		t.Fatalf("no churners: %s\n%s", out, errs)
	}
	acc := raw["accounts"].([]any)[0].(map[string]any)
	if got, want := keys(acc), []string{"churned_on", "detected", "first_flagged_on", "id", "lead_days", "name", "reasons", "score"}; !reflect.DeepEqual(got, want) {
		t.Errorf("account keys:\n got %v\nwant %v", got, want)
	}
	m := raw["measures"].([]any)[0].(map[string]any)
	if got, want := keys(m), []string{"churners", "lift", "name", "rest"}; !reflect.DeepEqual(got, want) {
		t.Errorf("measure keys:\n got %v\nwant %v", got, want)
	}
	figures := map[string]any{"source": raw["source"], "from": raw["from"], "to": raw["to"], "customers": raw["customers"],
		"churned": raw["churned"], "detected": raw["detected"], "detection_rate": raw["detection_rate"],
		"median_lead_days": raw["median_lead_days"], "flagged": raw["flagged"], "flagged_churned": raw["flagged_churned"],
		"precision": raw["precision"], "false_alarm_rate": raw["false_alarm_rate"], "auc": raw["auc"]}
	want := map[string]any{"source": "backtest", "from": "2026-01-01", "to": "2026-06-25", "customers": 4.0, "churned": 2.0,
		"detected": 1.0, "detection_rate": 0.5, "median_lead_days": 20.0, "flagged": 2.0, "flagged_churned": 1.0,
		"precision": 0.5, "false_alarm_rate": 0.5, "auc": 0.75}
	if !reflect.DeepEqual(figures, want) {
		t.Errorf("figures:\n got %v\nwant %v", figures, want)
	}

	// The report carries the result: its section and the KPI with its source.
	code, out, errs = runCLI(t, "report", "--config", cfg, "--format", "json", "--as-of", "2026-06-30")
	if code != 0 {
		t.Fatalf("report exit %d: %s", code, errs)
	}
	var r report.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	var kpi *report.Target
	for i := range r.Targets {
		if r.Targets[i].KPI == "churn_signal_detection" {
			kpi = &r.Targets[i]
		}
	}
	half, met := 0.5, false
	wantKPI := report.Target{KPI: "churn_signal_detection", Op: ">=", Target: 0.8, Value: &half, Met: &met, Source: "backtest", From: "2026-01-01", To: "2026-06-25"}
	if kpi == nil || !reflect.DeepEqual(*kpi, wantKPI) {
		t.Errorf("KPI = %+v, want %+v", kpi, wantKPI)
	}
	if r.Backtest == nil || r.Backtest.Detected != 1 {
		t.Errorf("report backtest section = %+v", r.Backtest)
	}
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestBacktestLive: the scores healthsync wrote give the figures "as
// written to the CRM": A written at 30 on 03-20 is flagged from the 03-26
// evaluation date, 20 days before its churn; B, D, E written at 90.
func TestBacktestLive(t *testing.T) {
	cfg := backtestStore(t)
	c, err := config.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st, err := bolt.Open(c.Store.Path, bolt.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var snaps []store.ScoreSnapshot
	for _, id := range []string{"A", "B", "D", "E"} {
		snaps = append(snaps, store.ScoreSnapshot{AccountKey: "salesforce/001" + id, At: day("2025-12-20"), Score: 90, Band: "healthy", MRR: 10000})
	}
	snaps = append(snaps, store.ScoreSnapshot{AccountKey: "salesforce/001A", At: day("2026-03-20"), Score: 30, Band: "at_risk", MRR: 10000,
		Reasons: []string{"logins in 28 days: 2"}})
	if err := st.PutScores(snaps); err != nil {
		t.Fatal(err)
	}
	st.Close()
	code, out, errs := runCLI(t, append([]string{"backtest", "--config", cfg, "--format", "json", "--live"}, backtestArgs...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var r struct {
		Source        string  `json:"source"`
		Churned       int     `json:"churned"`
		Detected      int     `json:"detected"`
		DetectionRate float64 `json:"detection_rate"`
		Precision     float64 `json:"precision"`
		Accounts      []struct {
			ID       string   `json:"id"`
			LeadDays *int     `json:"lead_days"`
			Reasons  []string `json:"reasons"`
		} `json:"accounts"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.Source != "live" || r.Churned != 2 || r.Detected != 1 || r.DetectionRate != 0.5 || r.Precision != 1 ||
		r.Accounts[0].ID != "salesforce/001A" || r.Accounts[0].LeadDays == nil || *r.Accounts[0].LeadDays != 20 ||
		!reflect.DeepEqual(r.Accounts[0].Reasons, []string{"logins in 28 days: 2"}) {
		t.Errorf("live backtest: %s", out)
	}
}

func TestBacktestTableAndCalibrate(t *testing.T) {
	cfg := backtestStore(t)
	before, _ := os.ReadFile(cfg)
	code, out, errs := runCLI(t, append([]string{"backtest", "--config", cfg}, backtestArgs...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{`detected\s+1: detection rate 50% \(target 80%\)`, `Account A\s+2026-04-15\s+2026-03-26\s+20d\s+yes\s+25\s+logins: 3`,
		`Account B\s+2026-05-20\s+-\s+-\s+no\s+100`, "warning: only 2 churners"} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	code, out, errs = runCLI(t, append([]string{"calibrate", "--config", cfg}, backtestArgs...)...)
	if code != 0 {
		t.Fatalf("calibrate exit %d: %s", code, errs)
	}
	for _, want := range []string{"# Calibration: fitted on 2026-01-01..", "# warning: ", "fewer than 20 in a half",
		"scoring:\n  health:\n", "      - name: logins\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("calibrate output lacks %q:\n%s", want, out)
		}
	}
	if after, _ := os.ReadFile(cfg); string(after) != string(before) {
		t.Error("calibrate changed the config file")
	}
}

func TestBacktestUsageErrors(t *testing.T) {
	cfg := backtestStore(t)
	for _, args := range [][]string{
		{"--flag", "healthy"},
		{"--lead", "5x"},
		{"--lead", "60d", "--horizon", "30d"},
		{"--from", "2026-07", "--to", "2026-06"},
		{"--format", "pdf"},
		{"--revenue-drop", "1.5"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			if code, _, errs := runCLI(t, append([]string{"backtest", "--config", cfg}, args...)...); code != 2 {
				t.Errorf("exit %d, want 2: %s", code, errs)
			}
		})
	}
}

// TestDemoPrintsBacktest: the demo prints the backtest (detection, lead
// time, precision) and a calibration suggestion, and its report carries
// the backtest section and the churn_signal_detection KPI.
func TestDemoPrintsBacktest(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole demo")
	}
	dir := t.TempDir()
	html := filepath.Join(dir, "report.html")
	code, out, errs := runCLI(t, "demo", "--accounts", "80", "--seed", "3", "--dir", dir, "--out", html)
	if code != 0 {
		t.Fatalf("demo exit %d\n%s", code, errs)
	}
	for _, want := range []string{`Backtest: does the score predict churn\?`, `detected\s+\d+: detection rate \d+%`,
		`median lead time\s+\d+ days`, `precision \d+%`, `Calibration suggestion \(healthsync calibrate`, `newer half, current model: detection`} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("demo output lacks %s", want)
		}
	}
	if b, err := os.ReadFile(html); err != nil || !strings.Contains(string(b), `id="chart-backtest-lead"`) {
		t.Errorf("the HTML report has no backtest section (%v)", err)
	}
	code, out, errs = runCLI(t, "report", "--config", filepath.Join(dir, "healthsync.yaml"), "--format", "json")
	if code != 0 {
		t.Fatalf("report exit %d: %s", code, errs)
	}
	var r report.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	for _, tg := range r.Targets {
		if tg.KPI == "churn_signal_detection" && (tg.Source != "backtest" || tg.Value == nil) {
			t.Errorf("churn_signal_detection = %+v, want a value from the backtest", tg)
		}
	}
}

// TestBacktestWarnsAboutCRMFields: measures that read a CRM field (no
// history) are named in the warnings, as are the override and renewal
// date fields; a live backtest reads the written scores and warns of none.
func TestBacktestWarnsAboutCRMFields(t *testing.T) {
	s := scoring.DefaultSettings()
	s.Health.Measures = append(s.Health.Measures, scoring.Measure{Name: "nps_crm", Field: "NPS__c", Good: 50, Poor: -20, Weight: 5})
	s.Health.OverrideField = "Health_Override__c"
	s.Lifecycle.RenewalDateField = "Renewal_Date__c"
	want := []string{
		"measure nps_crm reads the CRM field NPS__c, whose past values are unknown: left out (missing-data policy reweight)",
		"the score override field Health_Override__c is not replayed: its past values are unknown",
		"the renewal date field Renewal_Date__c is not replayed: days_to_renewal comes from the subscriptions",
	}
	if got := backtestWarnings(&s, false); !reflect.DeepEqual(got, want) {
		t.Errorf("warnings:\n got %q\nwant %q", got, want)
	}
	if got := backtestWarnings(&s, true); got != nil {
		t.Errorf("live warnings = %q, want none", got)
	}
}
