package report

import (
	"strings"
	"unicode"
)

// Text from vendors (account names, IDs, reasons that quote them) reaches a
// spreadsheet through WriteCSV and a terminal through WriteTable; neither may
// run it.

// csvText neutralises a text cell for spreadsheets, per OWASP's "CSV
// Injection" guidance: a cell starting with =, +, -, @, tab or carriage
// return is read as a formula by Excel, LibreOffice and Google Sheets, so it
// gets a leading single quote, which they take as "this is text". Quotes,
// separators and line breaks inside a cell are the csv package's to quote.
//
// Only text cells go through csvText. Numeric cells are written by strconv
// from float64 values, so a negative amount ("-1200.00") stays a number a
// spreadsheet can sum: it cannot hold a formula, and quoting it (the rule
// OWASP warns breaks negative numbers) would turn it into text.
func csvText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// plain removes terminal escape sequences and control characters from text
// for the table output, so a name cannot move the cursor, clear the screen,
// retitle the window or hide text (ECMA-48 CSI "ESC [ ... final byte" and
// OSC/DCS/APC/PM/SOS strings "ESC ] ... BEL or ESC \", C1 controls among
// them). Tabs and line breaks become spaces so they cannot break the
// columns.
func plain(s string) string {
	clean := true
	for _, r := range s {
		if unicode.IsControl(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	rs := []rune(s)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case r == 0x1b && i+1 < len(rs): // ESC
			i = skipEscape(rs, i+1)
		case r == 0x9b: // C1 CSI
			i = skipCSI(rs, i+1)
		case r == 0x90 || r == 0x9d || r == 0x9e || r == 0x9f || r == 0x98: // C1 DCS, OSC, PM, APC, SOS
			i = skipString(rs, i+1)
		case r == '\t' || r == '\n' || r == '\r':
			b.WriteByte(' ')
		case unicode.IsControl(r):
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// skipEscape skips the escape sequence whose introducer follows ESC at i and
// returns the index of its last rune.
func skipEscape(rs []rune, i int) int {
	switch rs[i] {
	case '[':
		return skipCSI(rs, i+1)
	case ']', 'P', '^', '_', 'X':
		return skipString(rs, i+1)
	}
	// A two-character sequence (ESC c, ESC 7, ...); intermediates 0x20-0x2f
	// come before its final byte.
	for i < len(rs) && rs[i] >= 0x20 && rs[i] <= 0x2f {
		i++
	}
	return i
}

// skipCSI skips parameters and intermediates up to the final byte 0x40-0x7e.
func skipCSI(rs []rune, i int) int {
	for ; i < len(rs); i++ {
		if rs[i] >= 0x40 && rs[i] <= 0x7e {
			return i
		}
	}
	return len(rs) - 1
}

// skipString skips a control string up to BEL, ST (ESC \) or C1 ST.
func skipString(rs []rune, i int) int {
	for ; i < len(rs); i++ {
		switch {
		case rs[i] == 0x07 || rs[i] == 0x9c:
			return i
		case rs[i] == 0x1b && i+1 < len(rs) && rs[i+1] == '\\':
			return i + 1
		}
	}
	return len(rs) - 1
}
