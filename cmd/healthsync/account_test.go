package main

import (
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/healthsync/healthsync/sync/report"
)

// TestReportAndExplainAccounts: churned accounts are listed apart with
// their churn month; a one-account report is titled with the account, not
// "most at risk"; an unknown account is an error; an ambiguous name lists
// the candidates.
func TestReportAndExplainAccounts(t *testing.T) {
	stack := testStack(t, 40, 3)
	p := stack.cfgPath
	if code, out, errs := runCLI(t, "sync", "--config", p); code != 0 {
		t.Fatalf("sync: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs := runCLI(t, "report", "--config", p, "--format", "json")
	if code != 0 {
		t.Fatalf("report: %d %s", code, errs)
	}
	var r report.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Churned) == 0 {
		t.Fatal("the demo world has no churned account to list")
	}
	month := regexp.MustCompile(`^\d{4}-\d\d$`)
	for _, c := range r.Churned {
		if c.ChurnMonth != "" && (!month.MatchString(c.ChurnMonth) || c.ChurnMonth < r.Period.From || c.LastMRR <= 0) {
			t.Errorf("churned %+v: month outside %s..%s or no last MRR", c, r.Period.From, r.Period.To)
		}
		if slices.ContainsFunc(r.Accounts, func(a report.Account) bool { return a.ID == c.ID }) {
			t.Errorf("%s is both live and churned", c.ID)
		}
	}
	gone := r.Churned[0]
	live := r.Accounts[0]

	tests := []struct {
		name      string
		args      []string
		code      int
		want      []string // in stdout (exit 0) or stderr
		notWanted string
	}{
		{"live account", []string{"report", "--config", p, "--account", live.ID}, 0,
			[]string{"\nAccount " + live.ID + "\n", live.Name}, "most at risk"},
		{"churned account", []string{"report", "--config", p, "--account", gone.ID}, 0,
			[]string{"\nAccount " + gone.ID + "\n", "\nChurned accounts (1)\n", gone.Name}, "most at risk"},
		{"whole portfolio", []string{"report", "--config", p}, 0,
			[]string{"\nAccounts most at risk\n", "\nChurned accounts (" + strconv.Itoa(len(r.Churned)) + ")\n"}, ""},
		{"unknown account", []string{"report", "--config", p, "--account", "nope"}, 2,
			[]string{`healthsync report: no such account: "nope" is no account key, CRM ID or name`}, ""},
		{"explain unknown", []string{"explain", "nope", "--config", p}, 2,
			[]string{`healthsync explain: no such account: "nope" is no account key, CRM ID or name`}, ""},
		{"explain ambiguous", []string{"explain", "e", "--config", p}, 2,
			[]string{`healthsync explain: several accounts match: "e" matches `, " more\n"}, ""},
		{"explain by name, flags after", []string{"explain", live.Name, "--config", p, "--json"}, 0,
			[]string{`"account": "` + live.ID + `"`}, ""},
	}
	if gone.ChurnMonth != "" {
		tests[1].want = append(tests[1].want, gone.ChurnMonth)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runCLI(t, tt.args...)
			text := out
			if tt.code != 0 {
				text = errs
			}
			if code != tt.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tt.code, out, errs)
			}
			for _, w := range tt.want {
				if !strings.Contains(text, w) {
					t.Errorf("output lacks %q:\n%s", w, text)
				}
			}
			if tt.notWanted != "" && strings.Contains(out, tt.notWanted) {
				t.Errorf("output has %q:\n%s", tt.notWanted, out)
			}
		})
	}
}
