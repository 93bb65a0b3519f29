package scoring

import "testing"

// TestMinorUnitExponentISO4217 pins the record convention per currency:
// ISO 4217's minor unit, not any vendor's API table (ISK is zero-decimal
// in ISO 4217 though Stripe's API sends it with two decimals; MGA has two
// though Stripe sends none; connectors convert).
func TestMinorUnitExponentISO4217(t *testing.T) {
	for cur, want := range map[string]int{
		"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
		"RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
		"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
		"CLF": 4, "UYW": 4,
		"MGA": 2, "HUF": 2, "TWD": 2, "USD": 2, "EUR": 2, "GBP": 2, "INR": 2, "MRU": 2,
		"jpy": 0, "isk": 0, "": 2,
	} {
		if got := MinorUnitExponent(cur); got != want {
			t.Errorf("MinorUnitExponent(%q) = %d, want %d", cur, got, want)
		}
	}
}

func TestFormatMoneyPerExponent(t *testing.T) {
	for _, tc := range []struct {
		minor int64
		cur   string
		want  string
	}{
		{1500, "ISK", "1,500 ISK"}, {5000000, "MGA", "50,000.00 MGA"}, {12340, "KWD", "12.340 KWD"},
		{123456, "CLF", "12.3456 CLF"}, {-5, "USD", "-0.05 USD"}, {0, "JPY", "0 JPY"},
	} {
		if got := FormatMoney(tc.minor, tc.cur); got != tc.want {
			t.Errorf("FormatMoney(%d, %s) = %q, want %q", tc.minor, tc.cur, got, tc.want)
		}
	}
}
