package chargebee

import (
	"testing"

	"github.com/healthsync/healthsync/scoring"
)

// TestChargebeeCurrencyExponents: for every currency Chargebee's pages
// name or define (currency.go), the decimals of Chargebee's API amounts
// ("Currencies": zero-decimal currencies in the major unit, every other one
// with two decimals), shifted by isoShift, give the ISO 4217 decimals the
// records use (scoring.MinorUnitExponent). Where Stripe differs (ISK, MGA)
// the row says so.
func TestChargebeeCurrencyExponents(t *testing.T) {
	for _, tc := range []struct {
		cur       string
		chargebee int // decimals of Chargebee API amounts
		iso       int // ISO 4217 minor unit
	}{
		// Zero-decimal, named by Chargebee's pages.
		{"JPY", 0, 0}, {"KRW", 0, 0}, {"XAF", 0, 0}, {"XOF", 0, 0},
		// Zero-decimal by the pages' definition (no decimal subunits in
		// ISO 4217). ISK: Stripe's API keeps two decimals, Chargebee's none.
		{"BIF", 0, 0}, {"CLP", 0, 0}, {"DJF", 0, 0}, {"GNF", 0, 0}, {"ISK", 0, 0}, {"KMF", 0, 0},
		{"PYG", 0, 0}, {"RWF", 0, 0}, {"UGX", 0, 0}, {"UYI", 0, 0}, {"VND", 0, 0}, {"VUV", 0, 0}, {"XPF", 0, 0},
		// Three decimals in ISO, two at Chargebee.
		{"BHD", 2, 3}, {"IQD", 2, 3}, {"JOD", 2, 3}, {"KWD", 2, 3}, {"LYD", 2, 3}, {"OMR", 2, 3}, {"TND", 2, 3},
		// Four decimals in ISO, two at Chargebee.
		{"CLF", 2, 4}, {"UYW", 2, 4},
		// Two decimals in both. MGA: zero-decimal at Stripe, not at
		// Chargebee; HUF and TWD: zero-decimal for Stripe payouts only.
		{"MGA", 2, 2}, {"HUF", 2, 2}, {"TWD", 2, 2},
		{"USD", 2, 2}, {"EUR", 2, 2}, {"GBP", 2, 2}, {"INR", 2, 2}, {"IDR", 2, 2}, {"MXN", 2, 2},
	} {
		t.Run(tc.cur, func(t *testing.T) {
			if got := scoring.MinorUnitExponent(tc.cur); got != tc.iso {
				t.Errorf("scoring.MinorUnitExponent(%s) = %d, want ISO 4217's %d", tc.cur, got, tc.iso)
			}
			if got := tc.chargebee + isoShift[tc.cur]; got != tc.iso {
				t.Errorf("Chargebee's %d decimals shifted by %d = %d, want %d", tc.chargebee, isoShift[tc.cur], got, tc.iso)
			}
		})
	}
}

func TestMinor(t *testing.T) {
	for _, tc := range []struct {
		cur     string
		v, want int64
	}{
		{"KWD", 1250, 12500}, {"kwd", -1250, -12500}, {"CLF", 7, 700},
		{"JPY", 1250, 1250}, {"ISK", 1250, 1250}, {"USD", 1250, 1250}, {"", 1250, 1250},
	} {
		if got := minor(tc.cur, tc.v); got != tc.want {
			t.Errorf("minor(%q, %d) = %d, want %d", tc.cur, tc.v, got, tc.want)
		}
	}
	if got := minorPtr("KWD", nil); got != nil {
		t.Errorf("minorPtr(KWD, nil) = %v, want nil", *got)
	}
	if got := minorPtr("KWD", new(int64(3))); got == nil || *got != 30 {
		t.Errorf("minorPtr(KWD, 3) = %v, want 30", got)
	}
}
