package report

import (
	"bytes"
	"encoding/csv"
	"reflect"
	"strings"
	"testing"
	"unicode"
)

// TestCSVNeutralisesTextCells: text cells that a spreadsheet would read as a
// formula get a leading quote; numbers, negative ones included, stay numbers.
func TestCSVNeutralisesTextCells(t *testing.T) {
	acct := func(name string, mrr, trend float64, reasons ...string) Account {
		return Account{ID: "hubspot/1", CRM: CRMRef{System: "hubspot", ID: "1"}, Name: name, MRR: mrr, ARR: 12 * mrr,
			HealthScore: 50, Band: "caution", Trend: trend, TouchModel: "low", Phase: "adoption", Reasons: reasons}
	}
	r := &Report{Accounts: []Account{
		acct(`=HYPERLINK("http://evil.example","click")`, 100, 0),
		acct("+1+2", 100, 0),
		acct("-2+3", -1200, -5, "-cmd|' /C calc'!A0"),
		acct("@SUM(1+1)*cmd|' /C calc'!A0", 0, 0),
		acct("\t=1+1", 0, 0),
		acct("\r=1+1", 0, 0),
		acct("Acme =1+1", 5, 3, "mrr fell 10%"),
	}}
	var buf bytes.Buffer
	if err := WriteCSV(&buf, r); err != nil {
		t.Fatal(err)
	}
	got, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	row := func(name, mrr, arr, trend, reasons string) []string {
		return []string{"hubspot/1", "hubspot", "1", name, mrr, arr, "50", "caution", trend, "low", "adoption", reasons}
	}
	want := [][]string{
		{"id", "crm_system", "crm_id", "name", "mrr", "arr", "health_score", "band", "trend", "touch_model", "phase", "reasons"},
		row(`'=HYPERLINK("http://evil.example","click")`, "100.00", "1200.00", "0", ""),
		row("'+1+2", "100.00", "1200.00", "0", ""),
		row("'-2+3", "-1200.00", "-14400.00", "-5", "'-cmd|' /C calc'!A0"),
		row("'@SUM(1+1)*cmd|' /C calc'!A0", "0.00", "0.00", "0", ""),
		row("'\t=1+1", "0.00", "0.00", "0", ""),
		row("'\r=1+1", "0.00", "0.00", "0", ""),
		row("Acme =1+1", "5.00", "60.00", "3", "mrr fell 10%"),
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("CSV rows\n got %q\nwant %q", got, want)
	}
}

func TestPlainStripsTerminalEscapes(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain text", "Acme Corp — 株式会社", "Acme Corp — 株式会社"},
		{"colour (CSI SGR)", "\x1b[31mRed\x1b[0m Inc", "Red Inc"},
		{"clear screen and home", "\x1b[2J\x1b[HEvil", "Evil"},
		{"window title (OSC, BEL)", "\x1b]0;pwned\x07Name", "Name"},
		{"hyperlink (OSC 8, ST)", "\x1b]8;;http://evil.example\x1b\\link\x1b]8;;\x1b\\", "link"},
		{"reset (ESC c)", "a\x1bcb", "ab"},
		{"charset (ESC ( B)", "a\x1b(Bb", "ab"},
		{"C1 CSI", "x\u009b2Jy", "xy"},
		{"C1 OSC", "x\u009d0;t\u009cy", "xy"},
		{"DCS", "x\x1bPq#0\x1b\\y", "xy"},
		{"tab, newline, carriage return", "a\tb\nc\rd", "a b c d"},
		{"bell, backspace, DEL", "a\x07b\x08c\x7f", "abc"},
		{"unterminated CSI", "name\x1b[31", "name"},
		{"trailing ESC", "name\x1b", "name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := plain(tt.in); got != tt.want {
				t.Fatalf("plain(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestTableHasNoControlCharacters: escape sequences in vendor text never
// reach the terminal through WriteTable.
func TestTableHasNoControlCharacters(t *testing.T) {
	r := sample()
	r.Accounts[0].Name = "\x1b[2J\x1b]0;pwned\x07Acme\x1b[8m"
	r.Accounts[0].Reasons = []string{"logins low\x1b[1A\rfake line"}
	r.Segments[0].Value = "high\x9b31m"
	r.Unmatched[0].Name = "Initech\x1b]8;;http://evil.example\x1b\\"
	var buf bytes.Buffer
	if err := WriteTable(&buf, r, 6, 10); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, line := range strings.Split(out, "\n") {
		if i := strings.IndexFunc(line, unicode.IsControl); i >= 0 {
			t.Fatalf("control character %q in table line %q", line[i:i+1], line)
		}
	}
	for _, want := range []string{"Acme", "logins low fake line", "Initech"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}
