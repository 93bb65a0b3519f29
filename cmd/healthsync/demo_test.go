package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/sync/report"
	"github.com/healthsync/healthsync/sync/store"
	"github.com/healthsync/healthsync/sync/store/bolt"
)

// TestDemo runs `healthsync demo` on a small world and checks that its
// numbers are consistent: the MRR movements add up, every CRM account
// carries the written fields, at-risk accounts have tasks, and the three
// webhooks reached the CRM.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole demo")
	}
	dir := t.TempDir()
	html := filepath.Join(dir, "report.html")
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"demo", "--accounts", "60", "--seed", "7", "--dir", dir, "--out", html}, &out, &errb)
	if code != 0 {
		t.Fatalf("demo exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	text := out.String()
	for _, want := range []string{"full sync", "Stripe invoice.payment_failed", "cancellation", "Portfolio as of", "MRR movements",
		"Accounts most at risk", "Tasks created", "API calls used", "HTML report written", "Segment group + 30 Logged In", "Zendesk 3 x ticket.created"} {
		if !strings.Contains(text, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	if strings.Contains(text, "not seen within") {
		t.Errorf("a webhook change did not reach the CRM:\n%s", text)
	}
	checkBurst(t, text)
	if b, err := os.ReadFile(html); err != nil || !bytes.Contains(b, []byte(`id="chart-movements"`)) {
		t.Fatalf("HTML report missing: %v", err)
	}

	// The report from the demo's store (no API call).
	cfgPath := filepath.Join(dir, "healthsync.yaml")
	out.Reset()
	if code := run(context.Background(), []string{"report", "--config", cfgPath, "--format", "json"}, &out, &errb); code != 0 {
		t.Fatalf("report exit %d: %s", code, errb.String())
	}
	var r report.Report
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Movements) != 12 || r.Portfolio.Customers == 0 || r.Portfolio.MRR <= 0 {
		t.Fatalf("report: %d months, %d customers, MRR %v", len(r.Movements), r.Portfolio.Customers, r.Portfolio.MRR)
	}
	for i := 1; i < len(r.Movements); i++ {
		m, prev := r.Movements[i], r.Movements[i-1]
		sum := m.New + m.Expansion + m.Reactivation + m.Contraction + m.Churn
		if math.Abs(sum-(m.MRREnd-prev.MRREnd)) > 0.5 {
			t.Errorf("%s: movements sum to %.2f, MRR changed by %.2f", m.Month, sum, m.MRREnd-prev.MRREnd)
		}
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
	// Churned accounts and prospects first seen inactive have no health
	// to keep (scoring.health.churned: freeze, prospects: clear).
	noHealth := map[string]bool{}
	snaps, err := st.Scores()
	if err != nil {
		t.Fatal(err)
	}
	for _, sn := range snaps {
		if sn.Band == "" {
			noHealth[sn.AccountKey] = true
		}
	}
	if len(noHealth) == 0 || len(noHealth) == len(snaps) {
		t.Errorf("%d of %d accounts without health, want some (churned, prospects)", len(noHealth), len(snaps))
	}
	for _, conn := range []struct{ name, object, field string }{{"salesforce", "Account", "Health_Score__c"}, {"hubspot", "companies", "healthsync_health_score"}} {
		accts := 0
		written, err := st.AllWritten(conn.name)
		if err != nil {
			t.Fatal(err)
		}
		as, err := st.Accounts(conn.name)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range as {
			accts++
			_, ok := written[store.WriteKey{Object: conn.object, ID: a.ID}][conn.field]
			if ok == noHealth[a.Key()] {
				t.Errorf("%s account %s: %s written %v, want %v", conn.name, a.ID, conn.field, ok, !noHealth[a.Key()])
			}
		}
		if accts == 0 {
			t.Errorf("no %s accounts", conn.name)
		}
	}
	tasks, _ := st.OpenTasks()
	withTask := map[string]bool{}
	for _, tk := range tasks {
		withTask[tk.AccountKey] = true
	}
	for _, a := range r.Accounts {
		if a.Band == "at_risk" && a.MRR > 0 && !withTask[a.ID] {
			t.Errorf("at-risk account %s (%s) has no task", a.Name, a.ID)
		}
	}
}

// demoVarying matches what legitimately differs between two demo runs with
// one seed: ports, folders, durations and run IDs (clock readings).
var demoVarying = []*regexp.Regexp{
	regexp.MustCompile(`127\.0\.0\.1:\d+`),
	regexp.MustCompile(`(?m)(written to|config written to) \S+`),
	regexp.MustCompile(`\d+(\.\d+)?(ns|µs|ms|s)\b`), // also the "429s" heading, alike in both
	regexp.MustCompile(`\d{8}T\d+Z`),
	// The burst's calls follow how its events met the workers' batches.
	regexp.MustCompile(`(?m)^ *burst calls: .*$`),
}

// checkBurst checks the figures of the demo's burst step (issue 14): every
// event sent was acknowledged and drained, the Salesforce write calls are
// the batches' (at most one per 200 changed accounts, plus one per webhook
// worker whose batch caught part of the burst), and a burst that became a
// pull cost fewer Stripe calls than events.
func checkBurst(t *testing.T, text string) {
	t.Helper()
	m := regexp.MustCompile(`5\. a burst: (\d+) signed Stripe .* \(seat true-ups on (\d+) subscriptions\)[^\n]*\n *sent (\d+) \((\d+) acknowledged\) in [^;]+; drained (\d+) in [^;]+; Salesforce accounts with a new MRR__c: (\d+)\n *burst calls: Salesforce write calls (\d+) \(batches of up to (\d+)\), Stripe calls (\d+); became a pull: (yes|no)`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("no burst step in:\n%s", text)
	}
	n := make([]int, 10)
	for i := 1; i < 10; i++ {
		n[i], _ = strconv.Atoi(m[i])
	}
	events, subs, sent, acked, drained, accounts, writes, batch, stripeCalls := n[1], n[2], n[3], n[4], n[5], n[6], n[7], n[8], n[9]
	const workers = 4 // webhooks.workers default
	if events != 300 || sent != events || acked != sent || drained != sent {
		t.Errorf("burst: %d events, %d sent, %d acknowledged, %d drained; want 300 of each", events, sent, acked, drained)
	}
	if subs == 0 || accounts == 0 || accounts > subs {
		t.Errorf("burst: %d subscriptions changed, %d accounts with a new MRR__c", subs, accounts)
	}
	if max := (accounts+batch-1)/batch + workers; writes < 1 || writes > max {
		t.Errorf("burst: %d Salesforce write calls for %d accounts, want 1 to %d", writes, accounts, max)
	}
	if m[10] == "yes" && stripeCalls >= events {
		t.Errorf("burst became a pull but made %d Stripe calls for %d events", stripeCalls, events)
	}
}

func runDemo(t *testing.T, args ...string) string {
	t.Helper()
	dir := t.TempDir()
	var out, errb bytes.Buffer
	args = append([]string{"demo", "--dir", dir, "--out", filepath.Join(dir, "report.html")}, args...)
	if code := run(context.Background(), args, &out, &errb); code != 0 {
		t.Fatalf("demo %v: exit %d\n%s\n%s", args, code, out.String(), errb.String())
	}
	text := out.String()
	for _, re := range demoVarying {
		text = re.ReplaceAllString(text, "<varies>")
	}
	return regexp.MustCompile(`[ \t]+`).ReplaceAllString(text, " ") // column widths follow the timings
}

// TestDemoRepeatable runs the demo twice with one seed: every figure it
// prints (records, writes, tasks, notifications, the report) is the same;
// only timings, ports and folders differ. Every planned write is accounted
// for, and a world too small for some webhook scenarios runs without them.
func TestDemoRepeatable(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole demo")
	}
	first := runDemo(t, "--accounts", "40", "--seed", "11")
	second := runDemo(t, "--accounts", "40", "--seed", "11")
	if first != second {
		a, b := strings.Split(first, "\n"), strings.Split(second, "\n")
		for i := range min(len(a), len(b)) {
			if a[i] != b[i] {
				t.Fatalf("two runs with one seed differ at line %d:\n%s\n%s\n\nfirst run:\n%s", i+1, a[i], b[i], first)
			}
		}
		t.Fatalf("two runs with one seed differ in length: %d and %d lines", len(a), len(b))
	}
	m := regexp.MustCompile(`write: (\d+) record updates \((\d+) earlier failures retried\): (\d+) written, (\d+) failed \(\d+ permanent\), (\d+) skipped; (\d+) tasks: (\d+) created, (\d+) failed, (\d+) skipped`).FindStringSubmatch(first)
	if m == nil {
		t.Fatalf("no write line in:\n%s", first)
	}
	n := make([]int, len(m))
	for i := 1; i < len(m); i++ {
		n[i], _ = strconv.Atoi(m[i])
	}
	if n[3]+n[4]+n[5] != n[1] || n[7]+n[8]+n[9] != n[6] {
		t.Errorf("unaccounted writes or tasks: %s", m[0])
	}
	if plan := regexp.MustCompile(`plan: (\d+) record updates, (\d+) tasks`).FindStringSubmatch(first); plan == nil || plan[1] != m[1] || plan[2] != m[6] {
		t.Errorf("plan line %q does not match the write line %q", plan, m[0])
	}

	small := runDemo(t, "--accounts", "10", "--seed", "3")
	if !strings.Contains(small, "(no such account in this world)") || !strings.Contains(small, "HTML report") {
		t.Errorf("a 10-account world: %s", small)
	}
}
